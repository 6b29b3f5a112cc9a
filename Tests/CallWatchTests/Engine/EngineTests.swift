import Foundation
import Testing

@testable import CallWatch

/// Rule state and alerts: windows, sequences, cooldowns, bounded state, reload carry-over, the rule index,
/// and the alert JSON. Time is always passed in: nothing here sleeps.
@Suite struct EngineTests {
    static let origin = Date(timeIntervalSince1970: 1_795_514_400)  // 2026-11-24T10:00:00Z

    static func at(_ seconds: Double) -> Date { origin.addingTimeInterval(seconds) }

    static func ruleSet(_ rules: String) throws -> RuleSet {
        try RulesLoader.load(yaml: "version: 1\nrules:\n" + rules, path: "engine.yaml", environment: [:])
    }

    static func engine(_ rules: String) throws -> Engine {
        Engine(ruleSet: try ruleSet(rules))
    }

    static func event(_ members: String) throws -> CallEvent {
        try CallEvent.decode("{\(members)}", allowBare: true)
    }

    static func failure(_ id: String, to destination: String = "+622150996455", sip: Int = 486) throws -> CallEvent {
        try event(
            #""eventId": "\#(id)", "callStatus": "CALL_DISCONNECTED", "sipCode": \#(sip), "destination": "\#(destination)""#
        )
    }

    static func digits(_ id: String, _ eventData: String, call: String = "c1") throws -> CallEvent {
        try event(
            #""eventId": "\#(id)", "callStatus": "DTMF_RECEIVED", "callId": "\#(call)", "eventData": \#(eventData)"#
        )
    }

    static func disconnect(_ id: String, call: String = "c1") throws -> CallEvent {
        try event(#""eventId": "\#(id)", "callStatus": "CALL_DISCONNECTED", "callId": "\#(call)", "sipCode": 200"#)
    }

    static let windowRule = """
          - name: sip-failures
            description: three failures within five minutes
            when: {callStatus: CALL_DISCONNECTED, sipCode: {gte: 400}}
            by: [destination]
            window: {count: 3, within: 5m}
            actions: []

        """

    static let sequenceRule = """
          - name: agent
            when: {callStatus: DTMF_RECEIVED}
            by: [callId]
            sequence: {field: dtmf, pattern: '\\*9#', within: 30s}
            actions: []

        """

    /// Feeds `(seconds, event)` pairs; returns what fired, per event.
    static func run(_ engine: inout Engine, _ steps: [(Double, CallEvent)]) -> [[Alert]] {
        steps.map { engine.evaluate($0.1, at: at($0.0)).fired }
    }

    // MARK: Windows

    @Test func windowFiresWhenNEventsSitExactlyOnTheEdge() throws {
        var engine = try Self.engine(Self.windowRule)
        let fired = Self.run(
            &engine,
            [(0, try Self.failure("a")), (150, try Self.failure("b")), (300, try Self.failure("c"))]
        )
        #expect(fired.map(\.count) == [0, 0, 1])
        let alert = try #require(fired[2].first)
        #expect(alert.rule == "sip-failures")
        #expect(alert.count == 3)
        #expect(alert.events.map(\.identity) == ["CALL_STATUS:a", "CALL_STATUS:b", "CALL_STATUS:c"])
        #expect(alert.firstAt == Self.at(0))
        #expect(alert.lastAt == Self.at(300))
        #expect(alert.firedAt == Self.at(300))
        #expect(alert.key.map(\.field) == ["destination"])
        #expect(alert.key.map(\.value) == ["+622150996455"])
        #expect(alert.match == nil)
    }

    @Test func windowStaysQuietWhenNEventsSpreadWider() throws {
        var engine = try Self.engine(Self.windowRule)
        let fired = Self.run(
            &engine,
            [(0, try Self.failure("a")), (150, try Self.failure("b")), (300.001, try Self.failure("c"))]
        )
        #expect(fired.joined().isEmpty)
    }

    @Test func windowFiresOnTheLastNOfNPlusOneSpreadWider() throws {
        var engine = try Self.engine(Self.windowRule)
        let fired = Self.run(
            &engine,
            [
                (0, try Self.failure("a")), (100, try Self.failure("b")), (350, try Self.failure("c")),
                (390, try Self.failure("d")),
            ]
        )
        #expect(fired.map(\.count) == [0, 0, 0, 1])
        let alert = try #require(fired[3].first)
        #expect(
            alert.events.map(\.identity) == ["CALL_STATUS:b", "CALL_STATUS:c", "CALL_STATUS:d"],
            "the stale first event is not part of the alert"
        )
        #expect(alert.firstAt == Self.at(100))
    }

