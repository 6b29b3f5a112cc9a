import CallWatchTestSupport
import Foundation
import MetricsTestKit
import Testing

@testable import CallWatch

/// Silences: matchers as Alertmanager's (anchored regular expressions), validation, the API JSON, and their effect
/// through the writer on a real SQLite file: muted alerts recorded `silenced` and not acted on, silences kept across
/// restarts, and a condition still firing when its silence ends notified then.
@Suite struct SilenceTests {
    static func alert(rule: String = "burst", destination: String) -> Alert {
        Alert(
            id: "a",
            rule: rule,
            description: "",
            key: [("destination", destination)],
            count: 1,
            match: nil,
            firstAt: Date(),
            lastAt: Date(),
            firedAt: Date(),
            events: []
        )
    }

    static func silence(
        rule: String? = nil,
        _ matchers: [String],
        from start: Date = Date().addingTimeInterval(-1),
        for seconds: Double = 3600
    ) throws -> Silence {
        try Silence(
            rule: rule,
            matchers: try matchers.map { text throws(SilenceError) in try Silence.Matcher(parsing: text) },
            startsAt: start,
            endsAt: start.addingTimeInterval(seconds),
            comment: "carrier maintenance",
            author: "ops"
        )
    }

    @Test func matchersCompareKeyFieldsAndRegularExpressionsAreAnchored() throws {
        let indonesia = Self.alert(destination: "+6221509")
        #expect(try Self.silence(["destination=+6221509"]).matches(indonesia))
        #expect(!(try Self.silence(["destination!=+6221509"]).matches(indonesia)))
        #expect(try Self.silence(["destination=~\\+62.*"]).matches(indonesia))
        #expect(!(try Self.silence(["destination=~62"]).matches(indonesia)))  // anchored: the whole value
        #expect(try Self.silence(["destination!~\\+65.*"]).matches(indonesia))
        #expect(try Self.silence(rule: "burst", []).matches(indonesia))
        #expect(!(try Self.silence(rule: "other", ["destination=~.*"]).matches(indonesia)))
        #expect(try Self.silence(["callId="]).matches(indonesia))  // a field the key lacks reads as ""
    }

