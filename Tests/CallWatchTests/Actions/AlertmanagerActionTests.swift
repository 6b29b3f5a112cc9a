import CallWatchTestSupport
import Foundation
import Testing

@testable import CallWatch

extension Actions {
    /// `alertmanager` actions: the request against the in-process sink, the diagnostics `check` gives, and a round
    /// trip through a real Alertmanager (firing, listed active with its labels, resolved, gone).
    @Suite struct AlertmanagerActionTests {
        static let startsAt = Date(timeIntervalSince1970: 1_795_514_400)

        /// The one element of a posted alert array.
        static func postedAlert(_ request: HTTPSink.RecordedRequest) throws -> [String: Any] {
            let array = try #require(try JSONSerialization.jsonObject(with: Data(request.body)) as? [Any])
            try #require(array.count == 1, "\(array)")
            return try #require(array[0] as? [String: Any])
        }

        /// Sends `alert` through `yaml`'s one action to a sink; returns the request it got.
        static func send(_ alert: Alert, _ yaml: (String) -> String) async throws -> HTTPSink.RecordedRequest {
            try await HTTPSink.withSink { sink in
                let collected = try await HTTPActionTests.run(yaml(sink.url("/")), for: alert)
                let outcome = try #require(collected.final.first)
                #expect(outcome.status == .success)
                #expect(outcome.kind == "alertmanager")
                return try #require(sink.requests.first)
            }
        }

        @Test func aOneShotAlertEndsResolveAfterItFired() async throws {
            var alert = try ActionFixture.alert([("destination", .string("+622150996455"))])
            alert.firedAt = Self.startsAt
            alert.startsAt = Self.startsAt
            let request = try await Self.send(alert) { url in
                "- alertmanager: {url: \"\(url)\", labels: {team: voice, tier: \"1\"}, resolve_after: 1h30m}"
            }
            #expect(request.method == "POST")
            #expect(request.path == "/api/v2/alerts")
            #expect(request.header("Content-Type") == "application/json")
            #expect(
                request.bodyText
                    == #"[{"labels":{"alertname":"hook-test","destination":"+622150996455","team":"voice","tier":"1"},"#
                    + #""annotations":{"summary":"[FIRING] hook-test destination=+622150996455 — a test alert","#
                    + #""description":"a test alert"},"#
                    + #""startsAt":"2026-11-24T10:00:00.000Z","endsAt":"2026-11-24T11:30:00.000Z"}]"#
            )
        }

