import Foundation
import Testing

@testable import CallWatch

/// What a group's notification renders: `{"alerts": [...]}` for http and exec's stdin, the `alerts` list and
/// `group.*` in templates, a Slack text listing the alerts; and how `group` and `resend` load.
@Suite struct GroupRenderingTests {
    static func members() throws -> [Alert] {
        try ["+6501", "+6502", "+6503"].map { try ActionFixture.alert([("destination", .string($0))]) }
    }

    @Test func httpSendsTheAlertsOfTheGroupAsOneJSONBody() throws {
        let alerts = try Self.members()
        let actions = try ActionFixture.actions(#"- http: {url: "http://127.0.0.1:9/hook"}"#)
        let pending = PendingAction.group("g-1~group", alerts: alerts, actions: [(0, actions[0])])
        guard case .http(let http) = actions[0] else { throw TestDeadline(description: "not an http action") }
        let request = HTTPSender.request(for: http, alert: pending[0].alert, rendering: pending[0].rendering)
        guard case .object(let body) = try JSONParser.parse(String(decoding: request.body, as: UTF8.self)),
            case .array(let listed) = body["alerts"]
        else { throw TestDeadline(description: "no alerts list") }
        #expect(body.members.map(\.key) == ["alerts"])
        #expect(listed == alerts.map(\.json))
        #expect(request.headers.first { $0.name == "Idempotency-Key" }?.value == "g-1~group")
    }

    @Test func templatesSeeTheAlertsListAndTheGroup() throws {
        let alerts = try Self.members()
        let template = try Template("{{group.count}} {{#alerts}}[{{key}} {{status}}]{{/alerts}} {{group.id}}")
        #expect(template.problems().isEmpty)
        let rendering = AlertRendering(group: "g-2~group", alerts: alerts)
        #expect(
            rendering.context.render(template)
                == "3 [destination=+6501 firing][destination=+6502 firing][destination=+6503 firing] g-2~group"
        )
        #expect(rendering.environment["CALLWATCH_ALERT_ID"] == "g-2~group")
        #expect(rendering.environment["CALLWATCH_ALERT_COUNT"] == "3")
        let invocation = ExecRunner.invocation(
            for: ExecAction(command: [try Template("true")], env: [], stdin: .alert, timeout: .seconds(1), retries: 0),
            rendering: rendering
        )
        #expect(invocation.stdin == JSONWriter.string(.object(JSONObject([("alerts", .array(alerts.map(\.json)))]))))
        #expect(
            try Template("{{#alerts}}{{kee}}{{/alerts}}").problems().map(\.message) == [
                "unknown name 'alerts.kee' in template; did you mean 'alerts.key'?"
            ]
        )
    }

    @Test func slacksDefaultTextListsTheAlertsUpToALimit() throws {
        let alerts = try (0..<60).map { try ActionFixture.alert([("destination", .string("+65\($0)"))]) }
        let text = try #require(AlertRendering(group: "g", alerts: alerts).groupHeadline)
        let lines = text.split(separator: "\n")
        #expect(lines.first == "[FIRING] hook-test: 60 alerts")
        #expect(lines[1] == "• [FIRING] hook-test destination=+650 — a test alert")
        #expect(lines.count == 1 + AlertRendering.headlineLimit + 1)
        #expect(lines.last == "… and 10 more")
        var mixed = Array(alerts.prefix(2))
        mixed[1].status = .resolved
        #expect(AlertRendering.headline(of: mixed).hasPrefix("[FIRING 1, RESOLVED 1] hook-test: 2 alerts\n"))
    }

    static func rule(_ extra: String, actions: String = "[{http: {url: \"http://127.0.0.1:9/\"}}]") -> String {
        """
        version: 1
        rules:
          - name: r1
            when: {callStatus: CALL_DISCONNECTED}
            actions: \(actions)
        \(extra)
        """
    }

    @Test func groupLoadsWithDefaultsAndIsChecked() throws {
        let rules = try RulesLoader.load(
            yaml: Self.rule("    group: {wait: 10s}"),
            path: "rules.yaml",
            environment: [:]
        )
        #expect(rules.rules[0].group == Rule.Group(wait: .seconds(10), interval: .seconds(300)))
        #expect(rules.rules[0].isGrouped(0))
        #expect(
            DiagnosticsTests.errors(Self.rule("    group: {wait: -1s, interval: 0s, every: 1m}")).map(\.message) == [
                "unknown key 'every' in group in rule 'r1'",
                "invalid duration '-1s' for group.wait in rule 'r1'; use e.g. 250ms, 30s, 5m, 2h, 7d or 1h30m",
                "group.interval must be longer than 0 in rule 'r1'",
            ]
        )
        let paged = Self.rule(
            "    group: {wait: 10s}",
            actions: "[{pagerduty: {routing_key: k}}]"
        )
        #expect(
            DiagnosticsTests.diagnostics(paged).map(\.message) == [
                "group has no effect in rule 'r1': only log, exec, http and slack actions send a group "
                    + "(pagerduty and alertmanager stay one event per alert)"
            ]
        )
    }

    @Test func alertmanagerResendDefaultsToAMinute() throws {
        let actions = try ActionFixture.actions(
            """
            - alertmanager: {url: "http://127.0.0.1:9093"}
            - alertmanager: {url: "http://127.0.0.1:9093", resend: 15s}
            """
        )
        #expect(actions.map(JournalWriter.resendInterval) == [60, 15])
        let zero = Self.rule("", actions: #"[{alertmanager: {url: "http://127.0.0.1:9093", resend: 0s}}]"#)
        #expect(
            DiagnosticsTests.errors(zero).map(\.message) == ["alertmanager.resend must be longer than 0 in rule 'r1'"]
        )
    }
}
