/// A compiled rule: what `when` selects, how state splits (`by`), what fires (`window`, `sequence`, or a condition
/// over time with its `timing`), how often (`cooldown`), and what happens (`actions`).
public struct Rule: Sendable {
    public struct Window: Sendable, Equatable {
        public var count: Int
        public var within: Duration
    }

    /// `group: {wait, interval}`: the rule's alerts (any key) batched into one notification per action.
    public struct Group: Sendable, Equatable {
        /// How long the first alert of a group waits for others.
        public var wait: Duration
        /// How long after a group's notification the next one of the rule may go.
        public var interval: Duration

        public init(wait: Duration = .seconds(30), interval: Duration = .seconds(300)) {
            self.wait = wait
            self.interval = interval
        }
    }

    public struct Sequence: Sendable {
        public var field: FieldPath
        public var pattern: CompiledRegex
        public var within: Duration
    }

    public var name: String
    public var description: String
    public var predicate: Predicate
    public var by: [FieldPath]
    public var window: Window?
    public var sequence: Sequence?
    public var cooldown: Duration
    /// `ratio`, `aggregate`, `absent` or `gauge`: a measure per key with a firing → resolved lifecycle.
    public var condition: RuleCondition?
    /// `for`, `keep_firing_for`, `repeat`, `send_resolved` of a condition rule.
    public var timing = ConditionTiming()
    /// The receivers `notify` names; their actions follow the rule's own in `actions`.
    public var notify: [String] = []
    /// What happens when it fires: the inline `actions`, then each `notify` receiver's, in order.
    public var actions: [ActionSpec]
    /// Batches the alerts of the rule for the actions that take a group (`ActionSpec.takesGroup`).
    public var group: Group?
    /// Line of the rule in its file, for messages.
    public var line: Int

    /// Everything that shapes a rule's state: state survives a reload only when this is unchanged.
    public var stateSignature: String {
        var parts = ["by=" + by.map(\.description).joined(separator: ",")]
        if let window { parts.append("window=\(window.count)/\(window.within)") }
        if let sequence { parts.append("sequence=\(sequence.field)/\(sequence.pattern.pattern)/\(sequence.within)") }
        parts.append("cooldown=\(cooldown)")
        if let condition {
            parts.append(condition.signature)
            parts.append("timing=\(timing.pending)/\(timing.keepFiringFor)/\(timing.repeatInterval ?? .zero)")
        }
        return parts.joined(separator: ";")
    }

    /// How long a key's state can matter after its last event: beyond this it can no longer fire.
    public var stateHorizon: Duration {
        var horizon = max(window?.within ?? .zero, sequence?.within ?? .zero, cooldown)
        if let condition { horizon = max(horizon, condition.span + timing.pending + timing.keepFiringFor) }
        return horizon
    }

    /// True when the rule keeps per-key state at all.
    public var isStateful: Bool { window != nil || sequence != nil || cooldown > .zero }

    /// Whether the action at `index` waits for the rule's group instead of running per alert.
    public func isGrouped(_ index: Int) -> Bool {
        group != nil && index < actions.count && actions[index].takesGroup
    }

    /// Whether an alert with `status` runs the rule's actions (`send_resolved: false` skips the resolved one).
    public func actions(for status: AlertStatus) -> [ActionSpec] {
        status == .resolved && !timing.sendResolved ? [] : actions
    }
}
