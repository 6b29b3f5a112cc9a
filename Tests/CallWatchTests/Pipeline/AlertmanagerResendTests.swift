import CallWatchTestSupport
import Foundation
import Testing

@testable import CallWatch

/// A firing condition alert is told to Alertmanager again every `resend` (so Alertmanager does not time it out),
/// until it resolves; the resolution is sent once with `endsAt`. The pipeline on a real SQLite file, posting to a
/// real HTTP sink, told the time by explicit ticks.
@Suite struct AlertmanagerResendTests {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    static func at(_ seconds: Double) -> Date { t0.addingTimeInterval(seconds) }

    static func rules(sink: String) throws -> RuleSet {
        try RulesLoader.load(
            yaml: """
                version: 1
                rules:
                  - name: asr
                    when: {callStatus: CALL_DISCONNECTED, destination: {prefix: "+65"}}
                    by: [destination]
                    ratio: {of: {sipCode: 200}, within: 10m, min_events: 2, below: 0.5}
                    actions:
                      - alertmanager: {url: "\(sink)", resend: 30s}
                """,
            path: "rules.yaml",
            environment: [:]
        )
    }

    /// Each posted alert's `endsAt` (nil while firing).
    static func sent(_ sink: HTTPSink) throws -> [String?] {
        try sink.requests.map { request in
            let body = try #require(try JSONSerialization.jsonObject(with: Data(request.body)) as? [[String: Any]])
            return body.first?["endsAt"] as? String
        }
    }

    static func barrier(_ pipeline: Pipeline, _ id: String) async throws {
        try await StoreFixture.ingest(pipeline, id, destination: "+1555" + id)
    }

    @Test func aFiringConditionIsResentEveryResendUntilItResolves() async throws {
        try await HTTPSink.withSink { sink in
            try await withTemporaryDirectory(prefix: "callwatch-resend") { directory in
                try await StoreFixture.withPipeline(try Self.rules(sink: sink.url("")), path: directory + "/cw.db") {
                    pipeline in
                    try await StoreFixture.ingest(pipeline, "a1", destination: "+65001", at: Self.at(0))
                    try await StoreFixture.ingest(pipeline, "a2", destination: "+65001", at: Self.at(1))
                    _ = try await sink.waitForRequests(1)
                    pipeline.tick(at: Self.at(30))
                    try await Self.barrier(pipeline, "b1")
                    pipeline.tick(at: Self.at(31))
                    _ = try await sink.waitForRequests(2)
                    pipeline.tick(at: Self.at(45))
                    pipeline.tick(at: Self.at(61))
                    _ = try await sink.waitForRequests(3)
                    // a1 leaves the window at 600 s: too few events to judge, the alert resolves.
                    pipeline.tick(at: Self.at(601))
                    _ = try await sink.waitForRequests(4)
                    pipeline.tick(at: Self.at(700))
                    try await Self.barrier(pipeline, "b2")
                }
                let sent = try Self.sent(sink)
                #expect(sent.count == 4, "\(sent)")
                #expect(sent.prefix(3).allSatisfy { $0 == nil })
                #expect(sent.last.flatMap { $0 } != nil)
                #expect(sink.requests.allSatisfy { $0.path == AlertmanagerAlert.path })
                // Re-sends are not notifications: the store holds the firing and the resolved alert only.
                let recorded = try SQLiteStore(path: directory + "/cw.db").alerts(rules: ["asr"], since: .distantPast)
                #expect(recorded.map(\.status) == [.firing, .resolved])
            }
        }
    }

    @Test func aConditionStillFiringAtARestartIsResentAtTheFirstTick() async throws {
        try await HTTPSink.withSink { sink in
            try await withTemporaryDirectory(prefix: "callwatch-resend") { directory in
                let path = directory + "/cw.db"
                let rules = try Self.rules(sink: sink.url(""))
                let now = Date()
                try await StoreFixture.withPipeline(rules, path: path) { pipeline in
                    try await StoreFixture.ingest(
                        pipeline,
                        "c1",
                        destination: "+65002",
                        at: now.addingTimeInterval(-20)
                    )
                    try await StoreFixture.ingest(
                        pipeline,
                        "c2",
                        destination: "+65002",
                        at: now.addingTimeInterval(-10)
                    )
                    _ = try await sink.waitForRequests(1)
                }
                try await StoreFixture.withPipeline(rules, path: path) { pipeline in
                    try await Self.barrier(pipeline, "b1")
                    pipeline.tick(at: Date().addingTimeInterval(1))  // after the recovery's own clock
                    _ = try await sink.waitForRequests(2)
                }
                #expect(try Self.sent(sink) == [nil, nil])
            }
        }
    }
}
