import CallWatchTestSupport
import Foundation
import GRDB
import Logging
import Synchronization
import Testing

@testable import CallWatch

/// The SQLite store (SPEC §6) on real files in a temporary directory, and crash recovery through `Pipeline`.
@Suite struct StoreTests {
    // MARK: Journal

    @Test func journalInsertsNewEventsAndDetectsDuplicatesWithinABatchAndAcrossReopen() async throws {
        try await withTemporaryDirectory(prefix: "callwatch-store") { directory in
            let path = directory + "/cw.db"
            let received = Date(timeIntervalSince1970: 1_767_694_639.375)
            let evaluated = StoreFixture.Box<[String]>([])
            do {
                let store = try SQLiteStore(path: path)
                let results = try store.append(
                    [StoreFixture.entry("a", at: received), StoreFixture.entry("b"), StoreFixture.entry("a")]
                ) { fresh in
                    evaluated.update { $0 += fresh.map(\.identity) }
                    return []
                }
                #expect(results == [true, true, false])
                #expect(evaluated.value == ["a", "b"])
            }
            let reopened = try SQLiteStore(path: path)
            let results = try reopened.append([StoreFixture.entry("b"), StoreFixture.entry("c")]) { fresh in
                evaluated.update { $0 += fresh.map(\.identity) }
                return []
            }
            #expect(results == [false, true])
            #expect(evaluated.value == ["a", "b", "c"])

            let allDuplicates = try reopened.append([StoreFixture.entry("a")]) { _ in
                Issue.record("evaluate ran for a batch of duplicates only")
                return []
            }
            #expect(allDuplicates == [false])

            let journal = try await reopened.entries(since: .distantPast)
            #expect(journal.map(\.identity) == ["a", "b", "c"])
            #expect(journal.first?.body == StoreFixture.body("a"))
            #expect(
                abs((journal.first?.receivedAt.timeIntervalSince1970 ?? 0) - received.timeIntervalSince1970) < 0.001
            )
            #expect(try await reopened.entries(since: Date().addingTimeInterval(60)).isEmpty)
        }
    }

    @Test func newStoreIsWALWithASchemaVersion() async throws {
        try await withTemporaryDirectory(prefix: "callwatch-store") { directory in
            let store = try SQLiteStore(path: directory + "/nested/dir/cw.db")
            let (mode, version) = try await store.pool.read { db in
                (
                    try String.fetchOne(db, sql: "PRAGMA journal_mode"),
                    try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'schema_version'")
                )
            }
            #expect(mode == "wal")
            #expect(version == String(SQLiteStore.schemaVersion))
        }
    }

    @Test func aVersion1StoreIsMigratedKeepingItsJournalInOrder() async throws {
        try await withTemporaryDirectory(prefix: "callwatch-store") { directory in
            let path = directory + "/cw.db"
            do {
                let v1 = try DatabaseQueue(path: path)
                try SQLiteStore.migrator.migrate(v1, upTo: "v1")
                try await v1.write { db in
                    for (seq, id) in [(5, "m1"), (9, "m2"), (12, "m3")] {
                        try db.execute(
                            sql: "INSERT INTO events (seq, identity, received_at, body) VALUES (?, ?, ?, ?)",
                            arguments: [seq, id, Date().timeIntervalSince1970, StoreFixture.body(id)]
                        )
                    }
                }
            }
            let store = try SQLiteStore(path: path)
            _ = try store.append([StoreFixture.entry("m4"), StoreFixture.entry("m1")]) { _ in [] }
            let (version, schema, seqs) = try await store.pool.read { db in
                (
                    try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'schema_version'"),
                    try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE name = 'events'") ?? "",
                    try Int.fetchAll(db, sql: "SELECT seq FROM events ORDER BY seq")
                )
            }
            #expect(version == "2")
            #expect(!schema.contains("AUTOINCREMENT"))
            #expect(seqs == [5, 9, 12, 13])
            #expect(try await store.entries(since: .distantPast).map(\.identity) == ["m1", "m2", "m3", "m4"])
        }
    }

    @Test func theWriterSyncsEveryCommit() async throws {
        try await withTemporaryDirectory(prefix: "callwatch-store") { directory in
            let store = try SQLiteStore(path: directory + "/cw.db")
            // 2 = FULL: the WAL is synced before a commit returns, so a 200 survives a power loss, not only a crash.
            // GRDB's pool sets NORMAL (1) when it turns WAL on, after the configuration's own setup has run.
            let writer = try store.pool.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA synchronous")
            }
            #expect(writer == 2)
        }
    }

    @Test func checkpointsMoveOffTheCommitPathAndCopyTheWholeWAL() async throws {
        try await withTemporaryDirectory(prefix: "callwatch-store") { directory in
            let path = directory + "/cw.db"
            let store = try SQLiteStore(path: path)
            #expect(try await store.checkpoint() == nil)  // not yet asked to
            try store.checkpointInBackground()
            // ~2,000 pages of journal: past the 1,000 at which the writer would have checkpointed by itself.
            for batch in 0..<100 {
                let entries = (0..<20).map { StoreFixture.entry("e\(batch)-\($0)", bodySize: 4000) }
                _ = try store.append(entries) { _ in [] }
            }
            let (walFrames, checkpointed) = try #require(try await store.checkpoint())
            #expect(walFrames > 1_000)
            #expect(checkpointed == walFrames)
            let reopened = try SQLiteStore(path: path)
            #expect(try await reopened.entries(since: .distantPast).count == 2_000)
        }
    }

    @Test func walStartsOverWhenCheckpointsNeverCatchUpWithTheWriter() async throws {
        try await withTemporaryDirectory(prefix: "callwatch-store") { directory in
            let path = directory + "/cw.db"
            let store = try SQLiteStore(path: path, rewindFrames: 64)
            try store.checkpointInBackground()
            let checkpointer = try #require(store.checkpointer.withLock { $0 })
            // Under steady load the background checkpoint always runs while a commit is being written, so it
            // never finds every frame copied and SQLite never starts the WAL over by itself (seen: 755 MB of WAL
            // after 8 s of load). Here it runs inside each commit's transaction, every time.
            for batch in 0..<150 {
                let entries = (0..<10).map { StoreFixture.entry("s\(batch)-\($0)", bodySize: 2000) }
                _ = try store.append(entries) { _ in
                    _ = try? checkpointer.writeWithoutTransaction { db in try store.passiveCheckpoint(db) }
                    return []
                }
            }
            // ~1,500 events of 2 KB: ~4 MB of WAL if it never starts over; ~64 frames (256 KiB) plus a few batches
            // when it does.
            let walSize = try #require(
                try FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int
            )
            #expect(walSize < 1_000_000)
            #expect(try await store.entries(since: .distantPast).count == 1_500)
        }
    }

    @Test func theWritersCheckpointAndTheBackgroundOneNeverCollide() async throws {
        try await withTemporaryDirectory(prefix: "callwatch-store") { directory in
            let path = directory + "/cw.db"
            // A small threshold: the writer finishes a checkpoint itself after nearly every background pass.
            let store = try SQLiteStore(path: path, rewindFrames: 8)
            try store.checkpointInBackground()
            let failures = StoreFixture.Box<(count: Int, first: String?)>((0, nil))
            let done = StoreFixture.Box(false)
            async let checkpoints: Void = {
                while !done.value {
                    do {
                        _ = try await store.checkpoint()
                    } catch {
                        failures.update { $0 = ($0.count + 1, $0.first ?? "\(error)") }
                    }
                    try? await Task.sleep(for: .milliseconds(1))
                }
            }()
            for batch in 0..<400 {
                let entries = (0..<5).map { StoreFixture.entry("c\(batch)-\($0)", bodySize: 3000) }
                _ = try store.append(entries) { _ in [] }
            }
            done.update { $0 = true }
            await checkpoints
            // Two checkpoints at once: SQLite answers the second SQLITE_BUSY, which the service logged as a failure.
            #expect(
                failures.value.count == 0,
                "\(failures.value.count) checkpoints failed: \(failures.value.first ?? "")"
            )
            #expect(try await store.entries(since: .distantPast).count == 2_000)
        }
    }

    // MARK: Outbox

    @Test func alertsAndTheirActionsAreCommittedWithTheEvents() async throws {
        try await withTemporaryDirectory(prefix: "callwatch-store") { directory in
            let path = directory + "/cw.db"
            let alert = try StoreFixture.alert(id: "alert-1", completedBy: "e3")
            do {
                let store = try SQLiteStore(path: path)
                _ = try store.append([
                    StoreFixture.entry("e1"), StoreFixture.entry("e2"), StoreFixture.entry("e3"),
                ]) {
                    fresh in
                    fresh.last?.identity == "e3" ? [AlertRecord(alert: alert, actionKinds: ["http", "log"])] : []
                }
            }
            let store = try SQLiteStore(path: path)
            let alerts = try await store.recentAlerts(limit: 10)
            #expect(alerts.map(\.id) == ["alert-1"])
            #expect(alerts.first?.rule == "burst")
            #expect(alerts.first?.key == "destination=+6591234567")
            #expect(alerts.first?.actions.map(\.kind) == ["http", "log"])
            #expect(alerts.first?.actions.map(\.status) == [.pending, .pending])
            let pending = try await store.pendingActions()
            #expect(pending.map(\.actionIndex) == [0, 1])
            #expect(pending.map(\.attempts) == [0, 0])
            #expect(pending.compactMap { Alert(json: $0.alertJSON)?.id } == ["alert-1", "alert-1"])
            #expect(try await store.pendingCount() == 2)
            #expect(try await store.entries(since: .distantPast).count == 3)
        }
    }

    @Test func successLeavesTheOutboxWhileARetryStaysPendingWithItsSchedule() async throws {
        try await withTemporaryDirectory(prefix: "callwatch-store") { directory in
            let store = try SQLiteStore(path: directory + "/cw.db")
            let alert = try StoreFixture.alert(id: "alert-1", completedBy: "e1")
            _ = try store.append([StoreFixture.entry("e1")]) { _ in
                [AlertRecord(alert: alert, actionKinds: ["http", "exec"])]
            }
            let retryAt = Date().addingTimeInterval(30)
            try await store.updateAction(
                alertID: "alert-1",
                index: 0,
                status: .pending,
                attempts: 2,
                reason: "HTTP 503",
                notBefore: retryAt
            )
            try await store.updateAction(
                alertID: "alert-1",
                index: 1,
                status: .success,
                attempts: 1,
                reason: nil,
                notBefore: nil
            )
            let pending = try await store.pendingActions()
            #expect(pending.count == 1)
            #expect(pending.first?.actionIndex == 0)
            #expect(pending.first?.kind == "http")
            #expect(pending.first?.attempts == 2)
            #expect(abs((pending.first?.notBefore?.timeIntervalSince1970 ?? 0) - retryAt.timeIntervalSince1970) < 0.001)
            #expect(try await store.pendingCount() == 1)

            try await store.updateAction(
                alertID: "alert-1",
                index: 0,
                status: .failure,
                attempts: 21,
                reason: "HTTP 503",
                notBefore: nil
            )
            #expect(try await store.pendingActions().isEmpty)
            let actions = try await store.recentAlerts(limit: 1).first?.actions ?? []
            #expect(actions.map(\.status) == [.failure, .success])
            #expect(actions.map(\.attempts) == [21, 1])
            #expect(actions.map(\.reason) == ["HTTP 503", nil])
        }
    }

    // MARK: Retention

    @Test func pruneDeletesOldEventsInBatchesAndKeepsAlertsStillOwingActions() async throws {
        try await withTemporaryDirectory(prefix: "callwatch-store") { directory in
            let store = try SQLiteStore(path: directory + "/cw.db")
            let old = Date().addingTimeInterval(-10 * 86400)
            let oldEvents = (0..<12_000).map { StoreFixture.entry("old-\($0)", at: old) }
            let done = try StoreFixture.alert(id: "old-done", completedBy: "old-0", firedAt: old)
            let owing = try StoreFixture.alert(id: "old-owing", completedBy: "old-1", firedAt: old)
            _ = try store.append(oldEvents) { _ in
                [AlertRecord(alert: done, actionKinds: ["log"]), AlertRecord(alert: owing, actionKinds: ["http"])]
            }
            try await store.updateAction(
                alertID: "old-done",
                index: 0,
                status: .success,
                attempts: 1,
                reason: nil,
                notBefore: nil
            )
            let recent = try StoreFixture.alert(id: "recent", completedBy: "new-0")
            _ = try store.append([StoreFixture.entry("new-0"), StoreFixture.entry("new-1")]) { _ in
                [AlertRecord(alert: recent, actionKinds: ["log"])]
            }

            let deleted = try await store.prune(before: Date().addingTimeInterval(-86400))

            #expect(deleted == 12_000 + 1)
            #expect(try await store.entries(since: .distantPast).map(\.identity) == ["new-0", "new-1"])
            #expect(Set(try await store.recentAlerts(limit: 10).map(\.id)) == ["recent", "old-owing"])
            #expect(
                try await store.pendingActions().compactMap { Alert(json: $0.alertJSON)?.id } == [
                    "old-owing", "recent",
                ]
            )
            let outboxRows = try await store.pool.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM outbox") }
            #expect(outboxRows == 2)
        }
    }

    // MARK: Opening failures

    @Test func aCorruptFileIsAnOpenErrorNamingThePath() async throws {
        try await withTemporaryDirectory(prefix: "callwatch-store") { directory in
            let path = directory + "/cw.db"
            var generator = SystemRandomNumberGenerator()
            let garbage = (0..<65_536).map { _ in UInt8.random(in: 0...255, using: &generator) }
            try Data("definitely not SQLite\n".utf8 + garbage).write(to: URL(fileURLWithPath: path))
            let error = StoreFixture.openError(path)
            #expect(error?.description.contains(path) == true)
            #expect(error?.description.contains("not a database") == true, "\(String(describing: error))")
        }
    }

    @Test func damagedPagesFailTheIntegrityCheck() async throws {
        try await withTemporaryDirectory(prefix: "callwatch-store") { directory in
            let path = directory + "/cw.db"
            do {
                let store = try SQLiteStore(path: path)
                _ = try store.append((0..<3000).map { StoreFixture.entry("e\($0)") }) { _ in [] }
                _ = try await store.pool.writeWithoutTransaction { try $0.checkpoint(.truncate) }
            }
            let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
            let size = try handle.seekToEnd()
            // Leave page 1 (the header and schema) intact; overwrite the middle of the file.
            try handle.seek(toOffset: size / 2)
            try handle.write(contentsOf: Data(repeating: 0xA5, count: 16_384))
            try handle.close()
            let error = StoreFixture.openError(path)
            #expect(error?.description.contains(path) == true, "\(String(describing: error))")
        }
    }

    @Test func aDirectoryInPlaceOfTheFileIsAnOpenError() async throws {
        try await withTemporaryDirectory(prefix: "callwatch-store") { directory in
            let path = directory + "/cw.db"
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
            let error = StoreFixture.openError(path)
            #expect(error?.description.hasPrefix("cannot open the store at \(path): ") == true)
        }
    }

    @Test func aPathUnderARegularFileIsAnOpenError() async throws {
        try await withTemporaryDirectory(prefix: "callwatch-store") { directory in
            try Data("a file, not a directory".utf8).write(to: URL(fileURLWithPath: directory + "/file"))
            let path = directory + "/file/cw.db"
            let error = StoreFixture.openError(path)
            #expect(error?.description.hasPrefix("cannot open the store at \(path): ") == true)
        }
    }

    // MARK: Recovery through the pipeline

    @Test func recoveryCompletesAWindowHalfFilledBeforeTheCrash() async throws {
        try await withTemporaryDirectory(prefix: "callwatch-store") { directory in
            let path = directory + "/cw.db"
            let rules = try StoreFixture.windowRules()
            _ = try await StoreFixture.withPipeline(rules, path: path) { pipeline in
                try await StoreFixture.ingest(pipeline, "w1", destination: "+65001")
                try await StoreFixture.ingest(pipeline, "w2", destination: "+65001")
            }
            let report = try await StoreFixture.withPipeline(rules, path: path, recover: true) { pipeline in
                #expect(try await pipeline.store.recentAlerts(limit: 10).isEmpty)
                try await StoreFixture.ingest(pipeline, "w3", destination: "+65001")
            }
            #expect(report?.eventsReplayed == 2)
            let alerts = try await SQLiteStore(path: path).recentAlerts(limit: 10)
            #expect(alerts.map(\.id) == [Alert.makeID(rule: "burst", key: "+65001", eventIdentity: "w3")])
            #expect(alerts.first?.key == "destination=+65001")
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
                #expect(alerts.map(\.id) == [Alert.makeID(rule: "burst", key: "+65009", eventIdentity: "f4")])
            }
            let journal = try await SQLiteStore(path: path).entries(since: .distantPast)
            #expect(journal.map(\.identity) == ["f1", "f3", "f4"])
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
            let firstAlert = Alert.makeID(rule: "burst", key: "+65002", eventIdentity: "f3")
            #expect(try await SQLiteStore(path: path).recentAlerts(limit: 10).map(\.id) == [firstAlert])

            let report = try await StoreFixture.withPipeline(rules, path: path, recover: true) { pipeline in
                #expect(try await pipeline.store.recentAlerts(limit: 10).map(\.id) == [firstAlert])
                // f4 is the window's only entry after the fire: two more complete it, one would not.
                try await StoreFixture.ingest(pipeline, "f5", destination: "+65002")
                #expect(try await pipeline.store.recentAlerts(limit: 10).count == 1)
                try await StoreFixture.ingest(pipeline, "f6", destination: "+65002")
            }
            #expect(report?.eventsReplayed == 4)
            let ids = Set(try await SQLiteStore(path: path).recentAlerts(limit: 10).map(\.id))
            #expect(ids == [firstAlert, Alert.makeID(rule: "burst", key: "+65002", eventIdentity: "f6")])
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
            _ = try await StoreFixture.withPipeline(rules, path: path, recover: true) { pipeline in
                for number in 11...12 {
                    try await StoreFixture.ingest(pipeline, "s\(number)", destination: "+65006", at: minutes(number))
                }
            }
            let fired = Set(try await SQLiteStore(path: path).recentAlerts(limit: 10).map(\.id))
            let uninterrupted = Set(
                [3, 6, 9, 12].map { Alert.makeID(rule: "burst", key: "+65006", eventIdentity: "s\($0)") }
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
            _ = try await StoreFixture.withPipeline(rules, path: path, recover: true) { pipeline in
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
                let alertID = Alert.makeID(rule: "burst", key: "+65005", eventIdentity: "p3")
                let store = try SQLiteStore(path: path)
                // …after two failed attempts, the second scheduling a retry.
                try await store.updateAction(
                    alertID: alertID,
                    index: 0,
                    status: .pending,
                    attempts: 2,
                    reason: "network error",
                    notBefore: Date().addingTimeInterval(0.2)
                )
                #expect(sink.requests.isEmpty)

                let report = try await StoreFixture.withPipeline(rules, path: path, recover: true) { _ in
                    let requests = try await sink.waitForRequests(1)
                    #expect(requests.map { $0.header("Idempotency-Key") } == [alertID])
                    try await waitUntil("the outbox to record the success") {
                        try await store.pendingCount() == 0
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

/// Temporary stores, journal entries, alerts and pipelines for `StoreTests`.
/// The real store, with one fault a test can switch on: the next `append` evaluates its batch, then fails as a
/// commit that could not be written would.
private final class FailingStore: EventStore {
    struct InjectedFailure: Error {}

    let store: SQLiteStore
    let failNext = StoreFixture.Box(false)

    init(_ store: SQLiteStore) { self.store = store }

    func append(_ entries: [JournalEntry], evaluate: ([JournalEntry]) -> [AlertRecord]) throws -> [Bool] {
        var fail = false
        failNext.update {
            fail = $0
            $0 = false
        }
        if fail {
            _ = evaluate(entries)
            throw InjectedFailure()
        }
        return try store.append(entries, evaluate: evaluate)
    }

    func updateAction(
        alertID: String,
        index: Int,
        status: OutboxStatus,
        attempts: Int,
        reason: String?,
        notBefore: Date?
    ) async throws {
        try await store.updateAction(
            alertID: alertID,
            index: index,
            status: status,
            attempts: attempts,
            reason: reason,
            notBefore: notBefore
        )
    }

    func forEachEntry(since: Date, _ body: @Sendable (JournalEntry) -> Void) async throws -> Int {
        try await store.forEachEntry(since: since, body)
    }

    func alertIDs(since: Date) async throws -> Set<String> { try await store.alertIDs(since: since) }
    func pendingActions() async throws -> [OutboxEntry] { try await store.pendingActions() }
    func recentAlerts(limit: Int) async throws -> [AlertSummary] { try await store.recentAlerts(limit: limit) }
    func prune(before: Date) async throws -> Int { try await store.prune(before: before) }
}

private enum StoreFixture {
    final class Box<Value: Sendable>: Sendable {
        private let storage: Mutex<Value>
        init(_ value: Value) { storage = Mutex(value) }
        var value: Value { storage.withLock { $0 } }
        func update(_ body: (inout Value) -> Void) { storage.withLock { body(&$0) } }
    }

    static let quiet = Logger(label: "callwatch.test.store") { _ in SwiftLogNoOpLogHandler() }

    static func body(_ id: String, destination: String = "+6591234567") -> Data {
        Data(
            """
            {"eventType":"CALL_STATUS","payload":{"eventId":"\(id)","callId":"call-\(id)","callStatus":\
            "CALL_DISCONNECTED","destination":"\(destination)","sipCode":486,"callDuration":0}}
            """.utf8
        )
    }

    static func entry(_ id: String, at receivedAt: Date = Date(), bodySize: Int? = nil) -> JournalEntry {
        var body = body(id)
        if let bodySize, body.count < bodySize {
            body += Data(repeating: UInt8(ascii: " "), count: bodySize - body.count)
        }
        return JournalEntry(identity: id, receivedAt: receivedAt, body: body)
    }

    static func alert(id: String, completedBy eventID: String, firedAt: Date = Date()) throws -> Alert {
        let event = try CallEvent.decode(String(decoding: body(eventID), as: UTF8.self))
        return Alert(
            id: id,
            rule: "burst",
            description: "three in a row",
            key: [("destination", "+6591234567")],
            count: 1,
            match: nil,
            firstAt: firedAt,
            lastAt: firedAt,
            firedAt: firedAt,
            events: [event]
        )
    }

    /// The `SQLiteStore.OpenError` opening `path` throws, or nil (recorded as an issue) when it opens or throws
    /// anything else.
    static func openError(_ path: String, sourceLocation: SourceLocation = #_sourceLocation) -> SQLiteStore.OpenError? {
        do {
            _ = try SQLiteStore(path: path)
            Issue.record("the store at \(path) opened", sourceLocation: sourceLocation)
        } catch let error as SQLiteStore.OpenError {
            return error
        } catch {
            Issue.record("expected SQLiteStore.OpenError, got \(error)", sourceLocation: sourceLocation)
        }
        return nil
    }

    /// A window of 3 per destination within an hour.
    static func windowRules(action: String = "{log: {message: \"fired\"}}") throws -> RuleSet {
        try RulesLoader.load(
            yaml: """
                version: 1
                rules:
                  - name: burst
                    when: {callStatus: CALL_DISCONNECTED}
                    by: [destination]
                    window: {count: 3, within: 1h}
                    actions: [\(action)]
                """,
            path: "window.yaml",
            environment: [:]
        )
    }

    /// Opens the store, builds a pipeline (recovering first if asked), runs its writer (and dispatcher) around
    /// `body`, then drains them: what one run of the daemon does.
    static func withPipeline(
        _ rules: RuleSet,
        path: String,
        recover: Bool = false,
        runDispatcher: Bool = true,
        store wrap: (SQLiteStore) -> any EventStore = { $0 },
        _ body: (Pipeline) async throws -> Void
    ) async throws -> Pipeline.RecoveryReport? {
        let store = wrap(try SQLiteStore(path: path))
        var configuration = ActionDispatcher.Configuration()
        configuration.backoffBase = .milliseconds(50)
        let dispatcher = ActionDispatcher(configuration: configuration, logger: quiet)
        let pipeline = Pipeline(ruleSet: rules, store: store, dispatcher: dispatcher, logger: quiet)
        dispatcher.setOutcomeHandler { await pipeline.recordOutcome($0) }
        let report = recover ? try await pipeline.recover() : nil
        async let writer: Void = pipeline.run()
        async let actions: Void = run(runDispatcher ? dispatcher : nil)
        var failure: (any Error)?
        do {
            try await body(pipeline)
        } catch {
            failure = error
        }
        pipeline.finish()
        await writer
        if runDispatcher { dispatcher.finish() }
        await actions
        if let failure { throw failure }
        return report
    }

    private static func run(_ dispatcher: ActionDispatcher?) async {
        await dispatcher?.run()
    }

    static func ingest(
        _ pipeline: Pipeline,
        _ id: String,
        destination: String,
        at receivedAt: Date = Date()
    ) async throws {
        let bytes = body(id, destination: destination)
        let event = try CallEvent.decode(String(decoding: bytes, as: UTF8.self))
        #expect(try await pipeline.ingest(event, body: bytes, receivedAt: receivedAt) == .accepted)
    }

}
