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
    /// A group's notification: its alerts, in order (`alert` is the first, its `deliveryID` the group's id).
    /// Empty for one alert's action.
    public var members: [Alert] = []
    /// False for a send the outbox does not hold (an Alertmanager re-send): its outcome is not recorded.
    public var recorded = true

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

    /// Every action of `alert`, in order, sharing one rendering, but those at `skipping` (they wait for a group).
    static func all(for alert: Alert, actions: [ActionSpec], skipping: Set<Int> = []) -> [PendingAction] {
        guard actions.count > skipping.count else { return [] }
        let rendering = AlertRendering(alert: alert)
        return actions.enumerated().compactMap { index, action in
            skipping.contains(index)
                ? nil : PendingAction(alert: alert, actionIndex: index, action: action, rendering: rendering)
        }
    }

    /// The notification of a group of alerts by each of `actions` (index in the rule, action), sharing one
    /// rendering; `id` is the group's id (`NotificationGroups.id`).
    static func group(
        _ id: String,
        alerts: [Alert],
        actions: [(index: Int, action: ActionSpec)],
        attempts: Int = 0,
        notBefore: Date? = nil
    ) -> [PendingAction] {
        guard var lead = alerts.first else { return [] }
        lead.deliveryID = id
        let rendering = AlertRendering(group: id, alerts: alerts)
        return actions.map { index, action in
            var pending = PendingAction(
                alert: lead,
                actionIndex: index,
                action: action,
                attempts: attempts,
                notBefore: notBefore,
                rendering: rendering
            )
            pending.members = alerts
            return pending
        }
    }
}
