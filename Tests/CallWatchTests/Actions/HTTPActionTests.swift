import CallWatchTestSupport
import Foundation
import Logging
import Testing

@testable import CallWatch

extension Actions {
    /// `http` actions against a real in-process HTTP sink on 127.0.0.1.
    @Suite struct HTTPActionTests {
        /// Runs the actions of `yaml` for `alert` through a dispatcher (backoff base 100 ms); returns once every
        /// action has a final outcome.
        static func run(
            _ yaml: String,
            for alert: Alert,
            timeout: Duration = .seconds(20)
        ) async throws -> OutcomeCollector {
            let actions = try ActionFixture.actions(yaml)
            return try await withDispatcher { dispatcher, outcomes in
                dispatcher.submit(alert, actions: actions)
                _ = try await outcomes.wait(for: actions.count, timeout: timeout)
                return outcomes
            }
        }

        @Test func defaultBodyIsTheAlertJSONWithIdempotencyKey() async throws {
            try await HTTPSink.withSink { sink in
                let alert = try ActionFixture.alert()
                let collected = try await Self.run("- http: {url: \"\(sink.url("/alerts"))\"}", for: alert)
                let outcomes = collected.final
                let outcome = try #require(outcomes.first)
                #expect(outcome.status == .success)
                #expect(outcome.attempts == 1)
                #expect(outcome.kind == "http")
                let requests = sink.requests
                try #require(requests.count == 1)
                let request = requests[0]
                #expect(request.method == "POST")
                #expect(request.path == "/alerts")
                #expect(request.header("Content-Type") == "application/json")
                #expect(request.headerValues("Idempotency-Key") == [alert.id])
                #expect(request.bodyText == alert.jsonString)
                let json = try #require(try JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any])
                #expect(json["id"] as? String == alert.id)
                #expect(json["rule"] as? String == "hook-test")
                #expect(json["count"] as? Int == 3)
                #expect((json["events"] as? [[String: Any]])?.first?["sipCode"] as? Int == 486)
            }
        }

        @Test func serverErrorsAreRetriedWithGrowingBackoffAndOneIdempotencyKey() async throws {
            try await HTTPSink.withSink(responses: [.status(503), .status(503), .status(500), .status(200)]) { sink in
                let alert = try ActionFixture.alert()
                let collected = try await Self.run("- http: {url: \"\(sink.url())\", retries: 5}", for: alert)
                let outcomes = collected.final
                let outcome = try #require(outcomes.first)
                #expect(outcome.status == .success)
                #expect(outcome.attempts == 4)
                #expect(collected.retries.map(\.attempts) == [1, 2, 3])
                #expect(collected.retries.map(\.reason) == ["HTTP 503", "HTTP 503", "HTTP 500"])
                let requests = sink.requests
                try #require(requests.count == 4)
                #expect(requests.allSatisfy { $0.headerValues("Idempotency-Key") == [alert.id] })
                #expect(requests.allSatisfy { $0.bodyText == alert.jsonString })
                // Backoff after attempt n is 100 ms × 2^(n-1) × a jitter factor in [0.5, 1]: at least 50, 100 and
                // 200 ms. The gap between arrivals includes the delay, so it is at least that long.
                let gaps = zip(requests, requests.dropFirst()).map { $1.arrivedAt - $0.arrivedAt }
                #expect(gaps[0] >= .milliseconds(50), "gaps: \(gaps)")
                #expect(gaps[1] >= .milliseconds(100), "gaps: \(gaps)")
                #expect(gaps[2] >= .milliseconds(200), "gaps: \(gaps)")
            }
        }

        /// The dispatcher's policy with the jitter it draws: exact values per jitter are in `RetryPolicyTests`.
        @Test func backoffDoublesWithJitterAndIsCapped() throws {
            var configuration = ActionDispatcher.Configuration()
            configuration.backoffBase = .milliseconds(100)
            configuration.backoffCap = .seconds(1)
            let actions = try ActionFixture.actions("- http: {url: \"http://127.0.0.1/\", retries: 20}")
            let action = try #require(actions.first)
            let policy = configuration.retryPolicy(for: action)
            for attempt in 1...8 {
                let nominal = min(Duration.milliseconds(100) * (1 << (attempt - 1)), .seconds(1))
                let samples = (0..<200).map { _ in
                    let decision = policy.decide(
                        .retryable(reason: "HTTP 503", retryAfter: nil),
                        attempts: attempt,
                        jitter: configuration.jitter()
                    )
                    guard case .retry(let delay, _) = decision else { return Duration.zero }
                    return delay
                }
                #expect(samples.allSatisfy { $0 >= nominal / 2 && $0 <= nominal }, "attempt \(attempt): \(samples)")
                // Jitter: not every sample is the same.
                #expect(Set(samples).count > 1, "attempt \(attempt): no jitter")
            }
        }

