import CallWatchTestSupport
import Foundation
import GRDB
import Logging
import Synchronization
import Testing

@testable import CallWatch

/// The SQLite store on real files in a temporary directory: journal, outbox, retention, opening failures.
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

            let journal = try reopened.entries(since: .distantPast)
            #expect(journal.map(\.identity) == ["a", "b", "c"])
            #expect(journal.first?.body == StoreFixture.body("a"))
            #expect(
                abs((journal.first?.receivedAt.timeIntervalSince1970 ?? 0) - received.timeIntervalSince1970) < 0.001
            )
            #expect(try reopened.entries(since: Date().addingTimeInterval(60)).isEmpty)
        }
    }

    /// SQLite's text binding stops at a NUL: identities holding one are stored as bytes, so `a\0b` and `a\0c` are
    /// two events (not the second a duplicate of `a`), and a text identity `a` is a third.
    @Test func identitiesHoldingANULStayDistinct() async throws {
        try await withTemporaryDirectory(prefix: "callwatch-store") { directory in
            let path = directory + "/cw.db"
            func entry(_ identity: String) -> JournalEntry {
                var entry = StoreFixture.entry("x")
                entry.identity = identity
                return entry
            }
            let store = try SQLiteStore(path: path)
            let first = try store.append([entry("CALL_STATUS:a\u{0}b"), entry("CALL_STATUS:a\u{0}c")]) { _ in [] }
            #expect(first == [true, true])
            let again = try SQLiteStore(path: path).append(
                [entry("CALL_STATUS:a\u{0}b"), entry("CALL_STATUS:a"), entry("CALL_STATUS:a\u{0}c")]
            ) { _ in [] }
            #expect(again == [false, true, false])
            #expect(
                try SQLiteStore(path: path).entries(since: .distantPast).map(\.identity) == [
                    "CALL_STATUS:a\u{0}b", "CALL_STATUS:a\u{0}c", "CALL_STATUS:a",
                ]
            )
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
            let appended = try store.append(
                [StoreFixture.entry("CALL_STATUS:m4"), StoreFixture.entry("CALL_STATUS:m1")]
            ) { _ in [] }
            #expect(appended == [true, false])
            let (version, schema, seqs) = try await store.pool.read { db in
                (
                    try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'schema_version'"),
                    try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE name = 'events'") ?? "",
                    try Int.fetchAll(db, sql: "SELECT seq FROM events ORDER BY seq")
                )
            }
            #expect(version == String(SQLiteStore.schemaVersion))
            #expect(!schema.contains("AUTOINCREMENT"))
            #expect(seqs == [5, 9, 12, 13])
            #expect(
                try store.entries(since: .distantPast).map(\.identity) == [
                    "CALL_STATUS:m1", "CALL_STATUS:m2", "CALL_STATUS:m3", "CALL_STATUS:m4",
                ]
            )
        }
    }

    /// A store written before identities were namespaced by event type: each event's identity becomes
    /// `eventType:eventId` with the type its body says (CALL_STATUS when it says none), so a redelivery after the
    /// upgrade is still answered duplicate; session summaries, already namespaced, and bodies with no eventId keep
    /// theirs.
    @Test func aVersion3StoreIsMigratedToIdentitiesNamespacedByEventType() async throws {
        try await withTemporaryDirectory(prefix: "callwatch-store") { directory in
            let path = directory + "/cw.db"
            let rows: [(identity: String, body: String)] = [
                ("e1", #"{"eventType":"CALL_STATUS","payload":{"eventId":"e1","callStatus":"CALL_CONNECTED"}}"#),
                ("e2", #"{"eventType":"CALL_ACTION","payload":{"eventId":"e2","callStatus":"ACTION_COMPLETED"}}"#),
                ("e3", #"{"namespace":"VOICE","payload":{"eventId":"e3","callStatus":"CALL_INITIATED"}}"#),
                ("SESSION_SUMMARY:s1", #"{"eventType":"SESSION_SUMMARY","payload":{"sessionId":"s1"}}"#),
            ]
            do {
                let v3 = try DatabaseQueue(path: path)
                try SQLiteStore.migrator.migrate(v3, upTo: "v3")
                try await v3.write { db in
                    for row in rows {
                        try db.execute(
                            sql: "INSERT INTO events (identity, received_at, body) VALUES (?, ?, ?)",
                            arguments: [row.identity, Date().timeIntervalSince1970, Data(row.body.utf8)]
                        )
                    }
                }
            }
            let store = try SQLiteStore(path: path)
            #expect(
                try store.entries(since: .distantPast).map(\.identity) == [
                    "CALL_STATUS:e1", "CALL_ACTION:e2", "CALL_STATUS:e3", "SESSION_SUMMARY:s1",
                ]
            )
            // The same events delivered again after the upgrade: duplicates, in their namespaced form.
            let redelivered = try store.append(
                ["CALL_STATUS:e1", "CALL_ACTION:e2", "SESSION_SUMMARY:s1", "CALL_STATUS:e2"].map {
                    StoreFixture.entry($0)
                }
            ) { _ in [] }
            #expect(redelivered == [false, false, false, true])
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
            #expect(try reopened.entries(since: .distantPast).count == 2_000)
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
            #expect(try store.entries(since: .distantPast).count == 1_500)
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
            #expect(try store.entries(since: .distantPast).count == 2_000)
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
            let pending = try store.pendingActions()
            #expect(pending.map(\.actionIndex) == [0, 1])
            #expect(pending.map(\.attempts) == [0, 0])
            #expect(pending.compactMap { $0.alert.id } == ["alert-1", "alert-1"])
            #expect(try store.pendingCount() == 2)
            #expect(try store.entries(since: .distantPast).count == 3)
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
            try store.record([
                OutboxUpdate(
                    alertID: "alert-1",
                    actionIndex: 0,
                    status: .pending,
                    attempts: 2,
                    reason: "HTTP 503",
                    notBefore: retryAt
                )
            ])
            try store.record([OutboxUpdate(alertID: "alert-1", actionIndex: 1, status: .success, attempts: 1)])
            let pending = try store.pendingActions()
            #expect(pending.count == 1)
            #expect(pending.first?.actionIndex == 0)
            #expect(pending.first?.kind == "http")
            #expect(pending.first?.attempts == 2)
            #expect(abs((pending.first?.notBefore?.timeIntervalSince1970 ?? 0) - retryAt.timeIntervalSince1970) < 0.001)
            #expect(try store.pendingCount() == 1)

            try store.record([
                OutboxUpdate(alertID: "alert-1", actionIndex: 0, status: .failure, attempts: 21, reason: "HTTP 503")
            ])
            #expect(try store.pendingActions().isEmpty)
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
            try store.record([OutboxUpdate(alertID: "old-done", actionIndex: 0, status: .success, attempts: 1)])
            let recent = try StoreFixture.alert(id: "recent", completedBy: "new-0")
            _ = try store.append([StoreFixture.entry("new-0"), StoreFixture.entry("new-1")]) { _ in
                [AlertRecord(alert: recent, actionKinds: ["log"])]
            }

            let deleted = try await store.prune(before: Date().addingTimeInterval(-86400))

            #expect(deleted == 12_000 + 1)
            #expect(try store.entries(since: .distantPast).map(\.identity) == ["new-0", "new-1"])
            #expect(Set(try await store.recentAlerts(limit: 10).map(\.id)) == ["recent", "old-owing"])
            #expect(
                try store.pendingActions().compactMap { $0.alert.id } == [
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
}
