import CallWatchTestSupport
import Foundation
import GRDB
import Logging
import Metrics
import Synchronization
import Testing

@testable import CallWatch

/// Crash recovery through the pipeline's writer: state rebuilt from the journal on a real SQLite file, pending
/// actions resumed.
@Suite struct RecoveryTests {
    @Test func recoveryCompletesAWindowHalfFilledBeforeTheCrash() async throws {
        try await withTemporaryDirectory(prefix: "callwatch-store") { directory in
            let path = directory + "/cw.db"
            let rules = try StoreFixture.windowRules()
            _ = try await StoreFixture.withPipeline(rules, path: path) { pipeline in
                try await StoreFixture.ingest(pipeline, "w1", destination: "+65001")
                try await StoreFixture.ingest(pipeline, "w2", destination: "+65001")
            }
            let report = try await StoreFixture.withPipeline(rules, path: path) { pipeline in
                #expect(try await pipeline.store.recentAlerts(limit: 10).isEmpty)
                try await StoreFixture.ingest(pipeline, "w3", destination: "+65001")
            }
            #expect(report?.eventsReplayed == 2)
            let alerts = try await SQLiteStore(path: path).recentAlerts(limit: 10)
            #expect(alerts.map(\.id) == [Alert.makeID(rule: "burst", key: "+65001", eventIdentity: "CALL_STATUS:w3")])
            #expect(alerts.first?.key == "destination=+65001")
        }
    }

    /// The first start after the upgrade that namespaced identities: the journal's identities are migrated, and a
    /// fire the previous release recorded (its alert id derived from the bare eventId) still re-anchors its window.
    @Test func recoveryAcrossTheIdentityUpgradeKeepsTheWindowAfterAFire() async throws {
        try await withTemporaryDirectory(prefix: "callwatch-store") { directory in
            let path = directory + "/cw.db"
            let legacyAlert = Alert.makeID(rule: "burst", key: "+65010", eventIdentity: "u3")
            do {
                let previous = try DatabaseQueue(path: path)
                try SQLiteStore.migrator.migrate(previous, upTo: "v3")
                try await previous.write { db in
                    for (number, id) in ["u1", "u2", "u3", "u4"].enumerated() {
                        try db.execute(
                            sql: "INSERT INTO events (identity, received_at, body) VALUES (?, ?, ?)",
                            arguments: [
                                id, Date().addingTimeInterval(Double(number - 10)).timeIntervalSince1970,
                                StoreFixture.body(id, destination: "+65010"),
                            ]
                        )
                    }
                    try db.execute(
                        sql: "INSERT INTO alerts (id, rule, key, fired_at, body) VALUES (?, 'burst', ?, ?, '{}')",
                        arguments: [
                            legacyAlert, "destination=+65010", Date().addingTimeInterval(-8).timeIntervalSince1970,
                        ]
                    )
                }
            }
            let rules = try StoreFixture.windowRules()
            _ = try await StoreFixture.withPipeline(rules, path: path) { pipeline in
                // u4 is the window's only entry after the fire at u3: u5 makes two, u6 three.
                try await StoreFixture.ingest(pipeline, "u5", destination: "+65010")
                #expect(try await pipeline.store.recentAlerts(limit: 10).map(\.id) == [legacyAlert])
                try await StoreFixture.ingest(pipeline, "u6", destination: "+65010")
            }
            let ids = Set(try await SQLiteStore(path: path).recentAlerts(limit: 10).map(\.id))
            #expect(ids == [legacyAlert, Alert.makeID(rule: "burst", key: "+65010", eventIdentity: "CALL_STATUS:u6")])
        }
    }