    @Test func aSilenceIsValidatedAndRoundTripsThroughItsJSON() throws {
        #expect(throws: SilenceError.self) { try Self.silence([]) }  // would mute everything
        #expect(throws: SilenceError.self) { try Self.silence(["destination=~(unclosed"]) }
        #expect(throws: SilenceError.self) { try Silence.Matcher(parsing: "destination") }
        #expect(throws: SilenceError.self) { try Self.silence(["a=b"], for: -5) }
        let silence = try Self.silence(rule: "burst", ["destination=~\\+62.*", "callDirection!=INBOUND"])
        let read = try Silence(json: try JSONParser.parse(JSONWriter.string(silence.json)))
        #expect(read.id == silence.id)
        #expect(read.matchers == silence.matchers)
        #expect(read.rule == "burst")
        #expect(abs(read.endsAt.timeIntervalSince(silence.endsAt)) < 0.002)  // kept to the millisecond
        #expect(throws: SilenceError.self) {
            try Silence(
                json: try JSONParser.parse(
                    #"{"matchers": [{"field": "a", "op": "==", "value": "b"}], "endsAt": "2030-01-01T00:00:00Z", "comment": "x"}"#
                )
            )
        }
        #expect(silence.state(at: silence.startsAt.addingTimeInterval(-1)) == "pending")
        #expect(silence.state(at: silence.startsAt) == "active")
        #expect(silence.state(at: silence.endsAt) == "expired")
    }

    @Test func aSilencedAlertIsRecordedWithoutActionsAndSilencesSurviveARestart() async throws {
        try await withTemporaryDirectory(prefix: "callwatch-silences") { directory in
            let path = directory + "/cw.db"
            let rules = try StoreFixture.windowRules()
            let metrics = TestMetrics()
            _ = try await StoreFixture.withPipeline(rules, path: path, metrics: metrics) { pipeline in
                try pipeline.addSilence(try Self.silence(rule: "burst", ["destination=~\\+6500.*"]))
                for id in ["m1", "m2", "m3"] { try await StoreFixture.ingest(pipeline, id, destination: "+65001") }
            }
            #expect(
                PipelineFixture.counter(metrics, "callwatch_alerts_total", [("rule", "burst"), ("state", "silenced")])
                    == 1
            )
            #expect(
                PipelineFixture.counter(metrics, "callwatch_alerts_total", [("rule", "burst"), ("state", "fired")]) == 0
            )
            var alerts = try await SQLiteStore(path: path).recentAlerts(limit: 10)
            #expect(alerts.map(\.silenced) == [true])
            #expect(alerts.first?.actions.isEmpty == true)
            // After a restart the silence is still in force; another destination is not muted.
            _ = try await StoreFixture.withPipeline(rules, path: path) { pipeline in
                for id in ["m4", "m5", "m6"] { try await StoreFixture.ingest(pipeline, id, destination: "+65002") }
                for id in ["n1", "n2", "n3"] { try await StoreFixture.ingest(pipeline, id, destination: "+66001") }
                let silences = try pipeline.store.silences()
                #expect(silences.count == 1)
                #expect(try pipeline.expireSilence(id: silences[0].id))
                #expect(!(try pipeline.expireSilence(id: "no-such-silence")))
                for id in ["m7", "m8", "m9"] { try await StoreFixture.ingest(pipeline, id, destination: "+65003") }
            }
            alerts = try await SQLiteStore(path: path).recentAlerts(limit: 10)
            let byKey = Dictionary(alerts.map { ($0.key, $0.silenced) }) { first, _ in first }
            #expect(
                byKey == [
                    "destination=+65001": true, "destination=+65002": true, "destination=+66001": false,
                    "destination=+65003": false,
                ]
            )
            #expect(try SQLiteStore(path: path).silences().first.map { $0.state(at: Date()) } == "expired")
        }
    }

    @Test func aSilenceForAnUnknownRuleIsRefused() async throws {
        try await withTemporaryDirectory(prefix: "callwatch-silences") { directory in
            _ = try await StoreFixture.withPipeline(try StoreFixture.windowRules(), path: directory + "/cw.db") {
                pipeline in
                #expect(throws: SilenceError.self) { try pipeline.addSilence(try Self.silence(rule: "brust", [])) }
            }
        }
    }

    @Test func aConditionStillFiringWhenItsSilenceEndsIsNotifiedThen() async throws {
        try await withTemporaryDirectory(prefix: "callwatch-silences") { directory in
            let path = directory + "/cw.db"
            let rules = try ConditionRecoveryTests.rules()
            let now = Date()
            _ = try await StoreFixture.withPipeline(rules, path: path) { pipeline in
                let silence = try Self.silence(["destination=+65001"], from: now.addingTimeInterval(-60), for: 120)
                try pipeline.addSilence(silence)
                // Fires (0 of 2 answered) under the silence: recorded silenced.
                try await StoreFixture.ingest(pipeline, "s1", destination: "+65001", at: now.addingTimeInterval(-30))
                try await StoreFixture.ingest(pipeline, "s2", destination: "+65001", at: now.addingTimeInterval(-20))
                // The same under a silence for another key that resolves before it ends: nothing is sent for it.
                try pipeline.expireSilence(id: silence.id)
                try await StoreFixture.ingest(pipeline, "s3", destination: "+65001", at: now.addingTimeInterval(-10))
            }
            let alerts = try await SQLiteStore(path: path).recentAlerts(limit: 10)
            #expect(alerts.count == 2)
            let muted = try #require(alerts.first { $0.silenced })
            let released = try #require(alerts.first { !$0.silenced })
            #expect(released.id.hasPrefix(muted.id + "~unmuted-"))
            #expect(released.actions.map(\.status) == [.success])
        }
    }

    @Test func aConditionThatResolvedUnderItsSilenceSendsNothing() async throws {
        try await withTemporaryDirectory(prefix: "callwatch-silences") { directory in
            let path = directory + "/cw.db"
            let rules = try ConditionRecoveryTests.rules()
            let now = Date()
            _ = try await StoreFixture.withPipeline(rules, path: path) { pipeline in
                let silence = try Self.silence(["destination=+65009"], from: now.addingTimeInterval(-3600), for: 7200)
                try pipeline.addSilence(silence)
                try await StoreFixture.ingest(pipeline, "r1", destination: "+65009", at: now.addingTimeInterval(-1500))
                try await StoreFixture.ingest(pipeline, "r2", destination: "+65009", at: now.addingTimeInterval(-1490))
                pipeline.tick(at: now)  // both calls left the window: resolved, still under the silence
                try pipeline.expireSilence(id: silence.id)
                pipeline.tick(at: now.addingTimeInterval(1))
            }
            let alerts = try await SQLiteStore(path: path).recentAlerts(limit: 10)
            #expect(alerts.count == 2)
            #expect(alerts.allSatisfy { $0.silenced })
        }
    }
}
