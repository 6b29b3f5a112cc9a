import Foundation

/// One action of one fired alert, waiting to run.
public struct PendingAction: Sendable {
    public let alert: Alert
    public var actionIndex: Int
    public var action: ActionSpec
    /// Attempts already made (non-zero when a retry resumes after a restart).
    public var attempts: Int
    /// When a resumed retry is due.
    public var notBefore: Date?
    /// What the action renders from, built from `alert` and shared with the other actions of the alert.
    public let rendering: AlertRendering

    /// `rendering` defaults to one built from `alert`: an action resumed after a restart comes alone.
    public init(
        alert: Alert,
        actionIndex: Int,
        action: ActionSpec,
        attempts: Int = 0,
        notBefore: Date? = nil,
        rendering: AlertRendering? = nil
    ) {
        self.alert = alert
        self.actionIndex = actionIndex
        self.action = action
        self.attempts = attempts
        self.notBefore = notBefore
        self.rendering = rendering ?? AlertRendering(alert: alert)
    }

    /// Every action of `alert`, in order, sharing one rendering.
    static func all(for alert: Alert, actions: [ActionSpec]) -> [PendingAction] {
        guard !actions.isEmpty else { return [] }
        let rendering = AlertRendering(alert: alert)
        return actions.enumerated().map { index, action in
            PendingAction(alert: alert, actionIndex: index, action: action, rendering: rendering)
        }
    }
}
