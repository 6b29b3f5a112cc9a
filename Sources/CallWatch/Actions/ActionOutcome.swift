import Foundation

/// What the dispatcher reports after an attempt of an action: a final outcome (success, failure or timeout, once
/// the retries are spent) or, before each retry, a `pending` one with the retry's time in `notBefore`.
public struct ActionOutcome: Sendable {
    public var alertID: String
    public var rule: String
    public var actionIndex: Int
    public var kind: String
    public var status: OutboxStatus
    public var attempts: Int
    public var reason: String?
    public var duration: Duration
    public var notBefore: Date? = nil
    /// `alertID` is a group's id: the outcome is that of every alert of the group.
    public var group = false
    /// False for a send the outbox does not hold (an Alertmanager re-send): nothing to record.
    public var recorded = true

    /// Whether the action is done (every status but `pending`).
    public var isFinal: Bool { status.isFinal }
}
