/// How one attempt of an action ended.
import Foundation

public enum AttemptResult: Sendable, Equatable {
    case success
    /// Worth another attempt (network error, timeout, 408/429/5xx); `retryAfter` from the server, if it said.
    case retryable(reason: String, retryAfter: Duration?)
    /// Not worth retrying (4xx, a command that cannot start).
    case failure(reason: String)
    case timeout(reason: String)
}

/// The final outcome of an action after its retries.
public struct ActionOutcome: Sendable {
    public var isFinal: Bool { status.isFinal }

    public var alertID: String
    public var rule: String
    public var actionIndex: Int
    public var kind: String
    public var status: OutboxStatus
    public var attempts: Int
    public var reason: String?
    public var duration: Duration
    public var notBefore: Date? = nil
}
