import Foundation

/// The one protocol between the pipeline and its storage: a unit of work for the journal's writer, reads for
/// recovery, and the listings and pruning the rest of the daemon needs. The store never calls into the pipeline;
/// a second backend (PostgreSQL, for several instances sharing one journal) implements this and nothing else
/// changes. See docs/design.md.
public protocol EventStore: Sendable {
    /// Opens a write transaction, runs `work` in it and commits; returns once the commit is durable. A throw from
    /// `work` or the commit rolls everything back. Called by the journal's writer thread, one batch at a time: it
    /// blocks (it is the one call on the request path, with no hop to another executor).
    func write<T>(_ work: (any JournalTransaction) throws -> T) throws -> T

    /// Calls `body` with each journal entry received at or after `since`, in journal order, reading in a stream
    /// (recovery of a large journal does not hold it in memory). Returns how many there were.
    func forEachEntry(since: Date, _ body: (JournalEntry) throws -> Void) throws -> Int

    /// Ids of the alerts fired at or after `since`.
    func alertIDs(since: Date) throws -> Set<String>

    /// The recorded alerts of the rules named `rules` fired at or after `since`, oldest first (each with the
    /// `repetition` its stored id carries): what recovery sets the condition rules' lifecycles from.
    func alerts(rules: [String], since: Date) throws -> [Alert]

    /// Every stored silence (active, pending and expired), soonest end first.
    func silences() throws -> [Silence]

    /// Stores a silence, replacing the one with its id (how one is expired: its end moved to now).
    func save(_ silence: Silence) throws

    /// Actions still pending or waiting for their rule's group, oldest alert first.
    func pendingActions() throws -> [OutboxEntry]

    /// The newest alerts with their actions.
    func recentAlerts(limit: Int) async throws -> [AlertSummary]

    /// Deletes journal entries and finished alerts older than `before`, in small batches; returns rows deleted.
    func prune(before: Date) async throws -> Int
}

/// What a batch may do inside the writer's transaction.
public protocol JournalTransaction {
    /// Inserts each entry unless its identity is already journaled; returns, per entry, whether it was new.
    func insert(_ entries: [JournalEntry]) throws -> [Bool]

    /// Records fired alerts with one outbox row per action: pending, or waiting for the rule's group.
    func record(_ alerts: [AlertRecord]) throws

    /// Sends the waiting rows of `alertIDs` as the group `id`: pending from now, updated together by id and index.
    func group(_ id: String, alertIDs: [String]) throws

    /// Records actions' progress.
    func record(_ updates: [OutboxUpdate]) throws
}
