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

extension RuleIndexTests {
    static func candidates(_ ruleSet: RuleSet, _ members: String) throws -> [String] {
        var offered: [Int] = []
        RuleIndex(rules: ruleSet.rules).collectCandidates(try event(#""eventId": "c", "# + members), into: &offered)
        return offered.map { ruleSet.rules[$0].name }
    }

    @Test func anAnyIsFiledUnderEachBranchAndMatchesOnce() throws {
        let rules = try Self.ruleSet(
            """
              - name: timeouts
                when:
                  any: [{sipCode: {in: [504, 408]}}, {all: [{callStatus: CALL_DISCONNECTED}, {source: {prefix: "+65"}}]}]

            """
        )
        #expect(RuleIndex(rules: rules.rules).unindexed.isEmpty)
        #expect(try Self.candidates(rules, #""callStatus": "CALL_CONNECTED", "sipCode": 200"#).isEmpty)
        #expect(try Self.candidates(rules, #""callStatus": "CALL_CONNECTED", "sipCode": 504"#) == ["timeouts"])
        // Both branches' keys: offered twice, matched once.
        let both = #""callStatus": "CALL_DISCONNECTED", "sipCode": "408", "source": "+6531580001""#
        #expect(try Self.candidates(rules, both) == ["timeouts", "timeouts"])
        var engine = Engine(ruleSet: rules)
        #expect(engine.evaluate(try Self.event(#""eventId": "e", "# + both), at: Date()).matchedRules == [0])
    }

    @Test func aKeySharedByManyRulesGetsALevelOfItsOwn() throws {
        let rules = try Self.ruleSet(
            """
              - name: agent
                when: {subAccountId: acme, callStatus: DTMF_RECEIVED}
              - name: errors
                when: {subAccountId: acme, callStatus: {in: [CALL_DISCONNECTED, CALL_FAILED]}, sipCode: {gte: 500}}
              - name: rejects
                when: {subAccountId: acme, sipCode: {in: [403, 486]}}
              - name: any-acme
                when: {subAccountId: acme, callDuration: {gt: 3600}}
              - name: other-tenant
                when: {subAccountId: globex, callStatus: DTMF_RECEIVED}

            """
        )
        let index = RuleIndex(rules: rules.rules)
        #expect(index.unindexed.isEmpty)
        #expect(index.levels.count == 2)
        #expect(try Self.candidates(rules, #""subAccountId": "acme", "callStatus": "CALL_CONNECTED""#) == ["any-acme"])
        #expect(
            try Self.candidates(rules, #""subAccountId": "acme", "callStatus": "CALL_FAILED", "sipCode": 486"#).sorted()
                == ["any-acme", "errors", "rejects"]
        )
        #expect(
            try Self.candidates(rules, #""subAccountId": "globex", "callStatus": "CALL_CONNECTED""#) == ["other-tenant"]
        )
        var engine = Engine(ruleSet: rules)
        let event = try Self.event(
            #""eventId": "e", "subAccountId": "acme", "callStatus": "CALL_FAILED", "sipCode": "503", "callDuration": 4000"#
        )
        #expect(engine.evaluate(event, at: Date()).matchedRules == [1, 3])
    }

    @Test func rulesSharingAWhenAreEvaluatedOnceAndAllMatch() throws {
        let rules = try Self.ruleSet(
            """
              - name: first
                when: {callStatus: CALL_DISCONNECTED, source: {prefix: "+65"}}
                by: [source]
              - name: second
                when: {callStatus: CALL_DISCONNECTED, source: {prefix: "+65"}}
                by: [destination]
              - name: third
                when: {callStatus: CALL_DISCONNECTED, source: {prefix: "+62"}}

            """
        )
        var engine = Engine(ruleSet: rules)
        #expect(engine.predicates.count == 2)
        let hit = #""eventId": "a", "callStatus": "CALL_DISCONNECTED", "source": "+6531580001""#
        #expect(engine.evaluate(try Self.event(hit), at: Date()).matchedRules == [0, 1])
        let miss = #""eventId": "b", "callStatus": "CALL_DISCONNECTED", "source": "+6221500001""#
        #expect(engine.evaluate(try Self.event(miss), at: Date()).matchedRules == [2])
    }
}
