import Foundation

/// What the journal's writer handles, one queue, in arrival order. See docs/design.md.
enum WriterMessage: Sendable {
    /// An admitted event, answered once its batch is committed.
    case event(Submission)
    /// How an action's attempt ended; recorded in the next batch's transaction.
    case outcome(ActionOutcome)
    /// New rules, live from the next message on; `done(true)` is called (on the writer thread) once they are,
    /// `done(false)` if they never will be.
    case reload(RuleSet, done: @Sendable (Bool) -> Void)
    /// The silences stored now (after one was added or expired): in force from the next message on.
    case silences([Silence])
    /// The clock: time-driven work (expiring keys) happens here, in order with events.
    case tick(Date)
}

/// An admitted event and who waits for its answer.
struct Submission: Sendable {
    var entry: JournalEntry
    var completion: @Sendable (Result<Pipeline.IngestOutcome, any Error>) -> Void
}
