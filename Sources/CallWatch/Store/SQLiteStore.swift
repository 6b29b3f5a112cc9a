import Foundation
import GRDB
import Synchronization

/// The embedded store: SQLite in WAL mode through GRDB. One writer connection does all writes, so concurrent
/// requests' events are committed together (group commit: see docs/design.md).
public final class SQLiteStore: EventStore {
    public static let schemaVersion = 6
    /// WAL size (4 KiB frames) past which the writer finishes a checkpoint itself so the WAL starts over. Small:
    /// the writer's pause grows with the WAL, and a WAL that is rewritten in place rather than grown is cheaper to
    /// sync (BENCHMARKS.md has the measurements; docs/design.md the mechanism).
    let rewindFrames: Int

    let pool: DatabasePool
    let path: String
    let checkpointer = Mutex<DatabaseQueue?>(nil)
    /// Set by `checkpoint()` when the WAL has grown past `rewindFrames`; see `write`.
    let rewindWanted = Atomic<Bool>(false)
    /// Held by whichever checkpoint runs, the background one or the writer's: SQLite answers a second checkpoint
    /// SQLITE_BUSY, so without it they fail each other.
    let checkpointing = Mutex<Void>(())

    public enum OpenError: Error, CustomStringConvertible {
        case cannotOpen(path: String, reason: String)

        public var description: String {
            switch self {
            case .cannotOpen(let path, let reason): "cannot open the store at \(path): \(reason)"
            }
        }
    }

