import Foundation
import Testing

@testable import CallWatch

/// Condition rules through the engine: each key carried to its deadlines, alerts at exact instants with
/// deterministic ids, the same alerts however coarse the clock's ticks, idle keys never visited. Time is passed in.
@Suite struct ConditionEngineTests {
    static let at = EngineTests.at

    /// Whole milliseconds, as the conditions keep time (a `Date` from `at(60.001)` differs in its last bits).
    static func ms(_ date: Date?) -> Int64? { date.map(ConditionTime.milliseconds) }

    static func engine(_ rules: String) throws -> Engine { try EngineTests.engine(rules) }

    static func call(
        _ id: String,
        _ status: String = "CALL_DISCONNECTED",
        sip: Int = 486,
        country: String = "ID"
    )
        throws -> CallEvent
    {
        try EngineTests.event(
            #""eventId": "\#(id)", "callStatus": "\#(status)", "sipCode": \#(sip), "destinationCountryCode": "\#(country)", "callId": "\#(id)", "subAccountId": "acme""#
        )
    }

    static let ratioRule = """
          - name: asr
            when: {callStatus: CALL_DISCONNECTED}
            by: [destinationCountryCode]
            ratio: {of: {sipCode: 200}, within: 60s, min_events: 2, below: 0.5}
            actions: []

        """

    @Test func aRatioFiresOnTheEventAndResolvesWhenTheWindowEdgePasses() throws {
        var engine = try Self.engine(Self.ratioRule)
        #expect(engine.evaluate(try Self.call("a", sip: 486), at: Self.at(0)).fired.isEmpty)  // one event: too few
        let fired = engine.evaluate(try Self.call("b", sip: 200), at: Self.at(10)).fired
        #expect(fired.isEmpty)  // 1/2 = 0.5 is not below 0.5
        let firing = try #require(engine.evaluate(try Self.call("c", sip: 486), at: Self.at(20)).fired.first)
        #expect(firing.status == .firing)
        #expect(abs((firing.value ?? 0) - 1.0 / 3) < 1e-6)
        #expect(firing.startsAt == Self.at(20))
        #expect(firing.count == 3)
        #expect(firing.events.count == 3)
        #expect(firing.key.map(\.value) == ["ID"])
        #expect(firing.id == ConditionAlertID.make(rule: "asr", key: ["ID"], status: .firing, startsAt: Self.at(20)))
        // "a" (t=0) leaves at 60.001 s: 1/2 = 0.5, no longer below: resolved at that instant, whenever asked.
        #expect(engine.advance(to: Self.at(60)).isEmpty)
        let resolved = try #require(engine.advance(to: Self.at(95)).first)
        #expect(resolved.status == .resolved)
        #expect(Self.ms(resolved.endsAt) == Self.ms(Self.at(60.001)))
        #expect(Self.ms(resolved.firedAt) == Self.ms(Self.at(60.001)))
        #expect(resolved.startsAt == Self.at(20))
        #expect(resolved.value == 0.5)
        #expect(resolved.id != firing.id)
        #expect(engine.advance(to: Self.at(200)).isEmpty)
        #expect(engine.stateCount == 0)  // every event left: the key is gone
    }

    @Test func forDelaysTheFireAndAShortDipStaysQuiet() throws {
        var engine = try Self.engine(
            """
              - name: asr
                when: {callStatus: CALL_DISCONNECTED}
                ratio: {of: {sipCode: 200}, within: 10m, below: 0.5}
                for: 2m
                keep_firing_for: 1m
                actions: []

            """
        )
        #expect(engine.evaluate(try Self.call("a"), at: Self.at(0)).fired.isEmpty)  // 0/1 holds: pending
        #expect(engine.evaluate(try Self.call("b", sip: 200), at: Self.at(60)).fired.isEmpty)  // 1/2: false
        #expect(engine.advance(to: Self.at(130)).isEmpty)  // pending was reset
        #expect(engine.evaluate(try Self.call("c"), at: Self.at(130)).fired.isEmpty)  // 1/3 holds again
        let fire = try #require(engine.advance(to: Self.at(260)).first)
        #expect(fire.startsAt == Self.at(250))
        #expect(fire.firedAt == Self.at(250))
        // Good calls bring it to 2/4 at 297 s: false from there, resolved one minute later.
        for (offset, id) in ["d", "e", "f", "g"].enumerated() {
            _ = engine.evaluate(try Self.call(id, sip: 200), at: Self.at(297 + Double(offset)))
        }
        let resolved = try #require(engine.advance(to: Self.at(500)).first)
        #expect(resolved.status == .resolved)
        #expect(resolved.endsAt == Self.at(297 + 60))
    }

