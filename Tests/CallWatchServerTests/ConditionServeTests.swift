import CallWatch
import CallWatchTestSupport
import Foundation
import Testing

@testable import CallWatchServer

/// Condition rules in `serve`: alerts that time passing fires and resolves reach a real HTTP sink and a real exec
/// hook, with the status, value, startsAt and endsAt the engine computed at the exact deadline.
@Suite("Conditions in serve")
struct ConditionServeTests {
    static let ratioRule = "e2e-cond-serve-ratio"
    static let absentRule = "e2e-cond-serve-absent"
    static let silenceRule = "e2e-cond-serve-silence"

    /// Appends one line per alert to `hook.log` (rule, status, value, id) and keeps its stdin as `ID.stdin`.
    static let recordingHook = """
        dir="$1"
        cat > "$dir/$CALLWATCH_ALERT_ID.stdin.tmp"
        mv "$dir/$CALLWATCH_ALERT_ID.stdin.tmp" "$dir/$CALLWATCH_ALERT_ID.stdin"
        printf '%s %s %s %s\\n' "$CALLWATCH_RULE" "$CALLWATCH_ALERT_STATUS" "$CALLWATCH_ALERT_VALUE" \\
          "$CALLWATCH_ALERT_ID" >> "$dir/hook.log"

        """

    /// One line of `hook.log`.
    struct HookLine: Equatable, CustomStringConvertible {
        var rule: String
        var status: String
        var value: String
        var id: String

        init?(_ line: Substring) {
            let fields = line.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 4 else { return nil }
            (rule, status, value, id) = (fields[0], fields[1], fields[2], fields[3])
        }

        var description: String { "\(rule) \(status) \(value) \(id)" }
    }

    static func rules(sink: Sink, hook: String, directory: String) -> String {
        let actions = """
                actions:
                  - http: {url: "\(sink.url("/alerts"))"}
                  - exec: {command: [/bin/sh, "\(hook)", "\(directory)"]}
            """
        return """
            version: 1
            server:
              path: \(Fixture.ingestPath)
              max_body: 4KiB
            defaults:
              evaluation_interval: 100ms
            rules:
              - name: \(ratioRule)
                description: under half of the calls to a country answered in 5 seconds
                when: {callStatus: CALL_DISCONNECTED}
                by: [destinationCountryCode]
                ratio: {of: {sipCode: 200}, within: 5s, min_events: 3, below: 0.5}
            \(actions)
              - name: \(absentRule)
                description: no connected call for an account in 2 seconds
                when: {callStatus: CALL_CONNECTED, subAccountId: {ne: e2e-cond-quiet}}
                by: [subAccountId]
                absent: {for: 2s}
            \(actions)
              - name: \(silenceRule)
                description: no connected call on the quiet account in 2 seconds since serve started
                when: {callStatus: CALL_CONNECTED, subAccountId: e2e-cond-quiet}
                absent: {for: 2s}
            \(actions)

            """
    }

    static func disconnected(_ id: String, country: String, sipCode: Int) -> String {
        Fixture.event(id: id, status: "CALL_DISCONNECTED", sipCode: sipCode, extra: ["destinationCountryCode": country])
    }

    static func connected(_ id: String, account: String) -> String {
        Fixture.event(id: id, status: "CALL_CONNECTED", sipCode: 200, extra: ["subAccountId": account])
    }

    static func hookLines(_ scratch: Scratch) -> [HookLine] {
        (scratch.read("hook.log") ?? "").split(separator: "\n").compactMap(HookLine.init)
    }

    /// Waits for the first delivery of `rule` for a key (nil `field`: the rule's single key) with `status`.
    static func delivery(
        _ sink: Sink,
        rule: String,
        _ field: String?,
        _ value: String?,
        status: String
    ) async throws -> ConditionDelivery {
        let matching = { () -> ConditionDelivery? in
            sink.deliveries.first { delivery in
                delivery.rule == rule && delivery.status == status
                    && (field.map { delivery.key[$0] == value } ?? true)
            }
        }
        try await waitUntil("a \(status) alert of \(rule) \(value ?? "")", timeout: .seconds(30)) { matching() != nil }
        guard let found = matching() else { throw TestFailure("the \(status) alert of \(rule) went away") }
        return found
    }

