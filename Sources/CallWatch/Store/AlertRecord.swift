/// A fired alert and the actions it owes, committed together with the events that fired it.
public struct AlertRecord: Sendable {
    public var alert: Alert
    /// `ActionSpec.kind` of each action, by index.
    public var actionKinds: [String]
    /// A silence muted it: recorded without outbox rows.
    public var silenced: Bool
    /// Indexes of the actions that wait for the rule's group (their rows are `waiting`).
    public var waiting: Set<Int>

    public init(alert: Alert, actionKinds: [String], silenced: Bool = false, waiting: Set<Int> = []) {
        self.alert = alert
        self.actionKinds = actionKinds
        self.silenced = silenced
        self.waiting = waiting
    }
}
