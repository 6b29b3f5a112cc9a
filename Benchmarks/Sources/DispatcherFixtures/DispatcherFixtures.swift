import CallWatch
import Foundation
import Logging
import Synchronization

/// A rules file with one rule per action kind, loaded through `RulesLoader` like any other, so the actions are the
/// compiled `ActionSpec`s `serve` would run.
public enum DispatcherFixtures {
    public static func actions(sinkURL: String) -> (exec: [ActionSpec], http: [ActionSpec], slack: [ActionSpec]) {
        let yaml = """
            version: 1
            receivers:
              chat:
                - slack: {url: "${CALLWATCH_BENCH_SINK}/slack"}
            rules:
              - name: bench-exec
                when: {callStatus: CALL_DISCONNECTED}
                actions:
                  - exec: {command: [/bin/true]}
              - name: bench-http
                when: {callStatus: CALL_DISCONNECTED}
                actions:
                  - http: {url: "${CALLWATCH_BENCH_SINK}/hook"}
              - name: bench-slack
                when: {callStatus: CALL_DISCONNECTED}
                notify: [chat]
            """
        do {
            let rules = try RulesLoader.load(
                yaml: yaml,
                path: "dispatcher-bench.yaml",
                environment: ["CALLWATCH_BENCH_SINK": sinkURL]
            )
            return (rules.rules[0].actions, rules.rules[1].actions, rules.rules[2].actions)
        } catch {
            fatalError("dispatcher rules do not load:\n\(error)")
        }
    }

    /// `count` distinct alerts, each carrying one realistic failed-call payload (~1 KB of alert JSON).
    public static func alerts(count: Int, rule: String) -> [Alert] {
        (0..<count).map { index in
            let serial = String(index, radix: 16)
            let json = """
                {"id": "9f1c0000-0000-4000-8000-\(String(repeating: "0", count: max(0, 12 - serial.count)) + serial)", \
                "rule": "\(rule)", "description": "the same destination failed 3 times within 5 minutes", \
                "key": {"destination": "+6591\(100_000 + index % 900_000)"}, "count": 1, "match": null, \
                "firstAt": "2026-01-06T10:17:19.375Z", "lastAt": "2026-01-06T10:17:25.375Z", \
                "firedAt": "2026-01-06T10:17:25.375Z", "events": [{"eventId": "e1f0a008-\(index)", \
                "callId": "5b0c2a93-4f1d-11f1-9c2b-0242ac120002", "sessionId": "5b0c2a92-4f1d-11f1-9c2b-0242ac120002", \
                "subAccountId": "acme_ops", "callStatus": "CALL_DISCONNECTED", "callDirection": "OUTBOUND", \
                "callType": "PSTN", "source": "+6531580001", "destination": "+6591\(100_000 + index % 900_000)", \
                "sourceFormat": "MSISDN", "destinationFormat": "MSISDN", "sourceCountryCode": "SG", \
                "destinationCountryCode": "SG", "sourceRefId": null, "destinationRefId": "vn-ref-1", \
                "callDuration": 0, "eventData": " ", "sipCode": 486, "timestamp": "2026-01-06T10:17:25.375Z"}]}
                """
            guard let alert = Alert(json: json) else { fatalError("alert JSON does not parse") }
            return alert
        }
    }
}

/// Outcomes of one burst, checked after it drains so a failing action cannot pass for a fast one.
public final class OutcomeTally: Sendable {
    private let counts = Mutex<[OutboxStatus: Int]>([:])
    private let firstReason = Mutex<String?>(nil)

    public init() {}

    public func record(_ outcome: ActionOutcome) {
        counts.withLock { $0[outcome.status, default: 0] += 1 }
        if outcome.status != .success, let reason = outcome.reason {
            firstReason.withLock { if $0 == nil { $0 = reason } }
        }
    }