    /// Waits until the exec hook logged `delivery`'s notification.
    static func waitForHook(_ scratch: Scratch, _ delivery: ConditionDelivery) async throws {
        try await waitUntil("the hook to log \(delivery)", timeout: .seconds(30)) {
            hookLines(scratch).contains { $0.id == delivery.id && $0.status == delivery.status }
        }
    }

    static func expectID(_ delivery: ConditionDelivery, rule: String, key: [String]) {
        let status = AlertStatus(rawValue: delivery.status) ?? .firing
        let expected = ConditionAlertID.make(
            rule: rule,
            key: key,
            status: status,
            startsAt: Date(timeIntervalSince1970: Double(delivery.startsAt) / 1000)
        )
        #expect(delivery.id == expected, "\(delivery)")
        #expect(delivery.idempotencyKey == delivery.id, "\(delivery)")
    }

    @Test("ratio and absent rules fire, then resolve, through an http sink and an exec hook")
    func fireAndResolve() async throws {
        try await withSink { sink in
            let scratch = try Scratch()
            defer { scratch.remove() }
            let hook = try scratch.script("hook.sh", Self.recordingHook)
            let rules = Self.rules(sink: sink, hook: hook, directory: scratch.directory)
            let beforeStart = Bracket.now
            try await withServer(rules: rules, scratch: scratch) { server in
                let before = try await server.metrics()

                // An account connects once; two countries get three calls each: none answered to ID (0), one of
                // three to SG (1/3).
                let connectedA = try await Bracket.around {
                    try await server.accept(Self.connected("cond-a-1", account: "e2e-cond-a"))
                }
                // The watch began before the first event was evaluated.
                let served = Bracket(sent: beforeStart, answered: connectedA.answered)
                // Sent at once, so that each country's three calls are in its 5 s window together however busy
                // the machine is.
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for (number, sipCode) in [486, 486, 486].enumerated() {
                        let event = Self.disconnected("cond-id-\(number)", country: "ID", sipCode: sipCode)
                        group.addTask { try await server.accept(event) }
                    }
                    for (number, sipCode) in [486, 486, 200].enumerated() {
                        let event = Self.disconnected("cond-sg-\(number)", country: "SG", sipCode: sipCode)
                        group.addTask { try await server.accept(event) }
                    }
                    try await group.waitForAll()
                }

                // SG: fired at its third call with 1/3; a fourth, answered, makes 2/4, not below 0.5: resolved then.
                let sgFiring = try await Self.delivery(
                    sink,
                    rule: Self.ratioRule,
                    "destinationCountryCode",
                    "SG",
                    status: "firing"
                )
                try await Self.waitForHook(scratch, sgFiring)
                let sgResolving = try await Bracket.around {
                    try await server.accept(Self.disconnected("cond-sg-3", country: "SG", sipCode: 200))
                }
                let sgResolved = try await Self.delivery(
                    sink,
                    rule: Self.ratioRule,
                    "destinationCountryCode",
                    "SG",
                    status: "resolved"
                )
                #expect(sgFiring.value == 0.333333, "\(sgFiring)")
                #expect(sgFiring.count == 3)
                #expect(Set(sgFiring.eventIDs) == ["cond-sg-0", "cond-sg-1", "cond-sg-2"])
                #expect(sgFiring.startsAt == sgFiring.lastAt, "no `for`: it fires at the event that made it hold")
                #expect(sgFiring.firedAt == sgFiring.startsAt)
                #expect(sgFiring.endsAt == nil)
                #expect(sgResolved.value == 0.5, "\(sgResolved)")
                #expect(sgResolved.count == 4)
                #expect(sgResolved.eventIDs.last == "cond-sg-3")
                #expect(sgResolved.startsAt == sgFiring.startsAt)
                #expect(sgResolved.endsAt == sgResolved.lastAt, "resolved by the fourth event: \(sgResolved)")
                let sgEnd = try #require(sgResolved.endsAt)
                #expect(sgResolving.contains(sgEnd, slack: 5), "endsAt \(sgEnd), the event was sent in \(sgResolving)")
                #expect(sgResolved.id != sgFiring.id)
                Self.expectID(sgFiring, rule: Self.ratioRule, key: ["SG"])
                Self.expectID(sgResolved, rule: Self.ratioRule, key: ["SG"])

                // The account: absent from 2 s after its call; a new call resolves it.
                let aFiring = try await Self.delivery(
                    sink,
                    rule: Self.absentRule,
                    "subAccountId",
                    "e2e-cond-a",
                    status: "firing"
                )
                try await Self.waitForHook(scratch, aFiring)
                let aResolving = try await Bracket.around {
                    try await server.accept(Self.connected("cond-a-2", account: "e2e-cond-a"))
                }
                let aResolved = try await Self.delivery(
                    sink,
                    rule: Self.absentRule,
                    "subAccountId",
                    "e2e-cond-a",
                    status: "resolved"
                )
                #expect(
                    connectedA.contains(aFiring.lastAt, slack: 5),
                    "lastAt \(aFiring.lastAt), sent in \(connectedA)"
                )
                #expect(aFiring.startsAt == aFiring.lastAt + 2000, "\(aFiring)")
                #expect(aFiring.firedAt == aFiring.startsAt)
                #expect(aFiring.value == 2)
                #expect(aFiring.eventIDs == ["cond-a-1"])
                #expect(aFiring.endsAt == nil)
                #expect(aResolved.startsAt == aFiring.startsAt)
                let aEnd = try #require(aResolved.endsAt, "\(aResolved)")
                #expect(aResolving.contains(aEnd, slack: 5), "endsAt \(aEnd), the event was sent in \(aResolving)")
                #expect(aResolved.value == 0)
                #expect(aResolved.id != aFiring.id)
                Self.expectID(aFiring, rule: Self.absentRule, key: ["e2e-cond-a"])
                Self.expectID(aResolved, rule: Self.absentRule, key: ["e2e-cond-a"])

                // ID: fired at its third call with 0; resolved when its first call left the window (5 s + 1 ms
                // later), with no value (under min_events).
                let idFiring = try await Self.delivery(
                    sink,
                    rule: Self.ratioRule,
                    "destinationCountryCode",
                    "ID",
                    status: "firing"
                )
                let idResolved = try await Self.delivery(
                    sink,
                    rule: Self.ratioRule,
                    "destinationCountryCode",
                    "ID",
                    status: "resolved"
                )
                #expect(idFiring.value == 0, "\(idFiring)")
                #expect(idFiring.count == 3)
                #expect(idFiring.startsAt == idFiring.lastAt)
                #expect(idResolved.value == nil, "\(idResolved)")
                #expect(idResolved.startsAt == idFiring.startsAt)
                #expect(idResolved.endsAt == idFiring.firstAt + 5001, "\(idResolved)")
                #expect(idResolved.firedAt == idResolved.endsAt)
                Self.expectID(idFiring, rule: Self.ratioRule, key: ["ID"])
                Self.expectID(idResolved, rule: Self.ratioRule, key: ["ID"])

                // The rule without `by`: its clock started with serve; silent 2 s later; an event resolves it.
                let quietFiring = try await Self.delivery(sink, rule: Self.silenceRule, nil, nil, status: "firing")
                try await Self.waitForHook(scratch, quietFiring)
                let quietResolving = try await Bracket.around {
                    try await server.accept(Self.connected("cond-quiet-1", account: "e2e-cond-quiet"))
                }
                let quietResolved = try await Self.delivery(sink, rule: Self.silenceRule, nil, nil, status: "resolved")
                #expect(quietFiring.key.isEmpty)
                #expect(
                    served.contains(quietFiring.startsAt - 2000, slack: 5),
                    "startsAt \(quietFiring.startsAt) - 2 s is not when serve started, \(served)"
                )
                #expect(quietFiring.value == 2)
                #expect(quietFiring.count == 0)
                #expect(quietFiring.eventIDs.isEmpty)
                let quietEnd = try #require(quietResolved.endsAt)
                #expect(quietResolving.contains(quietEnd, slack: 5))
                #expect(quietResolved.startsAt == quietFiring.startsAt)
                Self.expectID(quietFiring, rule: Self.silenceRule, key: [])
                Self.expectID(quietResolved, rule: Self.silenceRule, key: [])

