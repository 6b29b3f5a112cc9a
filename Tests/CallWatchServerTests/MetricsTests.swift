import CallWatch
import CallWatchTestSupport
import Foundation
import HTTPTypes
import Testing

@testable import CallWatchServer

/// The daemon's metrics, read through `GET /metrics`. The registry is process-wide: series labelled by rule use
/// rule names no other test has and must move exactly; `events_total` is shared, so it must move at least by
/// what this test did.
@Suite("Metrics")
struct MetricsTests {
    @Test("events, matches, fired and suppressed alerts and action outcomes move as the traffic says")
    func countersMove() async throws {
        let rule = "e2e-metrics-window"
        let rules = Fixture.config(
            rules: Fixture.windowRule(name: rule, count: 2, destination: "+629999", cooldown: "1h")
        )
        try await withServer(rules: rules) { server in
            let start = try await server.metrics()
            let event = { (id: String) in Fixture.event(id: id, destination: "+629999") }
            let fired = ["rule": rule, "state": "fired"]
            let suppressed = ["rule": rule, "state": "suppressed"]
            let logged = ["rule": rule, "action": "log", "outcome": "success"]

            try await server.accept(event("metrics-1"))
            var now = try await server.metrics()
            #expect(now.delta("callwatch_rule_matches_total", ["rule": rule], since: start) == 1)
            #expect(now.delta("callwatch_alerts_total", fired, since: start) == 0)

            try await server.accept(event("metrics-2"))
            now = try await server.metrics()
            #expect(now.delta("callwatch_rule_matches_total", ["rule": rule], since: start) == 2)
            #expect(now.delta("callwatch_alerts_total", fired, since: start) == 1)
            #expect(now.delta("callwatch_alerts_total", suppressed, since: start) == 0)
            #expect(
                await eventually {
                    (try? await server.metrics().delta("callwatch_actions_total", logged, since: start)) == 1
                }
            )

            // Within the cooldown: the next full window is suppressed, counted, not acted on.
            try await server.accept(event("metrics-3"))
            try await server.accept(event("metrics-4"))
            // An event that matches nothing, committed after the suppressed one: its answer means the batch
            // before it has been handed to the dispatcher.
            try await server.accept(Fixture.event(id: "metrics-other", status: "CALL_CONNECTED"))
            now = try await server.metrics()
            #expect(now.delta("callwatch_rule_matches_total", ["rule": rule], since: start) == 4)
            #expect(now.delta("callwatch_alerts_total", fired, since: start) == 1)
            #expect(now.delta("callwatch_alerts_total", suppressed, since: start) == 1)
            #expect(now.delta("callwatch_actions_total", logged, since: start) == 1)

            // A duplicate and two rejected requests.
            #expect(try await server.post(event("metrics-4")).statusField == "duplicate")
            #expect(try await server.post("{").status == .badRequest)
            #expect(try await server.post(event("metrics-5"), headers: [.contentType: "text/csv"]).status.code == 415)
            let end = try await server.metrics()
            #expect(end.delta("callwatch_rule_matches_total", ["rule": rule], since: start) == 4)
            #expect(end.delta("callwatch_events_total", ["outcome": "accepted"], since: start) >= 5)
            #expect(end.delta("callwatch_events_total", ["outcome": "duplicate"], since: start) >= 1)
            #expect(end.delta("callwatch_events_total", ["outcome": "rejected"], since: start) >= 2)
            #expect(try await server.alerts(rule: rule).count == 1)
        }
    }

    @Test("the exposition is Prometheus text with every documented family")
    func exposition() async throws {
        let rule = "e2e-metrics-families"
        try await withServer(rules: Fixture.config(rules: Fixture.windowRule(name: rule))) { server in
            let result = try await server.send(.get, "/metrics")
            #expect(result.status == .ok)
            #expect(result.headers[.contentType]?.hasPrefix("text/plain") == true)
            for family in [
                "callwatch_events_total", "callwatch_rule_matches_total", "callwatch_alerts_total",
                "callwatch_outbox_pending", "callwatch_config_last_reload_successful",
                "callwatch_config_last_reload_success_timestamp_seconds", "process_start_time_seconds",
            ] {
                #expect(result.body.contains("# TYPE \(family) "), "\(family) is missing")
            }
            let metrics = MetricsSnapshot(text: result.body)
            // A rule's series exist (at 0) as soon as it is loaded.
            #expect(metrics.value("callwatch_rule_matches_total", ["rule": rule]) == 0)
            let started = try #require(metrics.value("process_start_time_seconds"))
            #expect(started > Date().timeIntervalSince1970 - 24 * 3600)
            #expect(started <= Date().timeIntervalSince1970 + 1)
            let reloaded = try #require(metrics.value("callwatch_config_last_reload_success_timestamp_seconds"))
            #expect(reloaded <= Date().timeIntervalSince1970 + 1)
        }
    }
}
