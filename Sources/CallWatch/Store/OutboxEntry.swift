import Foundation

/// An action not yet done, read back after a restart: the alert as it fired (envelopes included, so the action
/// renders as it would have live) and where its attempts stand.
public struct OutboxEntry: Sendable {
    public var alert: Alert
    public var actionIndex: Int
    public var kind: String
    public var attempts: Int
    public var notBefore: Date?

    public init(alert: Alert, actionIndex: Int, kind: String, attempts: Int, notBefore: Date?) {
        self.alert = alert
        self.actionIndex = actionIndex
        self.kind = kind
        self.attempts = attempts
        self.notBefore = notBefore
    }
}
