import CallWatchTestSupport
import Foundation
import Testing

@testable import CallWatch

extension Actions {
    /// `slack` and `pagerduty` actions against a real in-process HTTP sink on 127.0.0.1 that answers as those
    /// services do (429 with Retry-After, 400, 503, 202).
    @Suite struct ServiceActionTests {
        static func body(_ request: HTTPSink.RecordedRequest) throws -> [String: Any] {
            try #require(try JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any])
        }

        /// A condition alert of `low-asr` for one country, firing or resolved.
        static func conditionAlert(_ status: AlertStatus, startsAt: Date) throws -> Alert {
            var alert = try ActionFixture.alert(rule: "low-asr")
            alert.key = [("destinationCountryCode", "ID")]
            alert.description = "under 40% answered"
            alert.status = status
            alert.value = 0.31
            alert.startsAt = startsAt
            alert.endsAt = status == .resolved ? startsAt.addingTimeInterval(600) : nil
            alert.id = ConditionAlertID.make(rule: "low-asr", key: ["ID"], status: status, startsAt: startsAt)
            return alert
        }

        @Test func slackGetsTheHeadlineAndA429IsRetriedAfterItsRetryAfter() async throws {
            try await HTTPSink.withSink(responses: [
                .status(429, headers: ["Retry-After": "1"], body: "rate_limited"), .status(200, body: "ok"),
            ]) { sink in
                let alert = try Self.conditionAlert(.firing, startsAt: Date())
                let collected = try await HTTPActionTests.run("- slack: {url: \"\(sink.url("/slack"))\"}", for: alert)
                let outcome = try #require(collected.final.first)
                #expect(outcome.status == .success)
                #expect(outcome.kind == "slack")
                #expect(outcome.attempts == 2)
                let requests = sink.requests
                try #require(requests.count == 2)
                #expect(requests[0].header("Content-Type") == "application/json")
                #expect(
                    try Self.body(requests[1]) as? [String: String]
                        == ["text": "[FIRING] low-asr destinationCountryCode=ID value=0.31 — under 40% answered"]
                )
                #expect(requests[0].bodyText == requests[1].bodyText)
            }
        }

        @Test func slackTextIsATemplateAndItsJSONStaysValid() async throws {
            try await HTTPSink.withSink { sink in
                let alert = try ActionFixture.alert([("destination", .string("+65 \"quoted\"\n"))])
                let yaml = "- slack: {url: \"\(sink.url())\", text: \"{{alert.status}}: {{destination}}\"}"
                _ = try await HTTPActionTests.run(yaml, for: alert)
                let request = try #require(sink.requests.first)
                #expect(try Self.body(request) as? [String: String] == ["text": "firing: +65 \"quoted\"\n"])
            }
        }

        @Test func pagerDutyTriggersAndResolvesUnderOneDedupKey() async throws {
            try await HTTPSink.withSink(responses: [.status(202), .status(202)]) { sink in
                let startsAt = Date(timeIntervalSince1970: 1_795_514_400)
                let yaml =
                    "- pagerduty: {url: \"\(sink.url("/v2/enqueue"))\", routing_key: R0UT1NG, severity: critical}"
                let firing = try Self.conditionAlert(.firing, startsAt: startsAt)
                let resolved = try Self.conditionAlert(.resolved, startsAt: startsAt)
                #expect(try await HTTPActionTests.run(yaml, for: firing).final.first?.status == .success)
                #expect(try await HTTPActionTests.run(yaml, for: resolved).final.first?.status == .success)
                let requests = sink.requests
                try #require(requests.count == 2)
                let trigger = try Self.body(requests[0])
                let resolve = try Self.body(requests[1])
                #expect(trigger["routing_key"] as? String == "R0UT1NG")
                #expect(trigger["event_action"] as? String == "trigger")
                #expect(resolve["event_action"] as? String == "resolve")
                #expect(trigger["dedup_key"] as? String == firing.id)
                #expect(resolve["dedup_key"] as? String == firing.id)
                let payload = try #require(trigger["payload"] as? [String: Any])
                #expect(
                    payload["summary"] as? String
                        == "[FIRING] low-asr destinationCountryCode=ID value=0.31 — under 40% answered"
                )
                #expect(payload["source"] as? String == "callwatch")
                #expect(payload["severity"] as? String == "critical")
                #expect(payload["timestamp"] as? String == Timestamp.format(firing.firedAt))
                #expect((payload["custom_details"] as? [String: Any])?["id"] as? String == firing.id)
                #expect(
                    ((resolve["payload"] as? [String: Any])?["summary"] as? String)?.hasPrefix("[RESOLVED] low-asr")
                        == true
                )
            }
        }

        @Test func pagerDutyFailsAtOnceOn400AndRetries503() async throws {
            try await HTTPSink.withSink(responses: [.status(400, body: #"{"status":"invalid event"}"#)]) { sink in
                let yaml = "- pagerduty: {url: \"\(sink.url())\", routing_key: R, retries: 5}"
                let outcome = try #require(
                    try await HTTPActionTests.run(yaml, for: try ActionFixture.alert()).final.first
                )
                #expect(outcome.status == .failure)
                #expect(outcome.attempts == 1)
                #expect(outcome.reason == "HTTP 400")
            }
            try await HTTPSink.withSink(responses: [.status(503), .status(202)]) { sink in
                let alert = try ActionFixture.alert()
                let yaml = "- pagerduty: {url: \"\(sink.url())\", routing_key: R, retries: 5}"
                let outcome = try #require(try await HTTPActionTests.run(yaml, for: alert).final.first)
                #expect(outcome.status == .success)
                #expect(outcome.attempts == 2)
                // An alert without a condition is its own incident: dedup_key is its id, and it only triggers.
                let body = try Self.body(try #require(sink.requests.last))
                #expect(body["dedup_key"] as? String == alert.id)
                #expect(body["event_action"] as? String == "trigger")
            }
        }

        @Test func summariesAreCutToPagerDutysLimit() throws {
            let alert = try ActionFixture.alert()
            let body = PagerDutyEvent.body(
                for: alert,
                routingKey: "R",
                severity: "info",
                summary: String(repeating: "x", count: 5000)
            )
            guard case .object(let object) = body, case .object(let payload) = object["payload"],
                case .string(let summary) = payload["summary"]
            else {
                Issue.record("no summary in \(body)")
                return
            }
            #expect(summary.count == 1024)
        }
    }
}