        @Test func tooManyRequestsHonoursRetryAfter() async throws {
            try await HTTPSink.withSink(responses: [.status(429, headers: ["Retry-After": "1"]), .status(200)]) {
                sink in
                let alert = try ActionFixture.alert()
                let collected = try await Self.run("- http: {url: \"\(sink.url())\", retries: 3}", for: alert)
                let outcomes = collected.final
                #expect(outcomes.first?.status == .success)
                #expect(outcomes.first?.attempts == 2)
                let requests = sink.requests
                try #require(requests.count == 2)
                // Without Retry-After the backoff would be at most 100 ms.
                let gap = requests[1].arrivedAt - requests[0].arrivedAt
                #expect(gap >= .seconds(1), "second attempt after \(gap)")
                #expect(requests.allSatisfy { $0.headerValues("Idempotency-Key") == [alert.id] })
            }
        }

        @Test func clientErrorIsNotRetried() async throws {
            try await HTTPSink.withSink(responses: [.status(400), .status(200)]) { sink in
                let collected = try await Self.run(
                    "- http: {url: \"\(sink.url())\", retries: 5}",
                    for: try ActionFixture.alert()
                )
                let outcomes = collected.final
                let outcome = try #require(outcomes.first)
                #expect(outcome.status == .failure)
                #expect(outcome.attempts == 1)
                #expect(outcome.reason == "HTTP 400")
                #expect(collected.retries.isEmpty)
                #expect(sink.requests.count == 1)
            }
        }

        @Test(arguments: [408, 429, 500, 502, 503, 504])
        func retryableStatusesAreRetriedUntilRetriesRunOut(status: Int) async throws {
            try await HTTPSink.withSink(responses: [.status(status)]) { sink in
                let collected = try await Self.run(
                    "- http: {url: \"\(sink.url())\", retries: 2}",
                    for: try ActionFixture.alert()
                )
                let outcomes = collected.final
                let outcome = try #require(outcomes.first)
                #expect(outcome.status == .failure)
                #expect(outcome.attempts == 3)
                #expect(outcome.reason == "HTTP \(status)")
                #expect(collected.retries.map(\.attempts) == [1, 2])
                #expect(sink.requests.count == 3)
            }
        }

        @Test func slowServerTimesOut() async throws {
            try await HTTPSink.withSink(responses: [.status(200, delay: .seconds(3))]) { sink in
                let collected = try await Self.run(
                    "- http: {url: \"\(sink.url())\", timeout: 300ms, retries: 1}",
                    for: try ActionFixture.alert()
                )
                let outcome = try #require(collected.final.first)
                #expect(outcome.status == .timeout)
                #expect(outcome.attempts == 2)
                #expect(collected.retries.map(\.attempts) == [1])
                #expect(sink.requests.count == 2)
                // Each attempt waited its full 300 ms, with at least 50 ms of backoff between them …
                #expect(outcome.duration >= .milliseconds(650), "took \(outcome.duration)")
                // … and both gave up rather than wait for the server's 3 s answer (the timeout status above; how
                // long that took is the scheduler's business on a loaded machine, a benchmark's to measure).
            }
        }

        /// FoundationNetworking keeps whole seconds of a request's timeout; a sub-second limit must still give a
        /// prompt server its chance.
        @Test func subSecondTimeoutLetsAPromptServerAnswer() async throws {
            try await HTTPSink.withSink { sink in
                let collected = try await Self.run(
                    "- http: {url: \"\(sink.url())\", timeout: 800ms, retries: 0}",
                    for: try ActionFixture.alert()
                )
                let outcome = try #require(collected.final.first)
                #expect(outcome.status == .success, "\(outcome.status): \(outcome.reason ?? "")")
                #expect(sink.requests.count == 1)
            }
        }