    /// Opens (creating and migrating on first start) the store at `path`.
    /// `rewindFrames` is for tests.
    public init(path: String, rewindFrames: Int = 256) throws {
        self.path = path
        self.rewindFrames = rewindFrames
        var configuration = Configuration()
        configuration.label = "callwatch.store"
        configuration.busyMode = .timeout(5)
        configuration.prepareDatabase { db in
            // A burst can grow the WAL past what steady checkpoints need; give the space back when it starts over.
            try db.execute(sql: "PRAGMA journal_size_limit = \(32 << 20)")
        }
        do {
            let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
            if !FileManager.default.fileExists(atPath: directory) {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            }
            pool = try DatabasePool(path: path, configuration: configuration)
            // FULL: each commit is on disk before its 200 is sent (NORMAL survives a crash of the process, not a
            // power loss); group commit keeps the cost shared. Set here, not in `prepareDatabase`: the pool sets
            // NORMAL on its writer when it turns WAL on, after that has run.
            try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
            try Self.migrator.migrate(pool)
            try pool.read { db in
                let check = try String.fetchOne(db, sql: "PRAGMA quick_check") ?? "unknown"
                if check != "ok" { throw OpenError.cannotOpen(path: path, reason: "integrity check failed: \(check)") }
            }
        } catch let error as OpenError {
            throw error
        } catch let error as DatabaseError {
            throw OpenError.cannotOpen(path: path, reason: error.message ?? "\(error.resultCode)")
        } catch {
            throw OpenError.cannotOpen(path: path, reason: "\(error)")
        }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE events (
                        seq INTEGER PRIMARY KEY AUTOINCREMENT,
                        identity TEXT NOT NULL UNIQUE,
                        received_at REAL NOT NULL,
                        body BLOB NOT NULL
                    );
                    CREATE INDEX events_received_at ON events(received_at);
                    CREATE TABLE alerts (
                        id TEXT PRIMARY KEY,
                        rule TEXT NOT NULL,
                        key TEXT NOT NULL,
                        fired_at REAL NOT NULL,
                        body TEXT NOT NULL
                    );
                    CREATE INDEX alerts_fired_at ON alerts(fired_at);
                    CREATE TABLE outbox (
                        alert_id TEXT NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
                        action_index INTEGER NOT NULL,
                        kind TEXT NOT NULL,
                        status TEXT NOT NULL DEFAULT 'pending',
                        attempts INTEGER NOT NULL DEFAULT 0,
                        reason TEXT,
                        not_before REAL,
                        updated_at REAL,
                        PRIMARY KEY (alert_id, action_index)
                    );
                    CREATE INDEX outbox_pending ON outbox(status) WHERE status = 'pending';
                    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                    INSERT INTO meta (key, value) VALUES ('schema_version', '1');
                    """
            )
        }
        // `seq` without AUTOINCREMENT: SQLite then takes the largest rowid + 1 instead of reading and updating
        // `sqlite_sequence` on every insert (BENCHMARKS.md). Journal order is kept: a new
        // row's seq is above every row present, and only pruning deletes rows.
        migrator.registerMigration("v2") { db in
            try db.execute(
                sql: """
                    CREATE TABLE events_v2 (
                        seq INTEGER PRIMARY KEY,
                        identity TEXT NOT NULL UNIQUE,
                        received_at REAL NOT NULL,
                        body BLOB NOT NULL
                    );
                    INSERT INTO events_v2 (seq, identity, received_at, body)
                        SELECT seq, identity, received_at, body FROM events ORDER BY seq;
                    DROP TABLE events;
                    ALTER TABLE events_v2 RENAME TO events;
                    CREATE INDEX events_received_at ON events(received_at);
                    DELETE FROM sqlite_sequence WHERE name = 'events';
                    UPDATE meta SET value = '2' WHERE key = 'schema_version';
                    """
            )
        }
        // The envelope of each event of an alert (namespace, eventType…), which the alert JSON leaves out: an
        // action resumed after a restart renders `{{eventType}}` as the live one did.
        migrator.registerMigration("v3") { db in
            try db.execute(
                sql: """
                    ALTER TABLE alerts ADD COLUMN envelopes TEXT;
                    UPDATE meta SET value = '3' WHERE key = 'schema_version';
                    """
            )
        }
        // Identities namespaced by event type (8x8's eventIds are unique per event, not across event types): an
        // event journaled as `eventId` becomes `eventType:eventId`, with the type the event decoder uses (the
        // envelope's, else the payload's, else CALL_STATUS), so a redelivery after the upgrade is still a
        // duplicate. Session summaries (`SESSION_SUMMARY:sessionId`) were namespaced already.
        migrator.registerMigration("v4") { db in
            try db.execute(
                sql: """
                    UPDATE OR IGNORE events SET identity = coalesce(
                            CASE WHEN json_type(CAST(body AS TEXT), '$.eventType') = 'text'
                                THEN json_extract(CAST(body AS TEXT), '$.eventType') END,
                            CASE WHEN json_type(CAST(body AS TEXT), '$.payload.eventType') = 'text'
                                THEN json_extract(CAST(body AS TEXT), '$.payload.eventType') END,
                            'CALL_STATUS')
                        || ':' || json_extract(CAST(body AS TEXT), '$.payload.eventId')
                    WHERE json_valid(CAST(body AS TEXT))
                        AND json_type(CAST(body AS TEXT), '$.payload.eventId') = 'text'
                        AND json_extract(CAST(body AS TEXT), '$.payload.eventId') != ''
                        AND identity = json_extract(CAST(body AS TEXT), '$.payload.eventId');
                    UPDATE meta SET value = '4' WHERE key = 'schema_version';
                    """
            )
        }
        // Silences (their API JSON, with the end for listing), and alerts a silence muted.
        migrator.registerMigration("v5") { db in
            try db.execute(
                sql: """
                    CREATE TABLE silences (id TEXT PRIMARY KEY, ends_at REAL NOT NULL, body TEXT NOT NULL);
                    ALTER TABLE alerts ADD COLUMN silenced INTEGER NOT NULL DEFAULT 0;
                    UPDATE meta SET value = '5' WHERE key = 'schema_version';
                    """
            )
        }
        // Grouped notifications: an action waiting for its rule's group, then the group it was sent with.
        migrator.registerMigration("v6") { db in
            try db.execute(
                sql: """
                    ALTER TABLE outbox ADD COLUMN group_id TEXT;
                    CREATE INDEX outbox_group ON outbox(group_id) WHERE group_id IS NOT NULL;
                    CREATE INDEX outbox_waiting ON outbox(status) WHERE status = 'waiting';
                    UPDATE meta SET value = '6' WHERE key = 'schema_version';
                    """
            )
        }
        return migrator
    }

    public func write<T>(_ work: (any JournalTransaction) throws -> T) throws -> T {
        try pool.writeWithoutTransaction { db in
            // Under steady load the background checkpoint never catches up with the last commit, and SQLite only
            // starts the WAL over when every frame is in the database: the WAL would grow without end. Here, with
            // no commit in flight, the frames written since the checkpointer's last pass are copied (it passes
            // again until those are under 64), and the transaction below starts the WAL from the beginning.
            // If the background checkpoint is running, the next batch does it. A failure only means the WAL does
            // not start over this time: never a reason to fail the batch.
            if rewindWanted.exchange(false, ordering: .relaxed) {
                let done = checkpointing.withLockIfAvailable { _ in (try? db.checkpoint(.passive)) != nil }
                if done != true { rewindWanted.store(true, ordering: .relaxed) }
            }
            var result: T?
            try db.inTransaction {
                result = try work(Transaction(db: db))
                return .commit
            }
            return result!
        }
    }

    /// The writer's unit of work on its open transaction; lives only inside `write`.
    struct Transaction: JournalTransaction {
        let db: Database

        func insert(_ entries: [JournalEntry]) throws -> [Bool] {
            let insert = try db.cachedStatement(
                sql: "INSERT OR IGNORE INTO events (identity, received_at, body) VALUES (?, ?, ?)"
            )
            var inserted: [Bool] = []
            inserted.reserveCapacity(entries.count)
            for entry in entries {
                try insert.execute(arguments: [
                    Self.storable(entry.identity), entry.receivedAt.timeIntervalSince1970, entry.body,
                ])
                inserted.append(db.changesCount > 0)
            }
            return inserted
        }

        /// An identity as the unique index holds it: text, or (holding a NUL, which SQLite's text binding would cut
        /// the string at) its UTF-8 bytes as a blob. A blob never equals a text value, and blobs compare byte by
        /// byte, so `a\u{0}b` and `a\u{0}c` stay two identities and no text identity changes.
        static func storable(_ identity: String) -> any DatabaseValueConvertible {
            identity.utf8.contains(0) ? Data(identity.utf8) : identity
        }

        func record(_ alerts: [AlertRecord]) throws {
            guard !alerts.isEmpty else { return }
            let insertAlert = try db.cachedStatement(
                sql: """
                    INSERT OR IGNORE INTO alerts (id, rule, key, fired_at, body, envelopes, silenced)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """
            )
            let insertAction = try db.cachedStatement(
                sql: """
                    INSERT OR IGNORE INTO outbox (alert_id, action_index, kind, status, updated_at)
                    VALUES (?, ?, ?, ?, ?)
                    """
            )
            for record in alerts {
                let alert = record.alert
                let firedAt = alert.firedAt.timeIntervalSince1970
                try insertAlert.execute(arguments: [
                    alert.deliveryID, alert.rule, alert.keyText, firedAt, alert.jsonString, alert.envelopesJSON,
                    record.silenced,
                ])
                for (index, kind) in record.actionKinds.enumerated() where !record.silenced {
                    let status: OutboxStatus = record.waiting.contains(index) ? .waiting : .pending
                    try insertAction.execute(arguments: [alert.deliveryID, index, kind, status.rawValue, firedAt])
                }
            }
        }

        func group(_ id: String, alertIDs: [String]) throws {
            let update = try db.cachedStatement(
                sql: "UPDATE outbox SET status = 'pending', group_id = ? WHERE alert_id = ? AND status = 'waiting'"
            )
            for alertID in alertIDs { try update.execute(arguments: [id, alertID]) }
        }

        func record(_ updates: [OutboxUpdate]) throws {
            guard !updates.isEmpty else { return }
            let update = try db.cachedStatement(
                sql: """
                    UPDATE outbox SET status = ?, attempts = ?, reason = ?, not_before = ?, updated_at = ?
                    WHERE alert_id = ? AND action_index = ?
                    """
            )
            let updateGroup = try db.cachedStatement(
                sql: """
                    UPDATE outbox SET status = ?, attempts = ?, reason = ?, not_before = ?, updated_at = ?
                    WHERE group_id = ? AND action_index = ?
                    """
            )
            let now = Date().timeIntervalSince1970
            for outcome in updates {
                try (outcome.group ? updateGroup : update).execute(arguments: [
                    outcome.status.rawValue, outcome.attempts, outcome.reason,
                    outcome.notBefore?.timeIntervalSince1970, now, outcome.alertID, outcome.actionIndex,
                ])
            }
        }
    }

    /// Moves checkpoints off the commit path: the writer stops checkpointing when it commits (SQLite's default is
    /// after every ~1,000 WAL pages, which stalls the batch whose commit crossed the line), and `checkpoint()` from
    /// a connection of its own copies the WAL back into the database without blocking the writer. Call it
    /// periodically from then on, or the WAL only grows.
    public func checkpointInBackground() throws {
        try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_autocheckpoint = 0") }
        checkpointer.withLock { connection in
            if connection == nil {
                var configuration = Configuration()
                configuration.label = "callwatch.checkpoint"
                configuration.busyMode = .timeout(5)
                connection = try? DatabaseQueue(path: path, configuration: configuration)
            }
        }
    }

    /// A passive checkpoint: copies what it can of the WAL into the database without waiting for the writer.
    /// Returns the WAL's frame count and how many of them are now in the database (nil before
    /// `checkpointInBackground()`).
    @discardableResult
    public func checkpoint() async throws -> (walFrames: Int, checkpointed: Int)? {
        guard let connection = checkpointer.withLock({ $0 }) else { return nil }
        return try await connection.writeWithoutTransaction { db in
            try checkpointing.withLock { _ in try passiveCheckpoint(db) }
        }
    }

    func passiveCheckpoint(_ db: Database) throws -> (walFrames: Int, checkpointed: Int) {
        var result = try db.checkpoint(.passive)
        if result.walFrameCount >= rewindFrames {
            // Again for what was committed while the last pass ran, until that is little, so the writer's share
            // (see `append`) stays small.
            for _ in 0..<4 {
                let before = result.walFrameCount
                result = try db.checkpoint(.passive)
                if result.walFrameCount - before < 64 { break }
            }
            rewindWanted.store(true, ordering: .relaxed)
        }
        return (result.walFrameCount, result.checkpointedFrameCount)
    }

    /// Records actions' progress in a transaction of its own (tools and tests; the writer groups them).
    public func record(_ updates: [OutboxUpdate]) throws {
        try write { try $0.record(updates) }
    }

    /// Journal entries received at or after `since`, in journal order, all at once (tools and tests; recovery
    /// streams with `forEachEntry`).
    public func entries(since: Date) throws -> [JournalEntry] {
        var collected: [JournalEntry] = []
        _ = try forEachEntry(since: since) { collected.append($0) }
        return collected
    }

    public func forEachEntry(since: Date, _ body: (JournalEntry) throws -> Void) throws -> Int {
        try pool.read { db in
            let rows = try Row.fetchCursor(
                db,
                sql: "SELECT identity, received_at, body FROM events WHERE received_at >= ? ORDER BY seq",
                arguments: [since.timeIntervalSince1970]
            )
            var count = 0
            while let row = try rows.next() {
                let bytes: Data = row[2]
                // An identity holding a NUL is stored as its bytes (`Transaction.storable`).
                let identity: String =
                    switch (row[0] as DatabaseValue).storage {
                    case .blob(let data): String(decoding: data, as: UTF8.self)
                    default: row[0]
                    }
                try body(JournalEntry(identity: identity, receivedAt: Date(timeIntervalSince1970: row[1]), body: bytes))
                count += 1
            }
            return count
        }
    }

    public func alertIDs(since: Date) throws -> Set<String> {
        try pool.read { db in
            Set(
                try String.fetchAll(
                    db,
                    sql: "SELECT id FROM alerts WHERE fired_at >= ?",
                    arguments: [since.timeIntervalSince1970]
                )
            )
        }
    }

    public func alerts(rules: [String], since: Date) throws -> [Alert] {
        guard !rules.isEmpty else { return [] }
        return try pool.read { db in
            let marks = Array(repeating: "?", count: rules.count).joined(separator: ", ")
            var arguments = StatementArguments(rules)
            arguments += [since.timeIntervalSince1970]
            return try Row.fetchAll(
                db,
                sql: "SELECT id, body FROM alerts WHERE rule IN (\(marks)) AND fired_at >= ? ORDER BY fired_at, id",
                arguments: arguments
            ).compactMap { row in
                guard var alert = Alert(json: row[1]) else { return nil }
                alert.repetition = Alert.repetition(ofDeliveryID: row[0])
                alert.deliveryID = row[0]
                return alert
            }
        }
    }

    public func silences() throws -> [Silence] {
        try pool.read { db in
            try String.fetchAll(db, sql: "SELECT body FROM silences ORDER BY ends_at, id").compactMap { body in
                (try? JSONParser.parse(body)).flatMap { try? Silence(json: $0) }
            }
        }
    }

    public func save(_ silence: Silence) throws {
        try pool.write { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO silences (id, ends_at, body) VALUES (?, ?, ?)",
                arguments: [silence.id, silence.endsAt.timeIntervalSince1970, JSONWriter.string(silence.json)]
            )
        }
    }

    /// Pending and waiting actions with their alerts. An alert whose stored JSON cannot be read back is skipped (it would
    /// render nothing useful); its rows stay pending for an operator to see in `callwatch alerts`.
    public func pendingActions() throws -> [OutboxEntry] {
        try pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT alerts.body, alerts.envelopes, outbox.action_index, outbox.kind, outbox.attempts,
                        outbox.not_before, alerts.id, outbox.status, outbox.group_id
                    FROM outbox JOIN alerts ON alerts.id = outbox.alert_id
                    WHERE outbox.status IN ('pending', 'waiting') ORDER BY alerts.fired_at, outbox.action_index
                    """
            ).compactMap { row in
                guard var alert = Alert(json: row[0], envelopes: row[1]) else { return nil }
                alert.repetition = Alert.repetition(ofDeliveryID: row[6])
                alert.deliveryID = row[6]
                let notBefore: Double? = row[5]
                return OutboxEntry(
                    alert: alert,
                    actionIndex: row[2],
                    kind: row[3],
                    attempts: row[4],
                    notBefore: notBefore.map(Date.init(timeIntervalSince1970:)),
                    waiting: row[7] == OutboxStatus.waiting.rawValue,
                    groupID: row[8]
                )
            }
        }
    }

    public func recentAlerts(limit: Int) async throws -> [AlertSummary] {
        try await pool.read { db in
            let alerts = try Row.fetchAll(
                db,
                sql: "SELECT id, rule, key, fired_at, silenced FROM alerts ORDER BY fired_at DESC, id LIMIT ?",
                arguments: [limit]
            )
            return try alerts.map { row in
                let id: String = row[0]
                let actions = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT action_index, kind, status, attempts, reason FROM outbox
                        WHERE alert_id = ? ORDER BY action_index
                        """,
                    arguments: [id]
                ).map { row in
                    AlertSummary.Action(
                        index: row[0],
                        kind: row[1],
                        status: OutboxStatus(rawValue: row[2]) ?? .failure,
                        attempts: row[3],
                        reason: row[4]
                    )
                }
                return AlertSummary(
                    id: id,
                    rule: row[1],
                    key: row[2],
                    firedAt: Date(timeIntervalSince1970: row[3]),
                    silenced: row[4],
                    actions: actions
                )
            }
        }
    }

    /// Number of actions still pending.
    public func pendingCount() throws -> Int {
        try pool.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM outbox WHERE status = 'pending'") ?? 0
        }
    }

    public func prune(before: Date) async throws -> Int {
        var total = 0
        let cutoff = before.timeIntervalSince1970
        // Small batches: each is a short write transaction, so ingest's commits interleave.
        while true {
            let deleted = try await pool.write { db in
                try db.execute(
                    sql: """
                        DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE received_at < ? LIMIT 5000)
                        """,
                    arguments: [cutoff]
                )
                var count = db.changesCount
                try db.execute(
                    sql: """
                        DELETE FROM alerts WHERE id IN (
                            SELECT id FROM alerts WHERE fired_at < ? AND NOT EXISTS (
                                SELECT 1 FROM outbox WHERE outbox.alert_id = alerts.id
                                    AND outbox.status IN ('pending', 'waiting'))
                            LIMIT 5000)
                        """,
                    arguments: [cutoff]
                )
                count += db.changesCount
                return count
            }
            total += deleted
            if deleted == 0 { return total }
            await Task.yield()
        }
    }
}
