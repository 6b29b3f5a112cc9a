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
