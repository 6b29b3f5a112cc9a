/// Where an action of a fired alert stands: the one vocabulary of the outbox, the dispatcher and the alerts listing.
public enum OutboxStatus: String, Sendable, CaseIterable {
    /// Not run yet, or failed an attempt with a retry scheduled.
    case pending
    case success
    case failure
    case timeout

    /// Done for good: the outbox will not run it again.
    public var isFinal: Bool { self != .pending }

    /// The `outcome` label of `callwatch_actions_total`: a pending action after an attempt is a retry.
    public var metricOutcome: String { self == .pending ? "retry" : rawValue }
}
