import Foundation

/// An action not yet done (or waiting for its rule's group), read back after a restart: the alert as it fired (envelopes included, so the action
/// renders as it would have live) and where its attempts stand.
public struct OutboxEntry: Sendable {
    public var alert: Alert
    public var actionIndex: Int
    public var kind: String
    public var attempts: Int
    public var notBefore: Date?
    /// Held for its rule's group, not yet sent.
    public var waiting: Bool
    /// The group it was sent with: every row of that id and index is one notification.
    public var groupID: String?

    public init(
        alert: Alert,
        actionIndex: Int,
        kind: String,
        attempts: Int,
        notBefore: Date?,
        waiting: Bool = false,
        groupID: String? = nil
    ) {
        self.alert = alert
        self.actionIndex = actionIndex
        self.kind = kind
        self.attempts = attempts
        self.notBefore = notBefore
        self.waiting = waiting
        self.groupID = groupID
    }
}