        @Test func jsonBodyStaysValidWithHostileFieldValues() async throws {
            let nasty = "say \"hi\" \\ back\\slash\nnew line\ttab\r\u{1} ünïcødé 日本語 🚀 </script> {{not a tag}}"
            let alert = try ActionFixture.alert([
                ("eventData", .string(nasty)),
                ("destination", .string("\"+62\", \"injected\": true")),
            ])
            try await HTTPSink.withSink { sink in
                let collected = try await Self.run(
                    """
                    - http:
                        url: "\(sink.url("/json"))"
                        json:
                          text: "{{eventData}}"
                          where: "to {{destination}}"
                          nested: {list: ["{{eventData}}", 7, true, null], count: "{{alert.count}}"}
                          rule: "{{rule.name}}"
                          fixed: 42
                    """,
                    for: alert
                )
                let outcomes = collected.final
                #expect(outcomes.first?.status == .success)
                let request = try #require(sink.requests.first)
                #expect(request.header("Content-Type") == "application/json")
                let json = try #require(try JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any])
                #expect(Set(json.keys) == ["text", "where", "nested", "rule", "fixed"])
                #expect(json["text"] as? String == nasty)
                #expect(json["where"] as? String == "to \"+62\", \"injected\": true")
                #expect(json["rule"] as? String == "hook-test")
                #expect(json["fixed"] as? Int == 42)
                let nested = try #require(json["nested"] as? [String: Any])
                #expect(nested["count"] as? String == "3")
                let list = try #require(nested["list"] as? [Any])
                try #require(list.count == 4)
                #expect(list[0] as? String == nasty)
                #expect(list[1] as? Int == 7)
                #expect(list[2] as? Bool == true)
                #expect(list[3] is NSNull)
            }
        }

        @Test func rawBodyURLMethodAndHeadersAreTemplates() async throws {
            let alert = try ActionFixture.alert([("destination", .string("+6591234567")), ("sipCode", .number(503))])
            try await HTTPSink.withSink { sink in
                let collected = try await Self.run(
                    """
                    - http:
                        url: "\(sink.url("/page/{{destination}}?rule={{rule.name}}"))"
                        method: put
                        headers:
                          X-Rule: "{{rule.name}}"
                          X-Destination: "{{destination}}"
                          Authorization: Bearer not-a-template
                        body: "SIP {{sipCode}} to {{destination}} ({{alert.count}} calls, alert {{alert.id}})"
                    """,
                    for: alert
                )
                let outcomes = collected.final
                #expect(outcomes.first?.status == .success)
                let request = try #require(sink.requests.first)
                #expect(request.method == "PUT")
                #expect(request.path == "/page/+6591234567?rule=hook-test")
                #expect(request.header("X-Rule") == "hook-test")
                #expect(request.header("X-Destination") == "+6591234567")
                #expect(request.header("Authorization") == "Bearer not-a-template")
                #expect(request.headerValues("Idempotency-Key") == [alert.id])
                #expect(request.bodyText == "SIP 503 to +6591234567 (3 calls, alert \(alert.id))")
                #expect(request.header("Content-Type")?.hasPrefix("text/plain") == true)
            }
        }

        @Test func unreachableServerIsRetriedThenFails() async throws {
            try await withRefusingPort { port in
                let collected = try await Self.run(
                    "- http: {url: \"http://127.0.0.1:\(port)/down\", retries: 2, timeout: 2s}",
                    for: try ActionFixture.alert()
                )
                let outcome = try #require(collected.final.first)
                #expect(outcome.status == .failure)
                #expect(outcome.attempts == 3, "reason: \(outcome.reason ?? "nil")")
                #expect(outcome.reason?.hasPrefix("network error") == true, "reason: \(outcome.reason ?? "nil")")
            }
        }

        @Test func concurrentRequestsStayWithinTheLimit() async throws {
            try await HTTPSink.withSink(responses: [.status(200, delay: .milliseconds(100))]) { sink in
                let actions = try ActionFixture.actions("- http: {url: \"\(sink.url())\"}")
                let outcomes = try await withDispatcher(httpConcurrency: 3) { dispatcher, outcomes in
                    for _ in 0..<15 { dispatcher.submit(try ActionFixture.alert(), actions: actions) }
                    return try await outcomes.wait(for: 15)
                }
                #expect(outcomes.allSatisfy { $0.status == .success })
                #expect(sink.requests.count == 15)
                #expect(sink.maxConcurrentRequests <= 3, "\(sink.maxConcurrentRequests) requests at once")
                #expect(sink.maxConcurrentRequests >= 2, "requests never overlapped; the test proves nothing")
            }
        }
    }
}
