import Foundation

/// When the alerts of rules with `group: {wait, interval}` go out: a value the journal's writer owns, driven by the
/// alerts' times and its clock ticks, so a test plays a timeline with plain dates.
///
/// The first alert of a rule opens a group that is sent `wait` after it; every alert of the rule (any key) until
/// then joins it. Once a group is sent, the rule's next alerts form the next group, sent `interval` after the last
/// notification; an alert that comes when `interval` has already passed opens a new group with its own `wait`.
struct NotificationGroups: Sendable {
    /// Alerts of one rule waiting to be sent together.
    struct Pending: Sendable {
        var rule: String
        /// In the order they fired; each alert once.
        var members: [Alert]
        /// When the group is sent (at the first tick at or after it).
        var due: Date
        /// The actions the members wait for: index in the rule → kind, as when they fired.
        var actions: [Int: String]
    }

    private(set) var pending: [String: Pending] = [:]
    /// When each rule's last group was sent.
    private(set) var lastSent: [String: Date] = [:]

    var isEmpty: Bool { pending.isEmpty }

    /// Adds `alert`, waiting for `actions` (index → kind), to its rule's group, opening one if none waits.
    mutating func add(_ alert: Alert, group: Rule.Group, actions: [Int: String]) {
        if pending[alert.rule] != nil {
            pending[alert.rule]?.members.append(alert)
            pending[alert.rule]?.actions.merge(actions) { $1 }
            return
        }
        var due = alert.firedAt.addingTimeInterval(group.wait.seconds)
        if let last = lastSent[alert.rule] {
            let next = last.addingTimeInterval(group.interval.seconds)
            if next > alert.firedAt { due = next }
        }
        pending[alert.rule] = Pending(rule: alert.rule, members: [alert], due: due, actions: actions)
    }

    /// Puts back an alert the outbox holds as waiting (recovery): its group is due `wait` after the group's first
    /// alert, or now if that has passed. The same alert read again (one row per action) is added once.
    mutating func restore(_ alert: Alert, group: Rule.Group?, actionIndex: Int, kind: String) {
        guard let existing = pending[alert.rule] else {
            let due = alert.firedAt.addingTimeInterval(group?.wait.seconds ?? 0)
            pending[alert.rule] = Pending(rule: alert.rule, members: [alert], due: due, actions: [actionIndex: kind])
            return
        }
        pending[alert.rule]?.actions[actionIndex] = kind
        if existing.members.last?.deliveryID != alert.deliveryID,
            !existing.members.contains(where: { $0.deliveryID == alert.deliveryID })
        {
            pending[alert.rule]?.members.append(alert)
        }
    }

    /// The rules with a group waiting.
    var rules: [String] { Array(pending.keys) }

    /// Moves a rule's group forward to `date` (its rule lost its `group`, or left the file: nothing to wait for).
    mutating func hasten(rule: String, to date: Date) {
        if let due = pending[rule]?.due, due > date { pending[rule]?.due = date }
    }

    /// The groups due at `now`, soonest first. They stay pending until `sent` says they went out.
    func due(at now: Date) -> [Pending] {
        pending.values.filter { $0.due <= now }.sorted { ($0.due, $0.rule) < ($1.due, $1.rule) }
    }

    /// The group of `rule` went out at `now`: the rule's next alerts wait for `interval` from here.
    mutating func sent(rule: String, at now: Date) {
        pending[rule] = nil
        lastSent[rule] = now
    }

    /// The id of a group's notification (its Idempotency-Key, `CALLWATCH_ALERT_ID`): made from its first alert,
    /// which belongs to no other group.
    static func id(of members: [Alert]) -> String {
        (members.first?.deliveryID ?? "") + "~group"
    }
}