        @Test func aFiringConditionHasNoEndAndItsResolutionEndsIt() async throws {
            let firing = try ServiceActionTests.conditionAlert(.firing, startsAt: Self.startsAt)
            var resolved = try ServiceActionTests.conditionAlert(.resolved, startsAt: Self.startsAt)
            resolved.firedAt = Self.startsAt.addingTimeInterval(600)
            let yaml = { (url: String) in "- alertmanager: {url: \"\(url)api/\", labels: {team: voice}}" }
            let firingRequest = try await Self.send(firing, yaml)
            let resolvedRequest = try await Self.send(resolved, yaml)
            // A trailing slash of the url is dropped before the API path.
            #expect(firingRequest.path == "/api/api/v2/alerts")
            let labels = ["alertname": "low-asr", "destinationCountryCode": "ID", "team": "voice"]
            let trigger = try Self.postedAlert(firingRequest)
            #expect(Set(trigger.keys) == ["labels", "annotations", "startsAt"])
            #expect(trigger["labels"] as? [String: String] == labels)
            #expect(
                trigger["annotations"] as? [String: String] == [
                    "summary": "[FIRING] low-asr destinationCountryCode=ID value=0.31 — under 40% answered",
                    "description": "under 40% answered",
                ]
            )
            #expect(trigger["startsAt"] as? String == "2026-11-24T10:00:00.000Z")
            let resolve = try Self.postedAlert(resolvedRequest)
            #expect(Set(resolve.keys) == ["labels", "annotations", "startsAt", "endsAt"])
            #expect(resolve["labels"] as? [String: String] == labels)
            #expect(resolve["startsAt"] as? String == "2026-11-24T10:00:00.000Z")
            #expect(resolve["endsAt"] as? String == "2026-11-24T10:10:00.000Z")
            #expect(
                (resolve["annotations"] as? [String: String])?["summary"]
                    == "[RESOLVED] low-asr destinationCountryCode=ID value=0.31 — under 40% answered"
            )
        }

        @Test func keyFieldsBecomeLabelNamesAndConfiguredLabelsComeLast() throws {
            var alert = try ActionFixture.alert()
            alert.key = [("details.callA.status", "x"), ("9lives", "y"), ("team", "from-key")]
            let body = AlertmanagerAlert.body(for: alert, labels: [("team", "voice")], resolveAfter: .seconds(300))
            guard case .array(let elements) = body, case .object(let object) = elements.first,
                case .object(let labels) = object["labels"]
            else {
                Issue.record("no labels in \(body)")
                return
            }
            #expect(labels.members.map(\.key) == ["alertname", "details_callA_status", "_9lives", "team"])
            #expect(labels["team"] == .string("voice"))
            #expect(AlertmanagerAlert.endpoint("http://am:9093///") == "http://am:9093/api/v2/alerts")
        }

        @Test func checkReportsBadKeysURLsLabelsAndDurations() {
            let yaml = """
                version: 1
                rules:
                  - name: r1
                    when: {callStatus: CALL_DISCONNECTED}
                    actions:
                      - alertmanager: {url: "ftp://am", label: {a: b}}
                      - alertmanager: {url: "http://am:9093", labels: {ok_1: a, 1bad: b, bad-name: c, nested: {x: y}}}
                      - alertmanager: {url: "http://am:9093", labels: [team], resolve_after: 0s}
                      - alertmanager: {labels: {team: voice}}
                """
            #expect(
                DiagnosticsTests.errors(yaml).map(\.description) == [
                    "rules.yaml:6:41: error: unknown key 'label' in alertmanager in rule 'r1'; did you mean 'labels'?",
                    "rules.yaml:6:29: error: alertmanager.url must start with http:// or https:// in rule 'r1'",
                    "rules.yaml:7:65: error: invalid Alertmanager label name '1bad' in rule 'r1': a label name is "
                        + "letters, digits and underscores, not starting with a digit ([a-zA-Z_][a-zA-Z0-9_]*)",
                    "rules.yaml:7:74: error: invalid Alertmanager label name 'bad-name' in rule 'r1': a label name is "
                        + "letters, digits and underscores, not starting with a digit ([a-zA-Z_][a-zA-Z0-9_]*)",
                    "rules.yaml:7:95: error: alertmanager.labels.nested must be a string in rule 'r1'",
                    "rules.yaml:8:55: error: alertmanager.labels must be a mapping in rule 'r1'",
                    "rules.yaml:8:78: error: alertmanager.resolve_after must be longer than 0 in rule 'r1'",
                    "rules.yaml:9:23: error: alertmanager needs a url in rule 'r1'",
                ]
            )
        }

        @Test func aURLWithTheAPIPathIsWarnedAbout() {
            let yaml = """
                version: 1
                rules:
                  - name: r1
                    when: {callStatus: CALL_DISCONNECTED}
                    actions:
                      - alertmanager: {url: "http://am:9093/api/v2/alerts/"}
                """
            #expect(
                DiagnosticsTests.diagnostics(yaml).map(\.description) == [
                    "rules.yaml:6:29: warning: alertmanager.url is Alertmanager's base URL: /api/v2/alerts is added to "
                        + "it, so this posts to http://am:9093/api/v2/alerts/api/v2/alerts in rule 'r1'"
                ]
            )
        }

        /// The alert of `alerts` whose labels are exactly `labels`.
        static func alert(labelled labels: [String: String], in alerts: [[String: Any]]) -> [String: Any]? {
            alerts.first { $0["labels"] as? [String: String] == labels }
        }

        @Test func aRealAlertmanagerShowsAConditionFiringAndThenResolved() async throws {
            try await Alertmanager.withAlertmanager { alertmanager in
                let yaml = "- alertmanager: {url: \"\(alertmanager.baseURL)/\", labels: {team: voice}, retries: 2}"
                // A minute ago, so that the resolution (now) ends after the start.
                let startsAt = Date().addingTimeInterval(-60)
                let firing = try ServiceActionTests.conditionAlert(.firing, startsAt: startsAt)
                let labels = ["alertname": "low-asr", "destinationCountryCode": "ID", "team": "voice"]

                #expect(try await HTTPActionTests.run(yaml, for: firing).final.first?.status == .success)
                var listed: [String: Any]?
                try await waitUntil("Alertmanager to list the firing alert", timeout: .seconds(30)) {
                    listed = Self.alert(labelled: labels, in: try await alertmanager.alerts())
                    return (listed?["status"] as? [String: Any])?["state"] as? String == "active"
                }
                let active = try #require(listed)
                #expect((active["annotations"] as? [String: String])?["summary"] == firing.headline)
                #expect((active["annotations"] as? [String: String])?["description"] == "under 40% answered")
                #expect(
                    (active["startsAt"] as? String).flatMap(Timestamp.parse).map(Timestamp.format)
                        == Timestamp.format(startsAt)
                )
                #expect((active["receivers"] as? [[String: Any]])?.first?["name"] as? String == "null")

                // A one-shot alert of another rule, beside it: it ends resolve_after after it fired.
                let oneShot = try ActionFixture.alert()
                let oneShotYAML = "- alertmanager: {url: \"\(alertmanager.baseURL)\", resolve_after: 2h}"
                #expect(try await HTTPActionTests.run(oneShotYAML, for: oneShot).final.first?.status == .success)
                let oneShotLabels = ["alertname": "hook-test", "destination": "+622150996455"]
                var oneShotListed: [String: Any]?
                try await waitUntil("Alertmanager to list the one-shot alert", timeout: .seconds(30)) {
                    oneShotListed = Self.alert(labelled: oneShotLabels, in: try await alertmanager.alerts())
                    return oneShotListed != nil
                }
                #expect(
                    (oneShotListed?["endsAt"] as? String).flatMap(Timestamp.parse).map(Timestamp.format)
                        == Timestamp.format(oneShot.firedAt.addingTimeInterval(7200))
                )

                var resolved = try ServiceActionTests.conditionAlert(.resolved, startsAt: startsAt)
                resolved.firedAt = Date()
                resolved.endsAt = resolved.firedAt
                #expect(try await HTTPActionTests.run(yaml, for: resolved).final.first?.status == .success)
                // Alertmanager lists no alert whose end has passed: the resolved one is gone, the other stays.
                try await waitUntil("Alertmanager to drop the resolved alert", timeout: .seconds(30)) {
                    Self.alert(labelled: labels, in: try await alertmanager.alerts(query: "?active=true")) == nil
                }
                let remaining = try await alertmanager.alerts()
                #expect(Self.alert(labelled: labels, in: remaining) == nil)
                #expect(Self.alert(labelled: oneShotLabels, in: remaining) != nil)
            }
        }

        @Test func aRealAlertmanagerRefusesNothingCallwatchSends() async throws {
            // Key fields that are not label names, an empty description and a resolution all pass its validation.
            try await Alertmanager.withAlertmanager { alertmanager in
                var alert = try ActionFixture.alert()
                alert.key = [("details.callA.status", "x"), ("9lives", "")]
                alert.description = ""
                let yaml = "- alertmanager: {url: \"\(alertmanager.baseURL)\", retries: 0}"
                let outcome = try #require(try await HTTPActionTests.run(yaml, for: alert).final.first)
                #expect(outcome.status == .success, "\(outcome.reason ?? "") \(alertmanager.log)")
                try await waitUntil("Alertmanager to list the alert", timeout: .seconds(30)) {
                    // An empty label value is no label to Alertmanager.
                    let labels = ["alertname": "hook-test", "details_callA_status": "x"]
                    return Self.alert(labelled: labels, in: try await alertmanager.alerts()) != nil
                }
            }
        }
    }
}
