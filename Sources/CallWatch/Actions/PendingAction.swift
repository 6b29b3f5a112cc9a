import Foundation

/// One action of one fired alert, waiting to run.
public struct PendingAction: Sendable {
    public var alert: Alert
    public var actionIndex: Int
    public var action: ActionSpec
    /// Attempts already made (non-zero when a retry resumes after a restart).
    public var attempts: Int
    /// When a resumed retry is due.
    public var notBefore: Date?

    public init(alert: Alert, actionIndex: Int, action: ActionSpec, attempts: Int = 0, notBefore: Date? = nil) {
        self.alert = alert
        self.actionIndex = actionIndex
        self.action = action
        self.attempts = attempts
        self.notBefore = notBefore
    }
}
