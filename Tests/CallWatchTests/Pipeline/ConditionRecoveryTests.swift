import CallWatchTestSupport
import Foundation
import Testing

@testable import CallWatch

/// Condition rules across a crash, through the pipeline's writer on a real SQLite file: rebuilt from the journal and
/// the recorded alerts, a firing alert is not fired again, a pending one fires once when due, a resolution that fell
/// due while stopped is recorded (and acted on) at the restart, and a tick records what falls due.
@Suite struct ConditionRecoveryTests {
    /// Every failed call lowers the answer ratio of its destination; two in ten minutes judge it.
    static func rules(for pending: String = "0s") throws -> RuleSet {
        try RulesLoader.load(
            yaml: """
                version: 1
                rules:
                  - name: asr
                    when: {callStatus: CALL_DISCONNECTED}
                    by: [destination]
                    ratio: {of: {sipCode: 200}, within: 10m, min_events: 2, below: 0.5}
                    for: \(pending)
                    actions: [{log: {message: "asr {{alert.status}}"}}]
                """,
            path: "rules.yaml",
            environment: [:]
        )
    }

    /// Waits for the writer to have recovered: an event is answered only after recovery (one call to a destination
    /// of its own judges nothing).
    static func recovered(_ pipeline: Pipeline, _ id: String) async throws {
        try await StoreFixture.ingest(pipeline, id, destination: "+69999-" + id)
    }

    static func recorded(_ path: String) throws -> [Alert] {
        try SQLiteStore(path: path).alerts(rules: ["asr"], since: .distantPast)
    }

    @Test func aResolutionDueWhileStoppedIsRecordedAtTheRestartAndTheFireIsNotRepeated() async throws {
        try await withTemporaryDirectory(prefix: "callwatch-conditions") { directory in
            let path = directory + "/cw.db"
            let rules = try Self.rules()
            let now = Date()
            _ = try await StoreFixture.withPipeline(rules, path: path) { pipeline in
                try await StoreFixture.ingest(pipeline, "a1", destination: "+65001", at: now.addingTimeInterval(-900))
                try await StoreFixture.ingest(pipeline, "a2", destination: "+65001", at: now.addingTimeInterval(-840))
            }
            let fired = try Self.recorded(path)
            #expect(fired.map(\.status) == [.firing])
            // Stopped while a1 left the window (at -300 s): the ratio lost its judgement then.
            _ = try await StoreFixture.withPipeline(rules, path: path) { try await Self.recovered($0, "r1") }
            let after = try Self.recorded(path)
            #expect(after.map(\.status) == [.firing, .resolved])
            #expect(
                after.map(\.id) == [
                    fired[0].id,
                    ConditionAlertID.make(rule: "asr", key: ["+65001"], status: .resolved, startsAt: fired[0].startsAt),
                ]
            )
            #expect(
                after.last.map { ConditionTime.milliseconds($0.endsAt!) }
                    == ConditionTime.milliseconds(now.addingTimeInterval(-300)) + 1
            )
            let pending = try SQLiteStore(path: path).pendingActions()
            #expect(pending.isEmpty)  // the resolution's log action ran
            // A third start finds both recorded: nothing more.
            _ = try await StoreFixture.withPipeline(rules, path: path) { try await Self.recovered($0, "r2") }
            #expect(try Self.recorded(path).count == 2)
        }
    }

    @Test func aFiringConditionIsNotFiredAgainAfterARestart() async throws {
        try await withTemporaryDirectory(prefix: "callwatch-conditions") { directory in
            let path = directory + "/cw.db"
            let rules = try Self.rules()
            let now = Date()
            _ = try await StoreFixture.withPipeline(rules, path: path) { pipeline in
                try await StoreFixture.ingest(pipeline, "b1", destination: "+65002", at: now.addingTimeInterval(-60))
                try await StoreFixture.ingest(pipeline, "b2", destination: "+65002", at: now.addingTimeInterval(-50))
            }
            _ = try await StoreFixture.withPipeline(rules, path: path) { pipeline in
                try await StoreFixture.ingest(pipeline, "b3", destination: "+65002")
            }
            #expect(try Self.recorded(path).map(\.status) == [.firing])
        }
    }

    @Test func aConditionPendingAtTheCrashFiresOnceWhenItsForElapses() async throws {
        try await withTemporaryDirectory(prefix: "callwatch-conditions") { directory in
            let path = directory + "/cw.db"
            let rules = try Self.rules(for: "2m")
            let now = Date()
            let second = now.addingTimeInterval(-150)
            _ = try await StoreFixture.withPipeline(rules, path: path) { pipeline in
                try await StoreFixture.ingest(pipeline, "p1", destination: "+65003", at: now.addingTimeInterval(-180))
                try await StoreFixture.ingest(pipeline, "p2", destination: "+65003", at: second)
            }
            #expect(try Self.recorded(path).isEmpty)  // still pending when it stopped
            _ = try await StoreFixture.withPipeline(rules, path: path) { try await Self.recovered($0, "r1") }
            let fired = try Self.recorded(path)
            #expect(fired.map(\.status) == [.firing])
            #expect(
                fired.first.map { ConditionTime.milliseconds($0.startsAt) }
                    == ConditionTime.milliseconds(second) + 120_000
            )
            _ = try await StoreFixture.withPipeline(rules, path: path) { try await Self.recovered($0, "r2") }
            #expect(try Self.recorded(path).count == 1)
        }
    }

    @Test func aTickRecordsWhatFallsDue() async throws {
        try await withTemporaryDirectory(prefix: "callwatch-conditions") { directory in
            let path = directory + "/cw.db"
            let rules = try Self.rules()
            let now = Date()
            _ = try await StoreFixture.withPipeline(rules, path: path) { pipeline in
                try await StoreFixture.ingest(pipeline, "t1", destination: "+65004", at: now)
                try await StoreFixture.ingest(pipeline, "t2", destination: "+65004", at: now.addingTimeInterval(1))
                pipeline.tick(at: now.addingTimeInterval(700))
            }
            let alerts = try Self.recorded(path)
            #expect(alerts.map(\.status) == [.firing, .resolved])
            #expect(alerts.last?.value == nil)  // one call left: too few to judge
        }
    }
}