    @Test func aBatchThatFailsToCommitLeavesNoTraceInTheWindows() async throws {
        try await withTemporaryDirectory(prefix: "callwatch-store") { directory in
            let path = directory + "/cw.db"
            let failing = StoreFixture.Box<FailingStore?>(nil)
            _ = try await StoreFixture.withPipeline(
                try StoreFixture.windowRules(),
                path: path,
                store: { store in
                    let wrapped = FailingStore(store)
                    failing.update { $0 = wrapped }
                    return wrapped
                }
            ) { pipeline in
                try await StoreFixture.ingest(pipeline, "f1", destination: "+65009")
                // Evaluated, then the commit fails: the request gets an error and the window must forget it.
                failing.value?.failNext.update { $0 = true }
                let bytes = StoreFixture.body("f2", destination: "+65009")
                let event = try CallEvent.decode(String(decoding: bytes, as: UTF8.self))
                await #expect(throws: Pipeline.IngestError.self) { try await pipeline.ingest(event, body: bytes) }
                // With f2 forgotten, f3 is the second of three: no alert yet; f4 completes the window.
                try await StoreFixture.ingest(pipeline, "f3", destination: "+65009")
                #expect(try await pipeline.store.recentAlerts(limit: 10).isEmpty)
                try await StoreFixture.ingest(pipeline, "f4", destination: "+65009")
                let alerts = try await pipeline.store.recentAlerts(limit: 10)
                #expect(
                    alerts.map(\.id) == [Alert.makeID(rule: "burst", key: "+65009", eventIdentity: "CALL_STATUS:f4")]
                )
            }
            let journal = try SQLiteStore(path: path).entries(since: .distantPast)
            #expect(journal.map(\.identity) == ["CALL_STATUS:f1", "CALL_STATUS:f3", "CALL_STATUS:f4"])
        }
    }

    @Test func recoveryDoesNotFireAgainAndKeepsTheWindowAfterAFire() async throws {
        try await withTemporaryDirectory(prefix: "callwatch-store") { directory in
            let path = directory + "/cw.db"
            let rules = try StoreFixture.windowRules()
            _ = try await StoreFixture.withPipeline(rules, path: path) { pipeline in
                for id in ["f1", "f2", "f3", "f4"] {
                    try await StoreFixture.ingest(pipeline, id, destination: "+65002")
                }
            }
            let firstAlert = Alert.makeID(rule: "burst", key: "+65002", eventIdentity: "CALL_STATUS:f3")
            #expect(try await SQLiteStore(path: path).recentAlerts(limit: 10).map(\.id) == [firstAlert])

            let report = try await StoreFixture.withPipeline(rules, path: path) { pipeline in
                #expect(try await pipeline.store.recentAlerts(limit: 10).map(\.id) == [firstAlert])
                // f4 is the window's only entry after the fire: two more complete it, one would not.
                try await StoreFixture.ingest(pipeline, "f5", destination: "+65002")
                #expect(try await pipeline.store.recentAlerts(limit: 10).count == 1)
                try await StoreFixture.ingest(pipeline, "f6", destination: "+65002")
            }
            #expect(report?.eventsReplayed == 4)
            let ids = Set(try await SQLiteStore(path: path).recentAlerts(limit: 10).map(\.id))
            #expect(ids == [firstAlert, Alert.makeID(rule: "burst", key: "+65002", eventIdentity: "CALL_STATUS:f6")])
        }
    }

    /// A key with steady traffic across the replay horizon (2 × `within`): recovery replays only the last two
    /// hours, starting mid-chain of tumbling windows. Without a crash, e1…e12 (one every 20 minutes, window 3
    /// within 1 h) fire at e3, e6, e9 and e12. A replay from e6 left to itself would empty the window at e8 and
    /// hold [e9, e10]; steered by the recorded alerts (e6, e9) it holds [e10], so e12 fires and e11 does not.
    @Test func recoveryOfSteadyTrafficAcrossTheReplayHorizon() async throws {
        try await withTemporaryDirectory(prefix: "callwatch-store") { directory in
            let path = directory + "/cw.db"
            let rules = try StoreFixture.windowRules()
            let now = Date()
            func minutes(_ number: Int) -> Date { now.addingTimeInterval(Double((number - 11) * 20 - 1) * 60) }
            _ = try await StoreFixture.withPipeline(rules, path: path) { pipeline in
                for number in 1...10 {
                    try await StoreFixture.ingest(pipeline, "s\(number)", destination: "+65006", at: minutes(number))
                }
            }
            _ = try await StoreFixture.withPipeline(rules, path: path) { pipeline in
                for number in 11...12 {
                    try await StoreFixture.ingest(pipeline, "s\(number)", destination: "+65006", at: minutes(number))
                }
            }
            let fired = Set(try await SQLiteStore(path: path).recentAlerts(limit: 10).map(\.id))
            let uninterrupted = Set(
                [3, 6, 9, 12].map { Alert.makeID(rule: "burst", key: "+65006", eventIdentity: "CALL_STATUS:s\($0)") }
            )
            #expect(fired == uninterrupted)
        }
    }

    @Test func recoveryRebuildsCooldowns() async throws {
        try await withTemporaryDirectory(prefix: "callwatch-store") { directory in
            let path = directory + "/cw.db"
            let rules = try RulesLoader.load(
                yaml: """
                    version: 1
                    rules:
                      - name: quiet
                        when: {callStatus: CALL_DISCONNECTED}
                        by: [destination]
                        cooldown: 1h
                        actions: [{log: {message: "fired"}}]
                    """,
                path: "cooldown.yaml",
                environment: [:]
            )
            _ = try await StoreFixture.withPipeline(rules, path: path) { pipeline in
                try await StoreFixture.ingest(pipeline, "c1", destination: "+65003")
            }
            _ = try await StoreFixture.withPipeline(rules, path: path) { pipeline in
                try await StoreFixture.ingest(pipeline, "c2", destination: "+65003")
                try await StoreFixture.ingest(pipeline, "c3", destination: "+65004")
            }
            let alerts = try await SQLiteStore(path: path).recentAlerts(limit: 10)
            #expect(Set(alerts.map(\.key)) == ["destination=+65003", "destination=+65004"])
            #expect(alerts.count == 2)
        }
    }

    @Test func pendingActionsResumeWithTheirAttemptCount() async throws {
        try await withTemporaryDirectory(prefix: "callwatch-store") { directory in
            let path = directory + "/cw.db"
            try await HTTPSink.withSink { sink in
                let rules = try StoreFixture.windowRules(action: "{http: {url: \"\(sink.url("/hook"))\", retries: 5}}")
                // The first run commits the alert but dies before its action ran (the dispatcher never runs).
                _ = try await StoreFixture.withPipeline(rules, path: path, runDispatcher: false) { pipeline in
                    for id in ["p1", "p2", "p3"] { try await StoreFixture.ingest(pipeline, id, destination: "+65005") }
                }
                let alertID = Alert.makeID(rule: "burst", key: "+65005", eventIdentity: "CALL_STATUS:p3")
                let store = try SQLiteStore(path: path)
                // …after two failed attempts, the second scheduling a retry.
                try store.record([
                    OutboxUpdate(
                        alertID: alertID,
                        actionIndex: 0,
                        status: .pending,
                        attempts: 2,
                        reason: "network error",
                        notBefore: Date().addingTimeInterval(0.2)
                    )
                ])
                #expect(sink.requests.isEmpty)

                let report = try await StoreFixture.withPipeline(rules, path: path) { _ in
                    let requests = try await sink.waitForRequests(1)
                    #expect(requests.map { $0.header("Idempotency-Key") } == [alertID])
                    try await waitUntil("the outbox to record the success") {
                        try store.pendingCount() == 0
                    }
                }
                #expect(report?.actionsResumed == 1)
                let action = try await store.recentAlerts(limit: 1).first?.actions.first
                #expect(action?.status == .success)
                #expect(action?.attempts == 3)
                #expect(sink.requests.count == 1)
            }
        }
    }
}
