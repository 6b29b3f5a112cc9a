import Testing

@testable import CallWatch

extension Actions {
    /// `RetryPolicy.decide` as a table: every result class, `Retry-After`, the cap, exhaustion and jitter.
    @Suite struct RetryPolicyTests {
        struct Case: Sendable, CustomTestStringConvertible {
            var name: String
            var policy = RetryPolicy(retries: 2, backoffBase: .milliseconds(100), backoffCap: .seconds(1))
            var result: AttemptResult
            var attempts: Int
            var jitter = 1.0
            var expected: RetryPolicy.Decision

            var testDescription: String { name }
        }

        static let unavailable = AttemptResult.retryable(reason: "HTTP 503", retryAfter: nil)
        static let timedOut = AttemptResult.timeout(reason: "timed out after 300ms")

        static let cases: [Case] = [
            Case(name: "success finishes", result: .success, attempts: 1, expected: .finish(.success, reason: nil)),
            Case(
                name: "success on the last attempt finishes",
                result: .success,
                attempts: 3,
                expected: .finish(.success, reason: nil)
            ),
            Case(
                name: "failure finishes without a retry",
                result: .failure(reason: "HTTP 400"),
                attempts: 1,
                expected: .finish(.failure, reason: "HTTP 400")
            ),
            Case(
                name: "retryable: first delay is the base",
                result: unavailable,
                attempts: 1,
                expected: .retry(after: .milliseconds(100), reason: "HTTP 503")
            ),
            Case(
                name: "retryable: the delay doubles",
                result: unavailable,
                attempts: 2,
                expected: .retry(after: .milliseconds(200), reason: "HTTP 503")
            ),
            Case(
                name: "retryable: and doubles again",
                policy: RetryPolicy(retries: 5, backoffBase: .milliseconds(100), backoffCap: .seconds(1)),
                result: unavailable,
                attempts: 3,
                expected: .retry(after: .milliseconds(400), reason: "HTTP 503")
            ),
            Case(
                name: "jitter 0.5 halves the delay",
                result: unavailable,
                attempts: 1,
                jitter: 0.5,
                expected: .retry(after: .milliseconds(50), reason: "HTTP 503")
            ),
            Case(
                name: "jitter 0.75 scales the doubled delay",
                result: unavailable,
                attempts: 2,
                jitter: 0.75,
                expected: .retry(after: .milliseconds(150), reason: "HTTP 503")
            ),
            Case(
                name: "the computed delay stops at the cap",
                policy: RetryPolicy(retries: 10, backoffBase: .milliseconds(100), backoffCap: .seconds(1)),
                result: unavailable,
                attempts: 5,
                expected: .retry(after: .seconds(1), reason: "HTTP 503")
            ),
            Case(
                name: "jitter scales the capped delay",
                policy: RetryPolicy(retries: 10, backoffBase: .milliseconds(100), backoffCap: .seconds(1)),
                result: unavailable,
                attempts: 8,
                jitter: 0.5,
                expected: .retry(after: .milliseconds(500), reason: "HTTP 503")
            ),
            Case(
                name: "the exponent stops at 20",
                policy: RetryPolicy(retries: 100, backoffBase: .milliseconds(1), backoffCap: .seconds(86400)),
                result: unavailable,
                attempts: 40,
                expected: .retry(after: .milliseconds(1 << 20), reason: "HTTP 503")
            ),
            Case(
                name: "Retry-After replaces the backoff, without jitter",
                result: .retryable(reason: "HTTP 429", retryAfter: .milliseconds(700)),
                attempts: 1,
                jitter: 0.5,
                expected: .retry(after: .milliseconds(700), reason: "HTTP 429")
            ),
            Case(
                name: "Retry-After is capped",
                result: .retryable(reason: "HTTP 429", retryAfter: .seconds(120)),
                attempts: 1,
                expected: .retry(after: .seconds(1), reason: "HTTP 429")
            ),
            Case(
                name: "retryable after the last retry fails",
                result: unavailable,
                attempts: 3,
                expected: .finish(.failure, reason: "HTTP 503")
            ),
            Case(
                name: "Retry-After after the last retry fails too",
                result: .retryable(reason: "HTTP 429", retryAfter: .seconds(1)),
                attempts: 3,
                expected: .finish(.failure, reason: "HTTP 429")
            ),
            Case(
                name: "no retries: the first retryable result fails",
                policy: RetryPolicy(retries: 0, backoffBase: .milliseconds(100), backoffCap: .seconds(1)),
                result: unavailable,
                attempts: 1,
                expected: .finish(.failure, reason: "HTTP 503")
            ),
            Case(
                name: "timeout is retried with the backoff",
                result: timedOut,
                attempts: 2,
                jitter: 0.5,
                expected: .retry(after: .milliseconds(100), reason: "timed out after 300ms")
            ),
            Case(
                name: "timeout after the last retry finishes as a timeout",
                result: timedOut,
                attempts: 3,
                expected: .finish(.timeout, reason: "timed out after 300ms")
            ),
        ]

        @Test(arguments: cases)
        func decides(_ testCase: Case) {
            let decision = testCase.policy.decide(testCase.result, attempts: testCase.attempts, jitter: testCase.jitter)
            #expect(decision == testCase.expected)
        }

        /// The dispatcher's defaults: `Configuration`'s backoff with each action's own `retries`.
        @Test func dispatcherBuildsThePolicyFromItsConfigurationAndTheAction() throws {
            var configuration = ActionDispatcher.Configuration()
            configuration.backoffBase = .milliseconds(250)
            configuration.backoffCap = .seconds(7)
            let actions = try ActionFixture.actions(
                """
                - http: {url: "http://127.0.0.1/", retries: 4}
                - exec: {command: ["/bin/true"], retries: 1}
                - log: "fired"
                """
            )
            #expect(
                actions.map(configuration.retryPolicy(for:)) == [
                    RetryPolicy(retries: 4, backoffBase: .milliseconds(250), backoffCap: .seconds(7)),
                    RetryPolicy(retries: 1, backoffBase: .milliseconds(250), backoffCap: .seconds(7)),
                    RetryPolicy(retries: 0, backoffBase: .milliseconds(250), backoffCap: .seconds(7)),
                ]
            )
        }
    }
}