    public func expectAllSucceeded(_ expected: Int, _ label: String) {
        let counts = counts.withLock { $0 }
        guard counts[.success, default: 0] == expected, counts.count == 1 else {
            fatalError(
                "\(label): expected \(expected) successes, got \(counts); first reason: \(firstReason.withLock { $0 } ?? "-")"
            )
        }
    }
}

/// Submits every alert at once (as a burst of fired rules would), then waits until the dispatcher has run them
/// all, and checks that every action succeeded.
public func burst(
    _ alerts: [Alert],
    actions: [ActionSpec],
    label: String,
    configuration: ActionDispatcher.Configuration = .init()  // execConcurrency 8, httpConcurrency 32: the defaults
) async {
    let tally = OutcomeTally()
    let dispatcher = ActionDispatcher(
        configuration: configuration,
        logger: Logger(label: "callwatch.bench") { _ in SwiftLogNoOpLogHandler() },
        onOutcome: { outcome in
            if outcome.isFinal { tally.record(outcome) }
        }
    )
    await withDiscardingTaskGroup { group in
        group.addTask { await dispatcher.run() }
        for alert in alerts { dispatcher.submit(alert, actions: actions) }
        dispatcher.finish()
    }
    tally.expectAllSucceeded(alerts.count, label)
}

/// The grouping burst: `count` events through a pipeline on a SQLite store in a temporary directory, each firing an
/// alert of one rule with `group: {wait: 1h}` that notifies a Slack and a webhook receiver; then one tick past the
/// wait. Waits until the sink has seen the group's requests (one per receiver) and fails if it saw more.
public func groupedBurst(
    count: Int,
    sinkURL: String,
    sink: HTTPSink,
    configuration: ActionDispatcher.Configuration = .init()
) async throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cw-group-bench-\(getpid())").path
    try? FileManager.default.removeItem(atPath: directory)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let rules = try RulesLoader.load(
        yaml: """
            version: 1
            receivers:
              chat:
                - slack: {url: "${CALLWATCH_BENCH_SINK}/slack"}
              hooks:
                - http: {url: "${CALLWATCH_BENCH_SINK}/hook"}
            rules:
              - name: bench-group
                when: {callStatus: CALL_DISCONNECTED}
                by: [destination]
                group: {wait: 1h}
                notify: [chat, hooks]
            """,
        path: "group-bench.yaml",
        environment: ["CALLWATCH_BENCH_SINK": sinkURL]
    )
    let logger = Logger(label: "callwatch.bench") { _ in SwiftLogNoOpLogHandler() }
    let dispatcher = ActionDispatcher(configuration: configuration, logger: logger)
    let pipeline = Pipeline(
        ruleSet: rules,
        store: try SQLiteStore(path: directory + "/cw.db"),
        dispatcher: dispatcher,
        logger: logger
    )
    dispatcher.setOutcomeHandler { pipeline.record($0) }
    let start = Date()
    async let writer: Void = pipeline.run()
    async let actions: Void = dispatcher.run()
    try await withThrowingDiscardingTaskGroup { group in
        for index in 0..<count {
            group.addTask {
                let body = Data(
                    """
                    {"eventType":"CALL_STATUS","payload":{"eventId":"g-\(index)","callId":"call-\(index)",\
                    "callStatus":"CALL_DISCONNECTED","destination":"+6591\(100_000 + index)","sipCode":486}}
                    """.utf8
                )
                let event = try CallEvent.decode(String(decoding: body, as: UTF8.self))
                _ = try await pipeline.ingest(event, body: body, receivedAt: start)
            }
        }
    }
    pipeline.tick(at: start.addingTimeInterval(3601))
    while sink.requests < 2 { try await Task.sleep(for: .milliseconds(5)) }
    try await Task.sleep(for: .milliseconds(200))  // anything more would be a defect
    dispatcher.finish()
    pipeline.finish()
    _ = await actions
    try await writer
    guard sink.requests == 2 else { fatalError("group: expected 2 requests, the sink saw \(sink.requests)") }
}
