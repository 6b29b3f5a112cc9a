import CallWatchTestSupport
import Foundation
import Testing

@testable import CallWatch

/// `replay` of a generated four-hour stream against an independent computation of the transitions: a brute-force
/// ratio over every event in the window at each instant the ratio can change, a lifecycle simulated from those
/// verdicts, and an absence measured from the events themselves. The two must agree alert for alert, to the
/// millisecond.
@Suite struct ConditionReplayTests {
    static let origin = EngineTests.origin
    static let within: Int64 = 300_000
    static let pending: Int64 = 60_500  // never lands on an event (whole seconds) or a window edge (…001 ms)
    static let absence: Int64 = 180_250
    static let minEvents = 5

    static let rules = """
        version: 1
        rules:
          - name: asr
            when: {callStatus: CALL_DISCONNECTED}
            by: [destinationCountryCode]
            ratio: {of: {sipCode: 200}, within: 5m, min_events: 5, below: 0.5}
            for: 60500ms
            actions: []
          - name: silent
            when: {callStatus: CALL_CONNECTED}
            absent: {for: 180250ms}
            actions: []
        """

    struct Generated {
        var time: Int64  // ms since `origin`
        var connected: Bool
        var country: String
        var answered: Bool
    }

    /// A deterministic stream: the answer rate changes every hour and connected calls stop for whole half hours.
    static func stream() -> [Generated] {
        var random = SeededGenerator(seed: 0x5EED)
        var events: [Generated] = []
        var second: Int64 = 0
        let rates = [0.8, 0.35, 0.6, 0.2]
        while second < 4 * 3600 {
            second += Int64(1 + random.next() % 20)
            let hour = Int(second / 3600) % rates.count
            let connectedBlock = (second / 1800) % 3 != 1
            let connected = connectedBlock && random.next() % 4 == 0
            let country = ["ID", "SG", "MY"][Int(random.next() % 3)]
            let answered = Double(random.next() % 1000) / 1000 < rates[hour]
            events.append(Generated(time: second * 1000, connected: connected, country: country, answered: answered))
        }
        return events
    }

    static func jsonLines(_ events: [Generated]) -> [UInt8] {
        var text = ""
        for (index, event) in events.enumerated() {
            let stamp = Timestamp.format(origin.addingTimeInterval(Double(event.time) / 1000))
            let status = event.connected ? "CALL_CONNECTED" : "CALL_DISCONNECTED"
            text +=
                #"{"eventId": "g\#(index)", "callId": "c\#(index)", "callStatus": "\#(status)", "sipCode": \#(event.answered ? 200 : 486), "destinationCountryCode": "\#(event.country)", "timestamp": "\#(stamp)"}"#
                + "\n"
        }
        return Array(text.utf8)
    }

    /// One expected notification: rule, key, status, the instants in ms since `origin`, and the value.
    struct Transition: Hashable, CustomStringConvertible {
        var rule: String
        var key: String
        var status: AlertStatus
        var at: Int64
        var startsAt: Int64
        var value: Double

        var description: String { "\(rule)/\(key) \(status.rawValue) at=\(at) starts=\(startsAt) value=\(value)" }
    }

