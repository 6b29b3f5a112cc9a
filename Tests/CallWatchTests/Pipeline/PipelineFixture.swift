import Foundation
import Logging
import Metrics
import MetricsTestKit
import Testing

@testable import CallWatch

/// Rules, events and writers for the pipeline's tests: every event carries a `tag`, every rule matches one tag.
enum PipelineFixture {
    /// One rule per tag, in the order given, named `tag-<tag>`; `window` makes them count to 2 first.
    static func rules(_ tags: [String], window: Bool = false, cooldown: String? = nil) throws -> RuleSet {
        let rules = tags.map { tag in
            var rule = """
                  - name: tag-\(tag)
                    when: {tag: \(tag)}
                    by: [destination]
                    actions: [{log: {message: "{{tag}}"}}]

                """
            if window { rule += "    window: {count: 2, within: 1h}\n" }
            if let cooldown { rule += "    cooldown: \(cooldown)\n" }
            return rule
        }
        return try RulesLoader.load(
            yaml: "version: 1\nrules:\n" + rules.joined(),
            path: "tags.yaml",
            environment: [:]
        )
    }

    static func body(_ id: String, tag: String, destination: String = "+6591234567") -> Data {
        Data(
            """
            {"eventType":"CALL_STATUS","payload":{"eventId":"\(id)","callStatus":"CALL_DISCONNECTED",\
            "destination":"\(destination)","tag":"\(tag)"}}
            """.utf8
        )
    }

    static func entry(
        _ id: String,
        tag: String,
        destination: String = "+6591234567",
        at: Date = Date()
    ) throws
        -> JournalEntry
    {
        let bytes = body(id, tag: tag, destination: destination)
        let event = try CallEvent.decode(String(decoding: bytes, as: UTF8.self))
        return JournalEntry(identity: event.identity, receivedAt: at, body: bytes, event: event)
    }

    static func dispatcher() -> ActionDispatcher {
        ActionDispatcher(configuration: .init(), logger: StoreFixture.quiet)
    }

    static func writer(_ rules: RuleSet, store: any EventStore, metrics: TestMetrics) -> JournalWriter {
        JournalWriter(
            ruleSet: rules,
            store: store,
            dispatcher: dispatcher(),
            logger: StoreFixture.quiet,
            counters: IngestCounters(factory: metrics),
            metricsFactory: metrics
        )
    }

    /// The value of `callwatch_rule_matches_total{rule}` (0 when never created).
    static func matches(_ metrics: TestMetrics, _ rule: String) -> Int64 {
        counter(metrics, "callwatch_rule_matches_total", [("rule", rule)])
    }

    static func fired(_ metrics: TestMetrics, _ rule: String) -> Int64 {
        counter(metrics, "callwatch_alerts_total", [("rule", rule), ("state", "fired")])
    }

    static func suppressed(_ metrics: TestMetrics, _ rule: String) -> Int64 {
        counter(metrics, "callwatch_alerts_total", [("rule", rule), ("state", "suppressed")])
    }

    static func counter(_ metrics: TestMetrics, _ label: String, _ dimensions: [(String, String)]) -> Int64 {
        (try? metrics.expectCounter(label, dimensions))?.totalValue ?? 0
    }
}

/// Answers a submission receives, in the order they came.
final class Answers: Sendable {
    private let box = StoreFixture.Box<[String]>([])

    var all: [String] { box.value }

    func note(_ text: String) { box.update { $0.append(text) } }

    func submission(_ entry: JournalEntry) -> Submission {
        Submission(entry: entry) { [self] result in
            switch result {
            case .success(.accepted): note("\(entry.identity): accepted")
            case .success(.duplicate): note("\(entry.identity): duplicate")
            case .failure(let error): note("\(entry.identity): \(error)")
            }
        }
    }
}