    @Test func windowKeysAreIndependent() throws {
        var engine = try Self.engine(Self.windowRule)
        let fired = Self.run(
            &engine,
            [
                (0, try Self.failure("a1", to: "A")), (1, try Self.failure("b1", to: "B")),
                (2, try Self.failure("a2", to: "A")), (3, try Self.failure("b2", to: "B")),
                (4, try Self.failure("a3", to: "A")),
            ]
        )
        #expect(fired.map(\.count) == [0, 0, 0, 0, 1])
        #expect(fired[4].first?.key.first?.value == "A")
        #expect(fired[4].first?.events.map(\.identity) == ["CALL_STATUS:a1", "CALL_STATUS:a2", "CALL_STATUS:a3"])
    }

    @Test func windowIsEmptiedAfterFiring() throws {
        var engine = try Self.engine(Self.windowRule)
        var steps: [(Double, CallEvent)] = []
        for index in 0..<7 { steps.append((Double(index) * 10, try Self.failure("e\(index)"))) }
        let fired = Self.run(&engine, steps)
        #expect(fired.map(\.count) == [0, 0, 1, 0, 0, 1, 0])
        #expect(fired[5].first?.events.map(\.identity) == ["CALL_STATUS:e3", "CALL_STATUS:e4", "CALL_STATUS:e5"])
    }

    @Test func nonMatchingEventsDoNotCountTowardsAWindow() throws {
        var engine = try Self.engine(Self.windowRule)
        let fired = Self.run(
            &engine,
            [
                (0, try Self.failure("a")), (1, try Self.failure("ok", sip: 200)), (2, try Self.failure("b")),
                (3, try Self.failure("ok2", sip: 180)),
            ]
        )
        #expect(fired.joined().isEmpty)
    }

