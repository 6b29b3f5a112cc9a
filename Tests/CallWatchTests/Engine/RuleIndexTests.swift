import CallWatchTestSupport
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

    @Test func twoBranchesUnderOneKeyAreBothIndexedOnTheNextLevel() throws {
        let rules = try Self.ruleSet(
            """
              - name: either-status
                when:
                  any: [{sipCode: 486, callStatus: CALL_FAILED}, {sipCode: 486, callStatus: CALL_DISCONNECTED}]
              - name: busy-a
                when: {sipCode: 486, callStatus: CALL_CONNECTED}
              - name: busy-b
                when: {sipCode: 486, callStatus: CALL_UPDATED}

            """
        )
        #expect(RuleIndex(rules: rules.rules).levels.count == 2)
        var engine = Engine(ruleSet: rules)
        for (status, expected) in [("CALL_FAILED", [0]), ("CALL_DISCONNECTED", [0]), ("CALL_CONNECTED", [1])] {
            let event = try Self.event(#""eventId": "\#(status)", "sipCode": 486, "callStatus": "\#(status)""#)
            #expect(engine.evaluate(event, at: Date()).matchedRules == expected)
        }
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

extension RuleIndexTests {
    /// The index must offer every rule whose `when` holds: random rule sets (equalities, `in` lists, ranges,
    /// `any`/`all`/`not`, numbers as numbers and as strings) against random events, checked rule by rule.
    @Test func neverHidesARuleWhosePredicateHolds() throws {
        let seed = UInt64.random(in: 0...UInt64.max)  // printed with any failure, to replay it
        var random = SeededGenerator(seed: seed)
        let statuses = ["CALL_DISCONNECTED", "CALL_FAILED", "CALL_CONNECTED", "DTMF_RECEIVED"]
        let accounts = ["acme", "globex", "initech"]
        let codes = [200, 404, 486, 503]
        func condition() -> String {
            switch Int.random(in: 0..<7, using: &random) {
            case 0: "callStatus: \(statuses.randomElement(using: &random)!)"
            case 1: "subAccountId: \(accounts.randomElement(using: &random)!)"
            case 2: "sipCode: \(codes.randomElement(using: &random)!)"
            case 3: #"sipCode: "\#(codes.randomElement(using: &random)!)""#
            case 4: "sipCode: {in: [\(codes.randomElement(using: &random)!), \(codes.randomElement(using: &random)!)]}"
            case 5: "callDuration: {gt: \(Int.random(in: 0..<60, using: &random))}"
            default: "destination: {prefix: \"+6\(Int.random(in: 0..<3, using: &random))\"}"
            }
        }
        func predicate(depth: Int) -> String {
            let parts = (0..<Int.random(in: 1...3, using: &random)).map { _ in
                depth < 2 && Bool.random(using: &random)
                    ? ["any", "all", "not"].randomElement(using: &random)! == "not"
                        ? "{not: \(predicate(depth: depth + 1))}"
                        : "{\(["any", "all"].randomElement(using: &random)!): [\(predicate(depth: depth + 1)), \(predicate(depth: depth + 1))]}"
                    : "{\(condition())}"
            }
            return parts.count == 1 ? parts[0] : "{all: [\(parts.joined(separator: ", "))]}"
        }
        for round in 0..<20 {
            let yaml = (0..<40).map { "  - name: r\(round)-\($0)\n    when: \(predicate(depth: 0))\n" }.joined()
            let rules = try Self.ruleSet(yaml)
            let index = RuleIndex(rules: rules.rules)
            for serial in 0..<200 {
                let code = codes.randomElement(using: &random)!
                let event = try Self.event(
                    #""eventId": "e\#(serial)", "callStatus": "\#(statuses.randomElement(using: &random)!)", "#
                        + #""subAccountId": "\#(accounts.randomElement(using: &random)!)", "#
                        + (Bool.random(using: &random) ? #""sipCode": \#(code), "# : #""sipCode": "\#(code)", "#)
                        + #""callDuration": \#(Int.random(in: 0..<60, using: &random)), "#
                        + #""destination": "+6\#(Int.random(in: 0..<3, using: &random))5550123""#
                )
                var offered: [Int] = []
                index.collectCandidates(event, into: &offered)
                for (position, rule) in rules.rules.enumerated() where rule.predicate.matches(event) {
                    #expect(
                        offered.contains(position),
                        "seed \(seed): \(rule.name) holds but was not offered:\n\(yaml)"
                    )
                }
            }
        }
    }
}