                // Each of the eight notifications reached the exec hook, with the same status, value and alert
                // JSON, a key's firing before its resolution (the resolving calls were sent once the hook had seen
                // the firing; ID's resolution came 5 s after its firing).
                let notified = [
                    sgFiring, sgResolved, aFiring, aResolved, idFiring, idResolved, quietFiring, quietResolved,
                ]
                try await waitUntil("the hook to log the eight notifications", timeout: .seconds(30)) {
                    Set(Self.hookLines(scratch).map(\.id)).isSuperset(of: notified.map(\.id))
                }
                let lines = Self.hookLines(scratch)
                for delivery in notified {
                    let line = try #require(lines.first { $0.id == delivery.id })
                    #expect(line.rule == delivery.rule)
                    #expect(line.status == delivery.status)
                    #expect(
                        line.value.isEmpty ? delivery.value == nil : Double(line.value) == delivery.value,
                        "hook saw \(line), the sink \(delivery)"
                    )
                    let body = try #require(sink.received.first { $0.json?["id"] as? String == delivery.id }?.body)
                    #expect(scratch.read("\(delivery.id).stdin") == body, "stdin and the HTTP body differ")
                }
                for (firing, resolved) in [
                    (sgFiring, sgResolved), (aFiring, aResolved), (idFiring, idResolved), (quietFiring, quietResolved),
                ] {
                    let ids = lines.map(\.id)
                    let order = (ids.firstIndex(of: firing.id) ?? .max, ids.firstIndex(of: resolved.id) ?? .min)
                    #expect(order.0 < order.1, "the hook saw \(resolved) before \(firing): \(lines)")
                }

                // One firing and one resolved notification per key so far (the account, watched again after
                // its resolution, may have fired a second time: a new alert, later).
                for (rule, field, value) in [
                    (Self.ratioRule, "destinationCountryCode", "SG"), (Self.ratioRule, "destinationCountryCode", "ID"),
                ] {
                    // Under load the ratio may cross its threshold again later: that is a new alert, its own id.
                    let deliveries = sink.deliveries(rule: rule, field, value)
                    let statuses = deliveries.map(\.status)
                    #expect(Array(statuses.prefix(2)) == ["firing", "resolved"], "\(rule) \(value): \(statuses)")
                    for again in deliveries.dropFirst(2) {
                        #expect(again.id != deliveries[0].id, "\(rule) \(value): \(statuses)")
                    }
                }
                let account = sink.deliveries(rule: Self.absentRule, "subAccountId", "e2e-cond-a")
                #expect(Array(account.map(\.status).prefix(2)) == ["firing", "resolved"])
                for again in account.dropFirst(2) {
                    #expect(again.status == "firing")
                    #expect(again.startsAt == aEnd + 2000, "\(again)")
                    #expect(again.id != aFiring.id)
                }

                let after = try await server.metrics()
                let delta = { (rule: String, state: String) in
                    after.delta("callwatch_alerts_total", ["rule": rule, "state": state], since: before)
                }
                // At least the two keys checked above (under load a key may fire again later: a new alert).
                #expect(delta(Self.ratioRule, "fired") >= 2)
                #expect(delta(Self.ratioRule, "resolved") >= 2)
                #expect(delta(Self.absentRule, "fired") >= 1)
                #expect(delta(Self.absentRule, "resolved") == 1)
                #expect(delta(Self.silenceRule, "resolved") == 1)
            }
        }
    }

    @Test(
        "repeat notifies again under the same id with Idempotency-Key id+N; send_resolved: false acts on no resolution"
    )
    func repeatAndSendResolvedFalse() async throws {
        let rule = "e2e-cond-serve-repeat"
        try await withSink { sink in
            let scratch = try Scratch()
            defer { scratch.remove() }
            let hook = try scratch.script("hook.sh", Self.recordingHook)
            let rules = """
                version: 1
                server:
                  path: \(Fixture.ingestPath)
                  max_body: 4KiB
                defaults:
                  evaluation_interval: 100ms
                rules:
                  - name: \(rule)
                    when: {callStatus: CALL_CONNECTED}
                    by: [subAccountId]
                    absent: {for: 1s}
                    repeat: 1s
                    send_resolved: false
                    actions:
                      - http: {url: "\(sink.url("/repeat"))"}
                      - exec: {command: [/bin/sh, "\(hook)", "\(scratch.directory)"]}

                """
            try await withServer(rules: rules, scratch: scratch) { server in
                let before = try await server.metrics()
                try await server.accept(Self.connected("rep-1", account: "e2e-cond-rep"))
                // Fired 1 s after the call, then again each second while it stays silent.
                try await waitUntil("the second repeat at the sink", timeout: .seconds(30)) {
                    sink.deliveries.count >= 3
                }
                let resolving = try await Bracket.around {
                    try await server.accept(Self.connected("rep-2", account: "e2e-cond-rep"))
                }
                let notified = Array(sink.deliveries.prefix(3))
                let firing = notified[0]
                #expect(notified.map(\.idempotencyKey) == [firing.id, firing.id + "+1", firing.id + "+2"])
                for (number, delivery) in notified.enumerated() {
                    #expect(delivery.id == firing.id, "a repeat carries the alert's id: \(delivery)")
                    #expect(delivery.status == "firing")
                    #expect(delivery.startsAt == firing.startsAt)
                    #expect(delivery.firedAt == firing.startsAt + Int64(number) * 1000, "\(delivery)")
                    #expect(delivery.value == Double(number + 1), "seconds silent: \(delivery)")
                    #expect(delivery.eventIDs == ["rep-1"])
                }
                #expect(firing.startsAt == firing.lastAt + 1000)
                Self.expectID(firing, rule: rule, key: ["e2e-cond-rep"])

                // The resolution is recorded, with no action to run.
                let resolvedID = ConditionAlertID.make(
                    rule: rule,
                    key: ["e2e-cond-rep"],
                    status: .resolved,
                    startsAt: Date(timeIntervalSince1970: Double(firing.startsAt) / 1000)
                )
                let recorded = try #require(try await server.alerts(rule: rule).first { $0.id == resolvedID })
                #expect(recorded.actions.isEmpty, "\(recorded.actions)")
                let after = try await server.metrics()
                #expect(after.delta("callwatch_alerts_total", ["rule": rule, "state": "resolved"], since: before) == 1)

                // The hook ran for the fire and each repeat that was sent, never for the resolution.
                try await waitUntil("the hook to log the three notifications", timeout: .seconds(30)) {
                    Self.hookLines(scratch).count >= 3
                }
                let lines = Self.hookLines(scratch)
                // Each hook is a process of its own: they may finish in any order.
                #expect(lines.prefix(3).map(\.value).sorted() == ["1", "2", "3"], "\(lines)")
                #expect(lines.allSatisfy { $0.status == "firing" }, "\(lines)")
                #expect(Array(lines.prefix(3).map(\.id)) == [firing.id, firing.id, firing.id])
                #expect(sink.deliveries.allSatisfy { $0.status == "firing" })
                // Whatever was sent after the resolving call is a new alert: the account silent again.
                for later in sink.deliveries.dropFirst(3) where later.id != firing.id {
                    #expect(later.startsAt >= resolving.sent + 1000, "\(later)")
                }
                for later in sink.deliveries.dropFirst(3) where later.id == firing.id {
                    #expect(later.firedAt < resolving.answered, "a repeat after the resolution: \(later)")
                }
            }
        }
    }
}