    @Test func repeatsKeepTheIdAndDeliverUnderNumberedIds() throws {
        var engine = try Self.engine(
            """
              - name: silent
                when: {callStatus: CALL_CONNECTED}
                absent: {for: 1m}
                repeat: 10m
                actions: []

            """
        )
        #expect(engine.evaluate(try Self.call("a", "CALL_CONNECTED"), at: Self.at(0)).fired.isEmpty)
        let notified = engine.advance(to: Self.at(60 + 25 * 60))
        #expect(notified.map(\.firedAt) == [Self.at(60), Self.at(660), Self.at(1260)])
        #expect(Set(notified.map(\.id)).count == 1)
        #expect(notified.map(\.deliveryID) == [notified[0].id, notified[0].id + "+1", notified[0].id + "+2"])
        #expect(notified.map(\.value) == [60, 660, 1260])
        #expect(notified.allSatisfy { $0.status == .firing && $0.startsAt == Self.at(60) })
    }

    @Test func anAbsenceWithoutByStartsAtTheFirstEventOfAnyKind() throws {
        var engine = try Self.engine(
            """
              - name: silent
                when: {callStatus: CALL_CONNECTED}
                absent: {for: 10m}
                actions: []

            """
        )
        _ = engine.evaluate(try Self.call("x", "CALL_RECEIVED"), at: Self.at(0))
        let fire = try #require(engine.advance(to: Self.at(3600)).first)
        #expect(fire.firedAt == Self.at(600))
        #expect(fire.value == 600)
        #expect(fire.count == 0)
        let resolved = try #require(
            engine.evaluate(try Self.call("y", "CALL_CONNECTED"), at: Self.at(4000)).fired.first
        )
        #expect(resolved.status == .resolved)
        #expect(resolved.endsAt == Self.at(4000))
        #expect(resolved.events.count == 1)
    }

    @Test func anAbsenceByKeyWatchesSeenKeysAndForgetsThem() throws {
        var engine = try Self.engine(
            """
              - name: account-silent
                when: {callStatus: CALL_CONNECTED}
                by: [destinationCountryCode]
                absent: {for: 10m, forget: 1h}
                actions: []

            """
        )
        _ = engine.evaluate(try Self.call("a", "CALL_CONNECTED", country: "ID"), at: Self.at(0))
        _ = engine.evaluate(try Self.call("b", "CALL_CONNECTED", country: "SG"), at: Self.at(300))
        let fired = engine.advance(to: Self.at(1000))
        #expect(fired.map { $0.key.map(\.value) } == [["ID"], ["SG"]])
        #expect(fired.map(\.firedAt) == [Self.at(600), Self.at(900)])
        _ = engine.evaluate(try Self.call("c", "CALL_CONNECTED", country: "ID"), at: Self.at(1200))  // resolves ID
        #expect(engine.stateCount == 2)
        // ID fires again at 1800 (no event since 1200) and SG keeps firing: neither is forgotten while firing.
        _ = engine.advance(to: Self.at(20_000))
        #expect(engine.stateCount == 2)
        let back = engine.evaluate(try Self.call("d", "CALL_CONNECTED", country: "SG"), at: Self.at(20_000)).fired
        #expect(back.map(\.status) == [.resolved])
    }

    @Test func aKeyThatNeverFiredIsForgottenAfterForget() throws {
        var engine = try Self.engine(
            """
              - name: account-silent
                when: {callStatus: CALL_CONNECTED}
                by: [destinationCountryCode]
                absent: {for: 2h, forget: 1h}
                actions: []

            """
        )
        _ = engine.evaluate(try Self.call("a", "CALL_CONNECTED", country: "ID"), at: Self.at(0))
        #expect(engine.advance(to: Self.at(3600)).isEmpty)
        #expect(engine.stateCount == 1)
        #expect(engine.advance(to: Self.at(3600.001)).isEmpty)
        #expect(engine.stateCount == 0)
        #expect(engine.advance(to: Self.at(99_999)).isEmpty)
    }

    @Test func aGaugeCountsOpenIdsAndIgnoresACloseWithoutOpen() throws {
        var engine = try Self.engine(
            """
              - name: concurrent
                by: [subAccountId]
                gauge: {open: {callStatus: CALL_CONNECTED}, close: {callStatus: CALL_DISCONNECTED}, id: callId, above: 2, max_age: 1h}
                actions: []

            """
        )
        #expect(engine.evaluate(try Self.call("stray", "CALL_DISCONNECTED"), at: Self.at(0)).fired.isEmpty)
        #expect(engine.stateCount == 0)
        _ = engine.evaluate(try Self.call("a", "CALL_CONNECTED"), at: Self.at(1))
        _ = engine.evaluate(try Self.call("b", "CALL_CONNECTED"), at: Self.at(2))
        #expect(engine.evaluate(try Self.call("b", "CALL_CONNECTED"), at: Self.at(3)).fired.isEmpty)  // b again
        let fire = try #require(engine.evaluate(try Self.call("c", "CALL_CONNECTED"), at: Self.at(4)).fired.first)
        #expect(fire.value == 3)
        #expect(fire.key.map(\.value) == ["acme"])
        // Nobody hangs up: the ids pass max_age; the first leaves at 1 h + 1 ms after it opened.
        let resolved = try #require(engine.advance(to: Self.at(10_000)).first)
        #expect(resolved.status == .resolved)
        #expect(Self.ms(resolved.endsAt) == Self.ms(Self.at(3601.001)))
        #expect(resolved.value == 2)
    }

    @Test func theAlertsDoNotDependOnHowCoarselyTimeIsTold() throws {
        let rules =
            Self.ratioRule + """
                  - name: silent
                    when: {callStatus: CALL_CONNECTED}
                    absent: {for: 45s}
                    for: 10s
                    actions: []

                """
        var exact = try Self.engine(rules)
        var ticked = try Self.engine(rules)
        var exactAlerts: [Alert] = []
        var tickedAlerts: [Alert] = []
        var tick = 0.0
        for step in 0..<400 {
            let time = Double(step) * 7.3
            let status = step % 11 == 0 ? "CALL_CONNECTED" : "CALL_DISCONNECTED"
            let event = try Self.call(
                "e\(step)",
                status,
                sip: step % 3 == 0 ? 200 : 486,
                country: step % 2 == 0 ? "ID" : "SG"
            )
            exactAlerts +=
                exact.evaluate(event, at: Self.at(time))
                .fired
            while tick + 5 < time {
                tick += 5
                tickedAlerts += ticked.advance(to: Self.at(tick))
            }
            tickedAlerts += ticked.evaluate(event, at: Self.at(time)).fired
        }
        exactAlerts += exact.advance(to: Self.at(4000))
        tickedAlerts += ticked.advance(to: Self.at(4000))
        #expect(exactAlerts.count > 10)
        let summary = { (alerts: [Alert]) in alerts.map { "\($0.deliveryID) \($0.firedAt) \($0.value ?? -1)" }.sorted()
        }
        #expect(summary(exactAlerts) == summary(tickedAlerts))
    }

    @Test func aTickVisitsOnlyTheKeysThatAreDue() throws {
        var engine = try Self.engine(
            """
              - name: call-silent
                when: {callStatus: CALL_CONNECTED}
                by: [callId]
                absent: {for: 1h}
                actions: []

            """
        )
        for index in 0..<10 {
            _ = engine.evaluate(try Self.call("due\(index)", "CALL_CONNECTED"), at: Self.at(-3000))
        }
        for index in 0..<20_000 {
            _ = engine.evaluate(try Self.call("idle\(index)", "CALL_CONNECTED"), at: Self.at(0))
        }
        let visitedBefore = engine.conditions[0].deadlines.visited
        let fired = engine.advance(to: Self.at(700))
        #expect(fired.count == 10)
        #expect(engine.conditions[0].deadlines.visited - visitedBefore <= 10 + 1)
    }

    @Test func sendResolvedFalseStillRecordsTheResolutionWithoutActions() throws {
        let ruleSet = try EngineTests.ruleSet(
            """
              - name: silent
                when: {callStatus: CALL_CONNECTED}
                absent: {for: 1m}
                send_resolved: false
                actions: [{log: {}}]

            """
        )
        let rule = try #require(ruleSet.rules.first)
        #expect(rule.actions(for: .firing).count == 1)
        #expect(rule.actions(for: .resolved).isEmpty)
    }

    @Test func aReloadKeepsAConditionWhoseDefinitionIsUnchanged() throws {
        var engine = try Self.engine(Self.ratioRule)
        _ = engine.evaluate(try Self.call("a"), at: Self.at(0))
        _ = engine.evaluate(try Self.call("b"), at: Self.at(1))  // 0/2: firing
        var reloaded = Engine(ruleSet: try EngineTests.ruleSet(Self.ratioRule), carryingStateFrom: engine)
        #expect(reloaded.evaluate(try Self.call("c"), at: Self.at(2)).fired.isEmpty)  // still firing: no new fire
        #expect(reloaded.advance(to: Self.at(100)).map(\.status) == [.resolved])
        let changed = Self.ratioRule.replacingOccurrences(of: "below: 0.5", with: "below: 0.6")
        var fresh = Engine(ruleSet: try EngineTests.ruleSet(changed), carryingStateFrom: engine)
        // The redefined rule starts afresh; the alert its old definition had firing is resolved, once.
        let ended = fresh.resolveRetired(at: Self.at(3))
        #expect(ended.map(\.status) == [.resolved])
        #expect(ended.first?.startsAt == Self.at(1))
        #expect(ended.first?.endsAt == Self.at(3))
        #expect(fresh.resolveRetired(at: Self.at(4)).isEmpty)
        #expect(fresh.advance(to: Self.at(100)).isEmpty)
        var kept = Engine(ruleSet: try EngineTests.ruleSet(Self.ratioRule), carryingStateFrom: engine)
        #expect(kept.resolveRetired(at: Self.at(3)).isEmpty)
    }
}
