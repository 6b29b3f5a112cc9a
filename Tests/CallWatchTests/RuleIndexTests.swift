import Foundation
import Testing

@testable import CallWatch

/// The rule index routes an event only to rules that can match it, and never hides a rule from an event its
/// predicate would accept (numbers and numeric strings alike).
@Suite struct RuleIndexTests {
    static func ruleSet(_ rules: String) throws -> RuleSet {
        try RulesLoader.load(yaml: "version: 1\nrules:\n" + rules, path: "index.yaml", environment: [:])
    }

    static func event(_ members: String) throws -> CallEvent {
        try CallEvent.decode("{\(members)}", allowBare: true)
    }

    static let rules = """
          - name: phone
            when: {callStatus: CALL_DISCONNECTED, destination: "+6591000123"}
          - name: quoted-sip
            when: {sipCode: "486"}
          - name: numeric-duration
            when: {callStatus: CALL_DISCONNECTED, callDuration: 0}
          - name: text
            when: {callStatus: CALL_DISCONNECTED, destination: "vn-ref-7"}

        """

    func matched(_ members: String) throws -> [String] {
        var engine = Engine(ruleSet: try Self.ruleSet(Self.rules))
        let evaluation = engine.evaluate(try Self.event(#""eventId": "e", "# + members), at: Date())
        return evaluation.matchedRules.map { engine.ruleSet.rules[$0].name }
    }

    @Test func phoneNumbersAreIndexedAndStillMatch() throws {
        let index = RuleIndex(rules: try Self.ruleSet(Self.rules).rules)
        #expect(index.unindexed.isEmpty)
        #expect(
            try matched(#""callStatus": "CALL_DISCONNECTED", "destination": "+6591000123", "callDuration": 5"#)
                == ["phone"]
        )
        #expect(
            try matched(#""callStatus": "CALL_DISCONNECTED", "destination": "+6591000124", "callDuration": 5"#).isEmpty
        )
    }

    @Test func numericConstantsMeetNumbersAndNumericStrings() throws {
        #expect(try matched(#""sipCode": 486"#) == ["quoted-sip"])
        #expect(try matched(#""sipCode": "486""#) == ["quoted-sip"])
        #expect(try matched(#""callStatus": "CALL_DISCONNECTED", "callDuration": "0""#) == ["numeric-duration"])
        #expect(try matched(#""callStatus": "CALL_DISCONNECTED", "callDuration": 0"#) == ["numeric-duration"])
    }

    @Test func textConstantsMeetOnlyTheirString() throws {
        #expect(
            try matched(#""callStatus": "CALL_DISCONNECTED", "destination": "vn-ref-7", "callDuration": 3"#) == ["text"]
        )
        #expect(try matched(#""callStatus": "CALL_CONNECTED", "destination": "vn-ref-7""#).isEmpty)
    }
}

extension RuleIndexTests {
    @Test func inListsAreIndexedOncePerValue() throws {
        let rules = try Self.ruleSet(
            """
              - name: listed
                when: {callStatus: CALL_DISCONNECTED, destinationCountryCode: {in: [SG, ID, SG]}, sipCode: {in: [486, "486"]}}

            """
        )
        let index = RuleIndex(rules: rules.rules)
        #expect(index.unindexed.isEmpty)
        var engine = Engine(ruleSet: rules)
        let hit = engine.evaluate(
            try Self.event(
                #""eventId": "a", "callStatus": "CALL_DISCONNECTED", "destinationCountryCode": "SG", "sipCode": 486"#
            ),
            at: Date()
        )
        #expect(hit.matchedRules == [0])
        let miss = engine.evaluate(
            try Self.event(
                #""eventId": "b", "callStatus": "CALL_DISCONNECTED", "destinationCountryCode": "MY", "sipCode": 486"#
            ),
            at: Date()
        )
        #expect(miss.matchedRules.isEmpty)
    }
}
