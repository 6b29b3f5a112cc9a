import Foundation
import Testing

@testable import CallWatch

/// `receivers` and `notify`: named action lists a rule names, checked like inline actions.
@Suite struct ReceiverRulesTests {
    static let receivers = """
        version: 1
        receivers:
          oncall:
            - pagerduty: {routing_key: "${PD_KEY}", severity: critical}
          chat:
            - slack: {url: "https://hooks.slack.com/services/T/B/X"}
            - log: {message: "to chat"}
        rules:
          - name: r1
            when: {callStatus: CALL_DISCONNECTED}
            actions: [{log: {message: inline}}]
            notify: [chat, oncall]

        """

    @Test func notifyAddsEachReceiversActionsAfterTheRulesOwn() throws {
        let ruleSet = try RulesLoader.load(yaml: Self.receivers, path: "rules.yaml", environment: ["PD_KEY": "k"])
        let rule = try #require(ruleSet.rules.first)
        #expect(rule.notify == ["chat", "oncall"])
        #expect(rule.actions.map(\.kind) == ["log", "slack", "log", "pagerduty"])
        #expect(ruleSet.warnings.isEmpty)
    }

    @Test func anUnknownReceiverSuggestsTheClosest() {
        let yaml = Self.receivers.replacingOccurrences(of: "notify: [chat, oncall]", with: "notify: [chat, on-call]")
        #expect(
            DiagnosticsTests.errors(yaml, environment: ["PD_KEY": "k"]).map(\.description) == [
                "rules.yaml:12:20: error: unknown receiver 'on-call' in notify in rule 'r1'; did you mean 'oncall'?"
            ]
        )
    }

    @Test func serviceActionsAreChecked() {
        let yaml = """
            version: 1
            receivers:
              oncall:
                - pagerduty: {severity: critcal}
                - slack: {text: hi}
            rules: []

            """
        #expect(
            DiagnosticsTests.errors(yaml).map(\.description) == [
                "rules.yaml:4:18: error: pagerduty needs a routing_key (the integration key of a PagerDuty service) "
                    + "in receiver 'oncall'",
                "rules.yaml:4:29: error: unknown pagerduty severity 'critcal' in receiver 'oncall'; did you mean "
                    + "'critical'? (one of critical, error, warning, info)",
                "rules.yaml:5:14: error: slack needs a url in receiver 'oncall'",
            ]
        )
    }

    @Test func aMissingSecretIsAnErrorThatNamesTheVariableNotTheValue() {
        let errors = DiagnosticsTests.errors(Self.receivers).map(\.description)
        #expect(errors.count == 1)
        #expect(errors.first?.contains("PD_KEY") == true)
    }
}
