import Foundation
import Testing

@testable import CallWatch

/// The condition kinds as `check` sees them: what each compiles to, and a file:line:col error for every misuse.
@Suite struct ConditionRulesTests {
    static func rules(_ body: String) -> String {
        "version: 1\nrules:\n  - name: r1\n    when: {callStatus: CALL_DISCONNECTED}\n" + body + "    actions: []\n"
    }

    static func errors(_ body: String) -> [String] {
        DiagnosticsTests.errors(rules(body)).map(\.description)
    }

    static func rule(_ body: String) throws -> Rule {
        try #require(try RulesLoader.load(yaml: rules(body), path: "rules.yaml", environment: [:]).rules.first)
    }

    @Test func eachKindCompilesWithItsDefaults() throws {
        let ratio = try Self.rule("    ratio: {of: {sipCode: 200}, within: 15m, min_events: 20, below: 40%}\n")
        #expect(
            ratio.condition
                == .ratio(
                    of: .field(FieldPath("sipCode"), [.equals(Scalar(string: "200", number: 200))]),
                    within: .seconds(900),
                    minEvents: 20,
                    bound: .below(0.4)
                )
        )
        #expect(ratio.timing == ConditionTiming())
        #expect(ratio.cooldown == .zero)

        let aggregate = try Self.rule("    aggregate: {function: p95, field: callDuration, within: 1h, above: 300}\n")
        #expect(
            aggregate.condition
                == .aggregate(
                    function: .p95,
                    field: FieldPath("callDuration"),
                    within: .seconds(3600),
                    minEvents: 1,
                    bound: .above(300)
                )
        )
        let count = try Self.rule("    aggregate: {function: count, within: 10m, below: 1}\n")
        #expect(
            count.condition
                == .aggregate(function: .count, field: nil, within: .seconds(600), minEvents: 1, bound: .below(1))
        )

        let absent = try Self.rule(
            "    absent: {for: 10m}\n    for: 1m\n    keep_firing_for: 2m\n    repeat: 1h\n    send_resolved: false\n"
        )
        #expect(absent.condition == .absent(for: .seconds(600), forget: .seconds(86_400)))
        #expect(
            absent.timing
                == ConditionTiming(
                    pending: .seconds(60),
                    keepFiringFor: .seconds(120),
                    repeatInterval: .seconds(3600),
                    sendResolved: false
                )
        )
        #expect(absent.actions(for: .resolved).isEmpty)
    }

    @Test func aGaugeNeedsNoWhenAndSeesTheEventsThatOpenOrClose() throws {
        let ruleSet = try RulesLoader.load(
            yaml: """
                version: 1
                rules:
                  - name: concurrent
                    by: [subAccountId]
                    gauge: {open: {callStatus: CALL_CONNECTED}, close: {callStatus: CALL_DISCONNECTED}, id: callId, above: 50}
                    actions: []
                """,
            path: "rules.yaml",
            environment: [:]
        )
        #expect(ruleSet.warnings.isEmpty)
        let rule = try #require(ruleSet.rules.first)
        let connected = try EngineTests.event(#""eventId": "e1", "callStatus": "CALL_CONNECTED", "callId": "c1""#)
        let received = try EngineTests.event(#""eventId": "e2", "callStatus": "CALL_RECEIVED", "callId": "c1""#)
        #expect(rule.predicate.matches(connected))
        #expect(!rule.predicate.matches(received))
        guard case .gauge(_, _, let id, let bound, let maxAge) = rule.condition else {
            Issue.record("not a gauge: \(String(describing: rule.condition))")
            return
        }
        #expect(id == FieldPath("callId"))
        #expect(bound == .above(50))
        #expect(maxAge == .seconds(4 * 3600))
    }

    @Test func aMissingOrExtraBoundIsAnError() {
        #expect(
            Self.errors("    ratio: {of: {sipCode: 200}, within: 15m}\n") == [
                "rules.yaml:5:12: error: ratio needs a bound: 'below: X' or 'above: X' in rule 'r1'"
            ]
        )
        #expect(
            Self.errors("    ratio: {of: {sipCode: 200}, within: 15m, below: 0.4, above: 0.1}\n") == [
                "rules.yaml:5:58: error: ratio takes one bound, 'below' or 'above', not both in rule 'r1' "
                    + "(write two rules for a band)"
            ]
        )
        #expect(
            Self.errors("    aggregate: {function: avg, field: callDuration, within: 1m, below: ten}\n") == [
                "rules.yaml:5:72: error: aggregate.below must be a number (e.g. 0.4, 40% or 10) in rule 'r1'"
            ]
        )
    }

    @Test func aFunctionsFieldAndMinEventsAreChecked() {
        #expect(
            Self.errors("    aggregate: {function: avg, within: 15m, below: 10}\n") == [
                "rules.yaml:5:16: error: aggregate function 'avg' needs a 'field' (e.g. callDuration) in rule 'r1'"
            ]
        )
        #expect(
            Self.errors("    aggregate: {function: count, within: 15m, min_events: 5, below: 1}\n") == [
                "rules.yaml:5:47: error: 'min_events' does not apply to 'count' in rule 'r1': a count is judged "
                    + "however few events there are"
            ]
        )
        #expect(
            Self.errors("    aggregate: {function: count, field: callDuration, within: 15m, below: 1}\n") == [
                "rules.yaml:5:34: error: aggregate function 'count' counts events and takes no 'field' in rule 'r1'"
            ]
        )
        #expect(
            Self.errors("    aggregate: {function: avrg, field: callDuration, within: 15m, below: 10}\n") == [
                "rules.yaml:5:27: error: unknown aggregate function 'avrg' in rule 'r1'; did you mean 'avg'? "
                    + "(one of count, sum, avg, min, max, p50, p90, p95, p99)"
            ]
        )
    }

    @Test func cooldownOnAConditionPointsAtKeepFiringForAndRepeat() {
        #expect(
            Self.errors("    absent: {for: 10m}\n    cooldown: 5m\n") == [
                "rules.yaml:6:5: error: 'cooldown' does not apply to a absent rule in rule 'r1': its alert fires once "
                    + "and resolves; use 'keep_firing_for' to keep it firing through short recoveries, or 'repeat' "
                    + "to notify again while it fires"
            ]
        )
    }

    @Test func twoKindsInOneRuleAreAnError() {
        #expect(
            Self.errors("    window: {count: 3, within: 5m}\n    absent: {for: 10m}\n") == [
                "rules.yaml:6:5: error: a rule takes one of 'window', 'sequence', 'ratio', 'aggregate', 'absent', "
                    + "'gauge', not both 'window' and 'absent' in rule 'r1'"
            ]
        )
    }

    @Test func timingKeysNeedACondition() {
        #expect(
            Self.errors("    window: {count: 3, within: 5m}\n    keep_firing_for: 5m\n") == [
                "rules.yaml:6:5: error: 'keep_firing_for' applies only to ratio, aggregate, absent and gauge rules "
                    + "in rule 'r1'"
            ]
        )
    }

    @Test func unknownKeysInAKindSuggestTheClosest() {
        #expect(
            Self.errors("    absent: {for: 10m, forgett: 1h}\n") == [
                "rules.yaml:5:24: error: unknown key 'forgett' in absent in rule 'r1'; did you mean 'forget'?"
            ]
        )
        #expect(
            Self.errors("    ratio: {of: {sipCode: 200}, within: 0s, below: 0.4}\n") == [
                "rules.yaml:5:41: error: ratio.within must be longer than 0 in rule 'r1'"
            ]
        )
    }
}
