/// What follows an attempt of an action: finish with a status, or retry after a delay. A pure function of the
/// attempt's result, the attempts made and a jitter factor; the dispatcher draws the jitter and does what the
/// decision says.
///
/// The delay after attempt n is `backoffBase` × 2^(n-1), capped at `backoffCap`, then scaled by the jitter, in
/// whole milliseconds. A server's `Retry-After` replaces it (capped, not jittered).
public struct RetryPolicy: Sendable, Equatable {
    /// Attempts after the first.
    public var retries: Int
    /// The delay after the first attempt; doubles per attempt.
    public var backoffBase: Duration
    /// No delay, computed or from `Retry-After`, exceeds this.
    public var backoffCap: Duration

    public enum Decision: Sendable, Equatable {
        /// The action is done: `status` is final.
        case finish(OutboxStatus, reason: String?)
        /// Attempt again once `after` has passed.
        case retry(after: Duration, reason: String)
    }

    public init(retries: Int, backoffBase: Duration = .milliseconds(500), backoffCap: Duration = .seconds(60)) {
        self.retries = retries
        self.backoffBase = backoffBase
        self.backoffCap = backoffCap
    }

    /// `attempts`: attempts made so far, this one included. `jitter`, in 0.5...1, scales the computed backoff.
    public func decide(_ result: AttemptResult, attempts: Int, jitter: Double) -> Decision {
        switch result {
        case .success:
            return .finish(.success, reason: nil)
        case .failure(let reason):
            return .finish(.failure, reason: reason)
        case .retryable(let reason, let retryAfter):
            guard attempts <= retries else { return .finish(.failure, reason: reason) }
            let delay = retryAfter.map { min($0, backoffCap) } ?? backoff(afterAttempt: attempts, jitter: jitter)
            return .retry(after: delay, reason: reason)
        case .timeout(let reason):
            guard attempts <= retries else { return .finish(.timeout, reason: reason) }
            return .retry(after: backoff(afterAttempt: attempts, jitter: jitter), reason: reason)
        }
    }

    /// `backoffBase` × 2^(attempt-1) (the exponent at most 20), capped, scaled by `jitter`, in whole milliseconds.
    func backoff(afterAttempt attempt: Int, jitter: Double) -> Duration {
        let exponent = min(max(attempt - 1, 0), 20)
        let full = min(backoffBase * (1 << exponent), backoffCap)
        let milliseconds = full / .milliseconds(1) * jitter
        return .milliseconds(Int64(milliseconds.rounded(.down)))
    }
}