    @Test func ruleWithoutStateFiresOnEveryMatch() throws {
        var engine = try Self.engine(
            """
              - name: zero
                when: {callStatus: CALL_DISCONNECTED, callDuration: 0}
                actions: []

            """
        )
        let zero = try Self.event(#""eventId": "z1", "callStatus": "CALL_DISCONNECTED", "callDuration": "0""#)
        let zeroAgain = try Self.event(#""eventId": "z2", "callStatus": "CALL_DISCONNECTED", "callDuration": 0"#)
        let long = try Self.event(#""eventId": "z3", "callStatus": "CALL_DISCONNECTED", "callDuration": 12"#)
        let fired = Self.run(&engine, [(0, zero), (0, zeroAgain), (1, long)])
        #expect(fired.map(\.count) == [1, 1, 0])
        #expect(fired[0].first?.count == 1)
        #expect(fired[0].first?.key.isEmpty == true)
        #expect(engine.stateCount == 0, "a rule with no window, sequence or cooldown keeps no state")
    }

    // MARK: Sequences

    @Test func sequenceConcatenatesDigitsAcrossEvents() throws {
        var engine = try Self.engine(Self.sequenceRule)
        let fired = Self.run(
            &engine,
            [
                (0, try Self.digits("d1", #"{"dtmf": "*"}"#)), (2, try Self.digits("d2", #""9""#)),
                (4, try Self.digits("d3", ##"{"dtmf": "#"}"##)),
            ]
        )
        #expect(fired.map(\.count) == [0, 0, 1])
        let alert = try #require(fired[2].first)
        #expect(alert.match == "*9#")
        #expect(alert.count == 3)
        #expect(alert.events.map(\.identity) == ["CALL_STATUS:d1", "CALL_STATUS:d2", "CALL_STATUS:d3"])
        #expect(alert.firstAt == Self.at(0))
        #expect(alert.lastAt == Self.at(4))
        #expect(alert.key.map(\.value) == ["c1"])
    }

    @Test func sequenceMatchesInsideLongerInputAndAcrossMultiDigitEvents() throws {
        var engine = try Self.engine(Self.sequenceRule)
        let fired = Self.run(
            &engine,
            [(0, try Self.digits("d1", #"" 12*""#)), (1, try Self.digits("d2", #"{"dtmf": "9#4"}"#))]
        )
        #expect(fired[1].first?.match == "*9#")
    }

    @Test func sequenceDropsDigitsOlderThanWithin() throws {
        var engine = try Self.engine(Self.sequenceRule)
        let fired = Self.run(
            &engine,
            [
                (0, try Self.digits("d1", #""*""#)), (31, try Self.digits("d2", #""9""#)),
                (32, try Self.digits("d3", ##""#""##)),
            ]
        )
        #expect(fired.joined().isEmpty, "'*' expired before '9' arrived")
    }

    @Test func matchSpanningStaleDigitsDoesNotFire() throws {
        var engine = try Self.engine(Self.sequenceRule)
        let stale = Self.run(
            &engine,
            [(0, try Self.digits("d1", #""*9""#)), (30.001, try Self.digits("d2", ##""#""##))]
        )
        #expect(stale.joined().isEmpty)

        var edge = try Self.engine(Self.sequenceRule)
        let fresh = Self.run(
            &edge,
            [(0, try Self.digits("d1", #""*9""#)), (30, try Self.digits("d2", ##""#""##))]
        )
        #expect(fresh[1].first?.match == "*9#", "digits exactly `within` old still count")
    }

    @Test func sequenceIgnoresBlankEventData() throws {
        var engine = try Self.engine(Self.sequenceRule)
        let fired = Self.run(
            &engine,
            [
                (0, try Self.digits("d1", #""*""#)), (1, try Self.digits("d2", #"" ""#)),
                (2, try Self.digits("d3", #"{"dtmf": "9"}"#)), (3, try Self.digits("d4", ##""#""##)),
            ]
        )
        #expect(fired[3].first?.match == "*9#")
        #expect(fired[3].first?.events.map(\.identity) == ["CALL_STATUS:d1", "CALL_STATUS:d3", "CALL_STATUS:d4"])
    }

    @Test func sequenceBufferIsCappedAt64Characters() throws {
        let rule = """
              - name: capped
                when: {callStatus: DTMF_RECEIVED}
                by: [callId]
                sequence: {field: dtmf, pattern: '^1[0-9]*#', within: 1h}
                actions: []

            """
        // "1" + 62 zeros + "#" is 64 characters: the leading "1" is still buffered.
        var fits = try Self.engine(rule)
        let fitting = Self.run(
            &fits,
            [
                (0, try Self.digits("a", #""1""#)),
                (1, try Self.digits("b", "\"\(String(repeating: "0", count: 62))\"")),
                (2, try Self.digits("c", ##""#""##)),
            ]
        )
        #expect(fitting[2].first?.match == "1" + String(repeating: "0", count: 62) + "#")

        // One more digit pushes the "1" out.
        var overflows = try Self.engine(rule)
        let overflowing = Self.run(
            &overflows,
            [
                (0, try Self.digits("a", #""1""#)),
                (1, try Self.digits("b", "\"\(String(repeating: "0", count: 63))\"")),
                (2, try Self.digits("c", ##""#""##)),
            ]
        )
        #expect(overflowing.joined().isEmpty)
    }

    @Test func disconnectDropsTheCallsBuffer() throws {
        var engine = try Self.engine(Self.sequenceRule)
        let fired = Self.run(
            &engine,
            [
                (0, try Self.digits("d1", #""*9""#)), (1, try Self.disconnect("x1")),
                (2, try Self.digits("d2", ##""#""##)),
            ]
        )
        #expect(fired.joined().isEmpty)
    }

    @Test func anotherCallsDisconnectKeepsTheBuffer() throws {
        var engine = try Self.engine(Self.sequenceRule)
        let fired = Self.run(
            &engine,
            [
                (0, try Self.digits("d1", #""*9""#)), (1, try Self.disconnect("x1", call: "c2")),
                (2, try Self.digits("d2", ##""#""##)),
            ]
        )
        #expect(fired[2].first?.match == "*9#")
    }

    @Test func disconnectDropsTheBufferOfAnUnkeyedSequenceOnlyForItsCall() throws {
        let rule = """
              - name: unkeyed
                when: {callStatus: DTMF_RECEIVED}
                sequence: {pattern: '\\*9#', within: 30s}
                actions: []

            """
        var other = try Self.engine(rule)
        let kept = Self.run(
            &other,
            [
                (0, try Self.digits("d1", #""*9""#)), (1, try Self.disconnect("x", call: "c2")),
                (2, try Self.digits("d2", ##""#""##)),
            ]
        )
        #expect(kept[2].count == 1)

        var same = try Self.engine(rule)
        let dropped = Self.run(
            &same,
            [
                (0, try Self.digits("d1", #""*9""#)), (1, try Self.disconnect("x", call: "c1")),
                (2, try Self.digits("d2", ##""#""##)),
            ]
        )
        #expect(dropped.joined().isEmpty)
    }

    @Test func disconnectAfterAReloadStillDropsTheBuffer() throws {
        let rule = """
              - name: unkeyed
                when: {callStatus: DTMF_RECEIVED}
                sequence: {pattern: '\\*9#', within: 30s}
                actions: []

            """
        var old = try Self.engine(rule)
        #expect(old.evaluate(try Self.digits("d1", #""*9""#), at: Self.at(0)).fired.isEmpty)
        var reloaded = Engine(ruleSet: try Self.ruleSet(Self.sequenceRule + rule), carryingStateFrom: old)
        #expect(reloaded.evaluate(try Self.disconnect("x"), at: Self.at(1)).fired.isEmpty)
        #expect(reloaded.evaluate(try Self.digits("d2", ##""#""##, call: "c2"), at: Self.at(2)).fired.isEmpty)
    }

    @Test func callsWithDigitsButNoDisconnectStayBounded() throws {
        var engine = try Self.engine(Self.sequenceRule)
        for call in 0..<50_000 {
            _ = engine.evaluate(try Self.digits("d\(call)", #""1""#, call: "c\(call)"), at: Self.at(Double(call)))
        }
        // One call per second with a 30 s `within`: only the recent ones can still hold digits.
        #expect(engine.bufferedCalls.count < 2_100)
    }

    @Test func sequenceMatchFiresAndEmptiesTheBuffer() throws {
        var engine = try Self.engine(Self.sequenceRule)
        let fired = Self.run(
            &engine,
            [
                (0, try Self.digits("d1", #""*9#""#)), (1, try Self.digits("d2", ##""#""##)),
                (2, try Self.digits("d3", #""*9""#)), (3, try Self.digits("d4", ##""#""##)),
            ]
        )
        #expect(fired.map(\.count) == [1, 0, 0, 1], "without emptying, '*9##' would fire again at once")
        #expect(fired[3].first?.match == "*9#")
        #expect(
            fired[3].first?.events.contains { $0.identity == "CALL_STATUS:d1" } == false,
            "d1 left with the first match"
        )
    }

    @Test func sequenceKeysAreIndependent() throws {
        var engine = try Self.engine(Self.sequenceRule)
        let fired = Self.run(
            &engine,
            [
                (0, try Self.digits("a1", #""*""#, call: "A")), (1, try Self.digits("b1", #""9""#, call: "B")),
                (2, try Self.digits("b2", ##""#""##, call: "B")), (3, try Self.digits("a2", #""9#""#, call: "A")),
            ]
        )
        #expect(fired.map(\.count) == [0, 0, 0, 1])
        #expect(fired[3].first?.key.first?.value == "A")
    }

    // MARK: Cooldowns

    static let cooldownRule = """
          - name: failures
            when: {callStatus: CALL_DISCONNECTED, sipCode: {gte: 400}}
            by: [destination]
            cooldown: 1m
            actions: []

        """

    @Test func cooldownSuppressesAndThenExpires() throws {
        var engine = try Self.engine(Self.cooldownRule)
        var evaluations: [Engine.Evaluation] = []
        for (seconds, id) in [(0.0, "a"), (30, "b"), (59.999, "c"), (60, "d"), (61, "e")] {
            evaluations.append(engine.evaluate(try Self.failure(id), at: Self.at(seconds)))
        }
        #expect(evaluations.map(\.fired.count) == [1, 0, 0, 1, 0])
        #expect(evaluations.map(\.suppressed.count) == [0, 1, 1, 0, 1])
        #expect(evaluations[1].suppressed.first?.events.first?.identity == "CALL_STATUS:b")
        #expect(evaluations[1].suppressed.first?.rule == "failures")
        #expect(evaluations.allSatisfy { $0.matchedRules == [0] })
    }

    @Test func cooldownIsPerKey() throws {
        var engine = try Self.engine(Self.cooldownRule)
        let first = engine.evaluate(try Self.failure("a", to: "A"), at: Self.at(0))
        let other = engine.evaluate(try Self.failure("b", to: "B"), at: Self.at(1))
        let again = engine.evaluate(try Self.failure("c", to: "A"), at: Self.at(2))
        #expect(first.fired.count == 1)
        #expect(other.fired.count == 1)
        #expect(again.fired.isEmpty)
        #expect(again.suppressed.count == 1)
    }

    @Test func cooldownHoldsBackASecondWindow() throws {
        var engine = try Self.engine(
            """
              - name: bursts
                when: {callStatus: CALL_DISCONNECTED}
                window: {count: 2, within: 1m}
                cooldown: 10m
                actions: []

            """
        )
        var fired: [Int] = []
        var suppressed: [Int] = []
        for (index, seconds) in [0.0, 10, 20, 30, 700, 710].enumerated() {
            let evaluation = engine.evaluate(try Self.failure("e\(index)"), at: Self.at(seconds))
            fired.append(evaluation.fired.count)
            suppressed.append(evaluation.suppressed.count)
        }
        #expect(fired == [0, 1, 0, 0, 0, 1])
        #expect(suppressed == [0, 0, 0, 1, 0, 0])
    }

    // MARK: Bounded state

    @Test func stateStaysBoundedUnderAMillionDistinctKeys() throws {
        var engine = try Self.engine(
            """
              - name: pairs
                when: {callStatus: CALL_DISCONNECTED}
                by: [destination]
                window: {count: 2, within: 1m}
                actions: []

            """
        )
        // One decoded event with its destination slot rewritten: the engine, not decoding, is under test here.
        var event = try Self.failure("template")
        let destination = EventField.destination.rawValue
        var largest = 0
        var fired = 0
        for index in 0..<1_000_000 {
            event.slots[destination] = .string("+65\(index)")
            fired += engine.evaluate(event, at: Self.at(Double(index))).fired.count
            if index == 0 { #expect(engine.stateCount == 1 && event[.destination] == .string("+650")) }
            largest = max(largest, engine.stateCount)
        }
        #expect(fired == 0, "every key saw one event: nothing can fire")
        #expect(largest > 60, "a key lives for the window's minute")
        #expect(largest < 3000, "state grew to \(largest) keys")
        engine.sweep(at: Self.at(1_000_000 + 61))
        #expect(engine.stateCount == 0)
    }

    @Test func cooldownAndSequenceStateStaysBoundedToo() throws {
        var engine = try Self.engine(
            Self.sequenceRule
                + """
                  - name: cooled
                    when: {callStatus: DTMF_RECEIVED}
                    by: [callId]
                    cooldown: 30s
                    actions: []

                """
        )
        let template = try Self.digits("template", #""1""#)
        var payload = template.payload
        var largest = 0
        var fired = 0
        for index in 0..<10_000 {
            payload["callId"] = .string("call-\(index)")
            let event = CallEvent(envelope: template.envelope, payload: payload)
            fired += engine.evaluate(event, at: Self.at(Double(index))).fired.count
            largest = max(largest, engine.stateCount)
        }
        #expect(fired == 10_000, "the cooldown rule fires once for every new call")
        #expect(largest > 30)
        #expect(largest < 3000, "state grew to \(largest) keys")
        engine.sweep(at: Self.at(10_000 + 31))
        #expect(engine.stateCount == 0)
    }

    @Test func stateOfAKeyOutlivesItsLastEventOnlyWhileItCanFire() throws {
        var engine = try Self.engine(Self.windowRule)
        _ = engine.evaluate(try Self.failure("a"), at: Self.at(0))
        engine.sweep(at: Self.at(300))
        #expect(engine.stateCount == 1, "the event can still be part of a window at the edge")
        engine.sweep(at: Self.at(300.001))
        #expect(engine.stateCount == 0)
    }

    // MARK: Reload

    @Test func reloadKeepsStateOfUnchangedRules() throws {
        var old = try Self.engine(Self.windowRule)
        _ = Self.run(&old, [(0, try Self.failure("a")), (1, try Self.failure("b"))])
        // The description and actions changed; the name and state definition did not.
        let edited = Self.windowRule.replacingOccurrences(of: "three failures", with: "3 failures")
            .replacingOccurrences(of: "actions: []", with: "actions: [{log: {message: hi}}]")
        var reloaded = Engine(ruleSet: try Self.ruleSet(edited), carryingStateFrom: old)
        let fired = reloaded.evaluate(try Self.failure("c"), at: Self.at(2)).fired
        #expect(fired.count == 1)
        #expect(fired.first?.events.map(\.identity) == ["CALL_STATUS:a", "CALL_STATUS:b", "CALL_STATUS:c"])
        #expect(fired.first?.description == "3 failures within five minutes")
    }

    @Test func reloadDropsStateWhenTheWindowChanges() throws {
        var old = try Self.engine(Self.windowRule)
        _ = Self.run(&old, [(0, try Self.failure("a")), (1, try Self.failure("b"))])
        let widened = Self.windowRule.replacingOccurrences(of: "within: 5m", with: "within: 10m")
        var reloaded = Engine(ruleSet: try Self.ruleSet(widened), carryingStateFrom: old)
        #expect(reloaded.stateCount == 0)
        #expect(reloaded.evaluate(try Self.failure("c"), at: Self.at(2)).fired.isEmpty)
    }

    @Test func reloadDropsStateOfARenamedRule() throws {
        var old = try Self.engine(Self.windowRule)
        _ = Self.run(&old, [(0, try Self.failure("a")), (1, try Self.failure("b"))])
        let renamed = Self.windowRule.replacingOccurrences(of: "name: sip-failures", with: "name: sip-failures-2")
        var reloaded = Engine(ruleSet: try Self.ruleSet(renamed), carryingStateFrom: old)
        #expect(reloaded.evaluate(try Self.failure("c"), at: Self.at(2)).fired.isEmpty)
    }

    @Test func reloadKeepsCooldownsSoNothingIsResent() throws {
        var old = try Self.engine(Self.cooldownRule)
        #expect(old.evaluate(try Self.failure("a"), at: Self.at(0)).fired.count == 1)
        var reloaded = Engine(ruleSet: try Self.ruleSet(Self.cooldownRule), carryingStateFrom: old)
        let after = reloaded.evaluate(try Self.failure("b"), at: Self.at(5))
        #expect(after.fired.isEmpty)
        #expect(after.suppressed.count == 1)
    }

    // MARK: Rule index

    static let indexedRules = """
          - name: disconnected
            when: {callStatus: CALL_DISCONNECTED}
            actions: []
          - name: connected
            when: {callStatus: CALL_CONNECTED}
            actions: []
          - name: either
            when:
              any: [{callStatus: CALL_CONNECTED}, {callStatus: CALL_DISCONNECTED}]
            actions: []
          - name: not-initiated
            when: {not: {callStatus: CALL_INITIATED}}
            actions: []
          - name: disconnected-too
            when: {callStatus: CALL_DISCONNECTED, destination: "+6531580001"}
            actions: []
          - name: quoted-number
            when: {sipCode: "486"}
            actions: []

        """

    static func firedRules(_ engine: inout Engine, _ members: String) throws -> [String] {
        engine.evaluate(try event(#""eventId": "x", "# + members), at: origin).fired.map(\.rule)
    }

    @Test func indexRoutesEventsOnlyToRulesThatCanMatch() throws {
        var engine = try Self.engine(Self.indexedRules)
        #expect(
            try Self.firedRules(&engine, #""callStatus": "CALL_DISCONNECTED", "destination": "+6531580001""#)
                == ["disconnected", "either", "not-initiated", "disconnected-too"]
        )
        #expect(
            try Self.firedRules(&engine, #""callStatus": "CALL_CONNECTED""#) == [
                "connected", "either", "not-initiated",
            ]
        )
        #expect(try Self.firedRules(&engine, #""callStatus": "CALL_INITIATED""#) == [])
        #expect(
            try Self.firedRules(&engine, #""callStatus": "CALL_UPDATED", "sipCode": 486"#) == [
                "not-initiated", "quoted-number",
            ]
        )
        #expect(try Self.firedRules(&engine, #""sipCode": "486""#) == ["not-initiated", "quoted-number"])

        // The rule keyed on callStatus is not even a candidate for other statuses.
        // Nor is the `any` of two statuses, which is filed under each.
        var offered: [Int] = []
        engine.index.collectCandidates(try Self.event(#""eventId": "y", "callStatus": "CALL_UPDATED""#), into: &offered)
        let candidates = offered.map { engine.ruleSet.rules[$0].name }
        #expect(!candidates.contains("disconnected"))
        #expect(!candidates.contains("connected"))
        #expect(!candidates.contains("either"))
        #expect(candidates.contains("not-initiated"))
    }

    // MARK: Alerts

    @Test func alertJSONHasTheDocumentedFieldsInOrder() throws {
        var engine = try Self.engine(Self.windowRule)
        let fired = Self.run(
            &engine,
            [(0, try Self.failure("a")), (60.5, try Self.failure("b")), (120.25, try Self.failure("c"))]
        )
        let alert = try #require(fired[2].first)
        guard case .object(let object) = try JSONParser.parse(alert.jsonString) else {
            Issue.record("alert JSON is not an object")
            return
        }
        #expect(
            object.members.map(\.key)
                == [
                    "id", "rule", "description", "key", "count", "match", "firstAt", "lastAt", "firedAt", "status",
                    "value", "startsAt", "endsAt", "events",
                ]
        )
        #expect(object["id"] == .string(alert.id))
        #expect(object["rule"] == .string("sip-failures"))
        #expect(object["description"] == .string("three failures within five minutes"))
        #expect(object["key"] == .object(JSONObject([("destination", .string("+622150996455"))])))
        #expect(object["count"] == .number(3))
        #expect(object["match"] == .null)
        #expect(object["firstAt"] == .string("2026-11-24T10:00:00.000Z"))
        #expect(object["lastAt"] == .string("2026-11-24T10:02:00.250Z"))
        #expect(object["firedAt"] == .string("2026-11-24T10:02:00.250Z"))
        #expect(object["status"] == .string("firing"))
        #expect(object["value"] == .null)
        #expect(object["startsAt"] == .string("2026-11-24T10:02:00.250Z"))
        #expect(object["endsAt"] == .null)
        guard case .array(let events) = object["events"] else {
            Issue.record("events is not an array")
            return
        }
        #expect(events.count == 3)
        #expect(events.first == (try Self.failure("a")).payloadJSON, "events carry the payloads as received")
    }

    @Test func sequenceAlertJSONCarriesTheMatch() throws {
        var engine = try Self.engine(Self.sequenceRule)
        let alert = try #require(engine.evaluate(try Self.digits("d", #""*9#""#), at: Self.origin).fired.first)
        guard case .object(let object) = try JSONParser.parse(alert.jsonString) else {
            Issue.record("alert JSON is not an object")
            return
        }
        #expect(object["match"] == .string("*9#"))
        #expect(object["key"] == .object(JSONObject([("callId", .string("c1"))])))
    }

    @Test func alertIDsAreDeterministic() throws {
        func ids() throws -> [String] {
            var engine = try Self.engine(Self.windowRule + Self.sequenceRule)
            return Self.run(
                &engine,
                [
                    (0, try Self.failure("a")), (1, try Self.failure("b")), (2, try Self.failure("c")),
                    (3, try Self.digits("d", #""*9#""#)), (4, try Self.failure("e", to: "B")),
                    (5, try Self.failure("f", to: "B")), (6, try Self.failure("g", to: "B")),
                ]
            ).flatMap { $0.map(\.id) }
        }
        let first = try ids()
        #expect(first.count == 3)
        #expect(try ids() == first, "the same events give the same ids")
        #expect(Set(first).count == 3, "different alerts have different ids")
        let uuidShape = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
        for id in first { #expect(id.wholeMatch(of: uuidShape) != nil, "\(id)") }
        #expect(
            Alert.makeID(rule: "r", key: "k", eventIdentity: "e")
                == Alert.makeID(rule: "r", key: "k", eventIdentity: "e")
        )
        #expect(
            Alert.makeID(rule: "r", key: "k", eventIdentity: "e")
                != Alert.makeID(rule: "r", key: "k", eventIdentity: "f")
        )
        #expect(
            Alert.makeID(rule: "r", key: "k", eventIdentity: "e")
                != Alert.makeID(rule: "s", key: "k", eventIdentity: "e")
        )
    }

    // MARK: State machines on their own

    @Test func windowStateMachine() throws {
        let event = try Self.failure("w")
        var window = WindowState(count: 3, within: .seconds(60))
        #expect(window.append(event, at: Self.at(0)) == nil)
        #expect(window.append(event, at: Self.at(30)) == nil)
        #expect(window.expiresAt == Self.at(90))
        let completed = window.append(event, at: Self.at(60))
        #expect(completed?.map(\.time) == [Self.at(0), Self.at(30), Self.at(60)])
        #expect(window.entries.isEmpty)
        #expect(window.expiresAt == nil)

        #expect(window.append(event, at: Self.at(100)) == nil)
        #expect(window.append(event, at: Self.at(130)) == nil)
        #expect(window.append(event, at: Self.at(160.5)) == nil, "100 fell out of the window ending at 160.5")
        #expect(window.entries.map(\.time) == [Self.at(130), Self.at(160.5)])
        window.expire(at: Self.at(221))
        #expect(window.entries.isEmpty)
    }

    @Test func sequenceStateMachine() throws {
        let pattern = try CompiledRegex(#"\*9#"#)
        var sequence = SequenceState(within: .seconds(30))
        let event = try Self.digits("s", #""*""#)
        #expect(sequence.append("*", event: event, at: Self.at(0), pattern: pattern) == nil)
        #expect(sequence.append("9", event: event, at: Self.at(10), pattern: pattern) == nil)
        #expect(sequence.buffer == "*9")
        #expect(sequence.callId == "c1")
        #expect(sequence.expiresAt == Self.at(40))
        sequence.expire(at: Self.at(31))
        #expect(sequence.buffer == "9")
        #expect(sequence.events.count == 1, "events without a buffered character are let go")
        let fired = sequence.append("#", event: event, at: Self.at(32), pattern: pattern)
        #expect(fired == nil, "'9#' alone is not a match")
        #expect(sequence.append("*9#", event: event, at: Self.at(33), pattern: pattern)?.match == "*9#")
        #expect(sequence.isEmpty)

        for step in 0..<100 {
            _ = sequence.append("0", event: event, at: Self.at(40 + Double(step) * 0.01), pattern: pattern)
        }
        #expect(sequence.buffer.count == SequenceState.capacity)
        sequence.drop()
        #expect(sequence.isEmpty)
        #expect(sequence.callId == nil)
        #expect(sequence.events.isEmpty)
    }

    @Test func cooldownStateMachine() {
        var cooldown = CooldownState(cooldown: .seconds(60))
        #expect(cooldown.expiresAt == nil)
        #expect(cooldown.decide(at: Self.at(0)) == .fire)
        #expect(cooldown.expiresAt == Self.at(60))
        #expect(cooldown.decide(at: Self.at(59.999)) == .suppress)
        #expect(cooldown.decide(at: Self.at(30)) == .suppress)
        #expect(cooldown.suppressed == 2)
        #expect(cooldown.expiresAt == Self.at(60), "suppressed fires do not extend the cooldown")
        #expect(cooldown.decide(at: Self.at(60)) == .fire)
        #expect(cooldown.lastFired == Self.at(60))

        var none = CooldownState(cooldown: .zero)
        #expect(none.decide(at: Self.at(0)) == .fire)
        #expect(none.decide(at: Self.at(0)) == .fire)
    }
}