    /// The ratio rule, computed from scratch at every instant its value can change.
    static func expectedRatio(_ events: [Generated]) -> [Transition] {
        var transitions: [Transition] = []
        for country in ["ID", "MY", "SG"] {
            let calls = events.filter { !$0.connected && $0.country == country }
            let instants = Set(calls.map(\.time) + calls.map { $0.time + within + 1 }).sorted()
            func measure(_ now: Int64) -> Double? {
                let inWindow = calls.filter { $0.time >= now - within && $0.time <= now }
                guard inWindow.count >= minEvents else { return nil }
                return Double(inWindow.count { $0.answered }) / Double(inWindow.count)
            }
            func holds(_ now: Int64) -> Bool { measure(now).map { $0 < 0.5 } ?? false }
            var pendingSince: Int64?
            var firingSince: Int64?
            for now in instants {
                if let since = pendingSince, since + pending < now {
                    // The verdict cannot change between instants: it held through `for`.
                    let startsAt = since + pending
                    let value = ConditionRuntime.rounded(measure(startsAt) ?? .nan)
                    transitions.append(
                        Transition(
                            rule: "asr",
                            key: country,
                            status: .firing,
                            at: startsAt,
                            startsAt: startsAt,
                            value: value
                        )
                    )
                    pendingSince = nil
                    firingSince = startsAt
                }
                let verdict = holds(now)
                if let startsAt = firingSince, !verdict {
                    let value = measure(now).map(ConditionRuntime.rounded) ?? .nan
                    transitions.append(
                        Transition(
                            rule: "asr",
                            key: country,
                            status: .resolved,
                            at: now,
                            startsAt: startsAt,
                            value: value
                        )
                    )
                    firingSince = nil
                } else if pendingSince != nil, !verdict {
                    pendingSince = nil
                } else if pendingSince == nil, firingSince == nil, verdict {
                    pendingSince = now
                }
            }
        }
        return transitions
    }

    /// The absence rule: from the first event, each gap in connected calls longer than `absence`.
    static func expectedAbsence(_ events: [Generated], until end: Int64) -> [Transition] {
        var transitions: [Transition] = []
        var lastSeen = events[0].time
        var firing: Int64?
        for event in events + [Generated(time: end, connected: false, country: "", answered: false)] {
            if firing == nil, event.time >= lastSeen + absence {
                firing = lastSeen + absence
                transitions.append(
                    Transition(
                        rule: "silent",
                        key: "",
                        status: .firing,
                        at: firing!,
                        startsAt: firing!,
                        value: Double(absence) / 1000
                    )
                )
            }
            guard event.connected else { continue }
            if let startsAt = firing {
                transitions.append(
                    Transition(rule: "silent", key: "", status: .resolved, at: event.time, startsAt: startsAt, value: 0)
                )
                firing = nil
            }
            lastSeen = event.time
        }
        return transitions
    }

    @Test func replayMatchesAnIndependentComputationOverFourHours() async throws {
        let events = Self.stream()
        let ruleSet = try RulesLoader.load(yaml: Self.rules, path: "rules.yaml", environment: [:])
        var replay = Replay(ruleSet: ruleSet)
        var alerts: [Alert] = []
        var errors: [String] = []
        await replay.run(
            data: Self.jsonLines(events),
            file: "generated.jsonl",
            onAlert: { alerts.append($0) },
            onError: { errors.append($0.description) }
        )
        let end = events.last!.time + 3_600_000
        alerts += replay.finish(until: Self.origin.addingTimeInterval(Double(end) / 1000))
        #expect(errors.isEmpty)
        let originMilliseconds = ConditionTime.milliseconds(Self.origin)
        let actual = alerts.map { alert in
            Transition(
                rule: alert.rule,
                key: alert.key.map(\.value).joined(),
                status: alert.status,
                at: ConditionTime.milliseconds(alert.firedAt) - originMilliseconds,
                startsAt: ConditionTime.milliseconds(alert.startsAt) - originMilliseconds,
                value: alert.value ?? .nan
            )
        }
        let expected = Self.expectedRatio(events) + Self.expectedAbsence(events, until: end)
        #expect(expected.count { $0.rule == "asr" } > 20)
        #expect(expected.count { $0.rule == "silent" } >= 4)
        let describe = { (list: [Transition]) in
            list.map {
                $0.value.isNaN
                    ? Transition(
                        rule: $0.rule,
                        key: $0.key,
                        status: $0.status,
                        at: $0.at,
                        startsAt: $0.startsAt,
                        value: -1
                    ) : $0
            }
            .map(\.description).sorted()
        }
        #expect(describe(actual) == describe(expected))
        // Every resolution ends what fired, with the fire's startsAt, and ids are the documented derivation.
        for alert in alerts {
            #expect(
                alert.id
                    == ConditionAlertID.make(
                        rule: alert.rule,
                        key: alert.key.map(\.value),
                        status: alert.status,
                        startsAt: alert.startsAt
                    )
            )
        }
    }
}
