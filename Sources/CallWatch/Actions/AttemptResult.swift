/// How one attempt of an action ended; `RetryPolicy` decides what follows.
public enum AttemptResult: Sendable, Equatable {
    case success
    /// Worth another attempt (network error, timeout, 408/429/5xx); `retryAfter` from the server, if it said.
    case retryable(reason: String, retryAfter: Duration?)
    /// Not worth retrying (4xx, a command that cannot start).
    case failure(reason: String)
    case timeout(reason: String)
}
