import Foundation

/// One accepted event as the journal keeps it: its identity, when it was received, and the body as received.
public struct JournalEntry: Sendable {
    public var identity: String
    public var receivedAt: Date
    public var body: Data
    /// The decoded event, carried along so the pipeline never decodes twice (not stored).
    public var event: CallEvent?

    public init(identity: String, receivedAt: Date, body: Data, event: CallEvent? = nil) {
        self.identity = identity
        self.receivedAt = receivedAt
        self.body = body
        self.event = event
    }
}

/// A fired alert and the actions it owes, committed together with the events that fired it.
public struct AlertRecord: Sendable {
    public var alert: Alert
    /// `ActionSpec.kind` of each action, by index.
    public var actionKinds: [String]

    public init(alert: Alert, actionKinds: [String]) {
        self.alert = alert
        self.actionKinds = actionKinds
    }
}

/// An action not yet done, read back after a restart.
public struct OutboxEntry: Sendable {
    public var alertJSON: String
    public var actionIndex: Int
    public var kind: String
    public var attempts: Int
    public var notBefore: Date?
}

/// A recent alert with its actions' outcomes, for `callwatch alerts` and `GET /api/v1/alerts`.
public struct AlertSummary: Sendable {
    public struct Action: Sendable {
        public var index: Int
        public var kind: String
        public var status: OutboxStatus
        public var attempts: Int
        public var reason: String?
    }

    public var id: String
    public var rule: String
    public var key: String
    public var firedAt: Date
    public var actions: [Action]
}

/// The one small protocol between the pipeline and its storage (SPEC §6): append events (evaluating them in the
/// same transaction), record alerts with their outbox, mark actions done, read back for recovery. A second backend
/// (PostgreSQL for several instances sharing a journal) implements this and nothing else changes.
public protocol EventStore: Sendable {
    /// In one transaction: insert each entry unless its identity is already journaled, pass the new ones (in
    /// order) to `evaluate`, and record the alerts it returns with their pending actions. Returns, per entry,
    /// whether it was new. Called by the pipeline's writer thread, one batch at a time, and expected to block until
    /// the transaction is durable (it is the one call on the request path: no hop to another executor).
    func append(
        _ entries: [JournalEntry],
        evaluate: ([JournalEntry]) -> [AlertRecord]
    ) throws -> [Bool]

    /// Records progress of an action: done (`status` final) or a retry scheduled at `notBefore` (`pending`).
    func updateAction(
        alertID: String,
        index: Int,
        status: OutboxStatus,
        attempts: Int,
        reason: String?,
        notBefore: Date?
    ) async throws

    /// Calls `body` with each journal entry received at or after `since`, in journal order, reading in a stream
    /// (recovery of a large journal does not hold it in memory). Returns how many there were.
    func forEachEntry(since: Date, _ body: @Sendable (JournalEntry) -> Void) async throws -> Int

    /// Ids of the alerts fired at or after `since`.
    func alertIDs(since: Date) async throws -> Set<String>

    /// Actions still pending.
    func pendingActions() async throws -> [OutboxEntry]

    /// The newest alerts with their actions.
    func recentAlerts(limit: Int) async throws -> [AlertSummary]

    /// Deletes journal entries and finished alerts older than `before`, in small batches; returns rows deleted.
    func prune(before: Date) async throws -> Int
}
