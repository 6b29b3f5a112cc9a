/// Where one action of an alert stands: the status the outbox stores (its raw values are the `status` column),
/// the dispatcher reports in each `ActionOutcome`, and the alerts listing shows.
public enum OutboxStatus: String, Sendable {
    /// Not final: the action has yet to run, or a retry is scheduled at its `notBefore`.
    case pending
    /// Held for its rule's group: sent with the group's notification (then `pending` until it ends).
    case waiting
    case success
    case failure
    case timeout

    /// Whether the action is done: every status but `pending` and `waiting`.
    public var isFinal: Bool { self != .pending && self != .waiting }

    /// The `outcome` label of `callwatch_actions_total`: the status itself for a final one, `retry` for an attempt
    /// that will be tried again.
    public var metricOutcome: String {
        switch self {
        case .pending: "retry"
        case .waiting: "waiting"
        case .success, .failure, .timeout: rawValue
        }
    }
}
