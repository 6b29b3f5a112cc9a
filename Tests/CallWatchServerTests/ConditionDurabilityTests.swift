import CallWatch
import CallWatchTestSupport
import Foundation
import Testing

/// Condition rules across `kill -9` of the real binary: restarted on the same store, a firing alert is not fired
/// again (the single key of a rule without `by` included), a resolution that fell due while the daemon was down is
/// sent once, of the repeats missed only the latest is sent, and a pending one fires once when due, at the instant
/// the engine would have fired it had the daemon never stopped. Every wait polls; nothing asserts how long it took.
@Suite(
    .enabled(if: DurabilityDaemon.binaryExists, "needs .build/debug/callwatch (make test builds it first)")
)
struct ConditionDurabilityTests {
    static let ingestPath = "/v1/call-status"

    static func rules(_ body: String) -> String {
        """
        version: 1
        server: {path: \(ingestPath)}
        defaults:
          evaluation_interval: 100ms
          http: {timeout: 10s, retries: 20}
        rules:
        \(body)
        """
    }

    static func disconnected(_ id: String, country: String, sipCode: Int = 486) -> String {
        Fixture.event(id: id, status: "CALL_DISCONNECTED", sipCode: sipCode, extra: ["destinationCountryCode": country])
    }

    static func connected(_ id: String, account: String) -> String {
        Fixture.event(id: id, status: "CALL_CONNECTED", sipCode: 200, extra: ["subAccountId": account])
    }

    /// The alerts recorded in the store, read with the library after the daemon is gone.
    static func recorded(_ directory: String, rules: [String]) throws -> [Alert] {
        try SQLiteStore(path: directory + "/cw.db").alerts(rules: rules, since: .distantPast)
    }

    // MARK: Firing at the kill, resolved while down

    /// How long the daemon stays down after the kill.
    enum Downtime: Sendable, CustomTestStringConvertible {
        /// Back soon after a resolution fell due: the journal replayed at the restart still holds the calls.
        case short
        /// Back once the replayed journal (twice the longest horizon) no longer reaches the calls: the lifecycles
        /// come from the recorded alerts alone.
        case long

        var testDescription: String {
            switch self {
            case .short: "back soon after the resolution fell due"
            case .long: "back after the replayed journal stopped reaching the calls"
            }
        }
    }

    @Test(
        "a condition firing at the kill is not fired again, and its resolution, due while down, is sent once",
        arguments: [Downtime.short, .long]
    )
    func firingAtTheKillResolvesOnceAfterTheRestart(_ downtime: Downtime) async throws {
        let ratioRule = "asr-firing-at-kill"
        let absentRule = "silence-firing-at-kill"
        try await withTemporaryDirectory(prefix: "callwatch-condition-durability") { directory in
            try await withSink { sink in
                let rules = Self.rules(
                    """
                      - name: \(ratioRule)
                        when: {callStatus: CALL_DISCONNECTED}
                        by: [destinationCountryCode]
                        ratio: {of: {sipCode: 200}, within: 6s, min_events: 3, below: 0.5}
                        actions:
                          - http: {url: "\(sink.url("/ratio"))"}
                      - name: \(absentRule)
                        when: {callStatus: CALL_CONNECTED}
                        by: [subAccountId]
                        absent: {for: 2s}
                        actions:
                          - http: {url: "\(sink.url("/absent"))"}
                    """
                )
                let firing = { (rule: String) in sink.deliveries.first { $0.rule == rule && $0.status == "firing" } }
                let resolved = { (rule: String) in
                    sink.deliveries.first { $0.rule == rule && $0.status == "resolved" }
                }
                let client = DurabilityClient()
                let port = try unusedPort()
                let first = try DurabilityDaemon.start(directory, rules: rules, port: port, label: "before-kill")
                try await first.waitUntilHealthy(client: client)
                let url = first.baseURL + Self.ingestPath
                let (_, connected) = try await client.deliver(Self.connected("fk-a", account: "acct-fk"), to: url)
                for number in 1...3 {
                    let (status, _) = try await client.deliver(
                        Self.disconnected("fk-\(number)", country: "ID"),
                        to: url
                    )
                    #expect(status == "accepted")
                }

                // The ratio fired at the third call (none answered: 0), the absence 2 s after the account's call;
                // both delivered, and the deliveries recorded.
                try await waitUntil("both firing alerts at the sink", timeout: .seconds(30)) {
                    firing(ratioRule) != nil && firing(absentRule) != nil
                }
                let ratioFiring = try #require(firing(ratioRule))
                let absentFiring = try #require(firing(absentRule))
                #expect(ratioFiring.value == 0, "\(ratioFiring)")
                #expect(ratioFiring.eventIDs == ["fk-1", "fk-2", "fk-3"])
                #expect(ratioFiring.endsAt == nil)
                #expect(absentFiring.eventIDs == ["fk-a"])
                #expect(absentFiring.startsAt == absentFiring.lastAt + 2000)
                #expect(connected.contains(absentFiring.lastAt, slack: 5))
                try await client.waitUntilDone(ratioFiring.id, at: first.baseURL)
                try await client.waitUntilDone(absentFiring.id, at: first.baseURL)
                try await first.kill9()
                // While it is down the first call leaves the window (6 s + 1 ms after it): the ratio's resolution
                // falls due. The account stays silent: still firing.
                let due = ratioFiring.firstAt + 6001
                // Unless the machine was so slow that the kill came later: then the first daemon may have sent it.
                let killedBeforeDue = Bracket.now < due
                if killedBeforeDue {
                    #expect(sink.deliveries.allSatisfy { $0.status == "firing" })
                } else {
                    print("condition durability: the kill came after the resolution fell due")
                }
                switch downtime {
                case .short: try await sleepUntil(milliseconds: due + 300)
                case .long: try await sleepUntil(milliseconds: ratioFiring.lastAt + 2 * 6000 + 1000)
                }

                let second = try DurabilityDaemon.start(directory, rules: rules, port: port, label: "after-kill")
                try await second.waitUntilHealthy(client: client)
                try await waitUntil("the ratio's resolved alert at the sink", timeout: .seconds(30)) {
                    resolved(ratioRule) != nil
                }
                // The recovery that sent it ran before this instant.
                let seenAt = Bracket.now
                let ratioResolved = try #require(resolved(ratioRule))
                try await client.waitUntilDone(ratioResolved.id, at: second.baseURL)
                // The account calls again: the absence, restored as firing, resolves.
                let (_, resolving) = try await client.deliver(
                    Self.connected("fk-a-again", account: "acct-fk"),
                    to: second.baseURL + Self.ingestPath
                )
                try await waitUntil("the absence's resolved alert at the sink", timeout: .seconds(30)) {
                    resolved(absentRule) != nil
                }
                let absentResolved = try #require(resolved(absentRule))
                try await client.waitUntilDone(absentResolved.id, at: second.baseURL)
                let ended = try await second.terminate()
                #expect(ended.reason == .exit && ended.status == 0, "SIGTERM ended the daemon with \(ended)")

                // One alert per rule and status: neither firing one was notified again after the restart (no new id
                // or Idempotency-Key). A request may arrive twice under the same key (an attempt that timed out on
                // a loaded machine and was retried, or one the kill cut short): that is a retry, not a second alert.
                let deliveries = sink.deliveries
                for alert in [ratioFiring, ratioResolved, absentFiring, absentResolved] {
                    let same = deliveries.filter { $0.rule == alert.rule && $0.status == alert.status }
                    #expect(Set(same.map(\.id)) == [alert.id], "\(alert.rule) \(alert.status): \(same)")
                    #expect(Set(same.map(\.idempotencyKey)) == [alert.id], "\(alert.rule) \(alert.status): \(same)")
                    #expect(alert.idempotencyKey == alert.id)
                }

                #expect(ratioResolved.id != ratioFiring.id)
                #expect(ratioResolved.key == ["destinationCountryCode": "ID"])
                #expect(ratioResolved.startsAt == ratioFiring.startsAt)
                #expect(ratioResolved.value == nil, "under min_events the ratio has no value: \(ratioResolved)")
                let endsAt = try #require(ratioResolved.endsAt, "\(ratioResolved)")
                // Replayed from twice the horizon (2 × 6 s) before the restart: when that still reached the first
                // call, the window edge is exact; after a longer downtime the engine can only place the end between
                // the edge and the restart.
                if seenAt < ratioFiring.firstAt + 12000 - 50 {
                    #expect(endsAt == due, "\(ratioResolved)")
                } else {
                    #expect(endsAt >= due && endsAt <= seenAt, "\(ratioResolved)")
                    if downtime == .short {
                        print("condition durability: a slow restart; endsAt \(endsAt - due) ms late")
                    }
                }

                #expect(absentResolved.id != absentFiring.id)
                #expect(absentResolved.startsAt == absentFiring.startsAt, "\(absentResolved)")
                #expect(absentResolved.value == 0)
                let absentEnd = try #require(absentResolved.endsAt)
                #expect(resolving.contains(absentEnd, slack: 5), "endsAt \(absentEnd), the call: \(resolving)")

                let stored = try Self.recorded(directory, rules: [ratioRule, absentRule])
                #expect(
                    Set(stored.map(\.id)) == [ratioFiring.id, ratioResolved.id, absentFiring.id, absentResolved.id]
                )
                #expect(stored.count == 4, "\(stored.map(\.id))")
                #expect(try SQLiteStore(path: directory + "/cw.db").pendingActions().isEmpty)
            }
        }
    }

    // MARK: The single key of a rule without `by`

    @Test("an absent rule without by, firing at the kill, is not fired again after a prompt restart")
    func watchWithoutByFiringAtTheKillStaysFiring() async throws {
        let rule = "silence-all-at-kill"
        try await withTemporaryDirectory(prefix: "callwatch-condition-durability") { directory in
            try await withSink { sink in
                let rules = Self.rules(
                    """
                      - name: \(rule)
                        when: {callStatus: CALL_CONNECTED}
                        absent: {for: 2s}
                        actions:
                          - http: {url: "\(sink.url("/absent"))"}
                    """
                )
                let deliveries = { sink.deliveries.filter { $0.rule == rule } }
                let client = DurabilityClient()
                let port = try unusedPort()
                let started = Bracket.now
                let first = try DurabilityDaemon.start(directory, rules: rules, port: port, label: "before-kill")
                try await first.waitUntilHealthy(client: client)
                // No call connects: silent from the start, firing 2 s later.
                try await waitUntil("the firing alert at the sink", timeout: .seconds(30)) { !deliveries().isEmpty }
                let firing = try #require(deliveries().first)
                #expect(firing.status == "firing")
                #expect(firing.key.isEmpty)
                #expect(firing.startsAt >= started + 2000, "\(firing)")
                try await client.waitUntilDone(firing.id, at: first.baseURL)
                try await first.kill9()

                let second = try DurabilityDaemon.start(directory, rules: rules, port: port, label: "after-kill")
                try await second.waitUntilHealthy(client: client)
                // Still silent: still the same firing alert, which a call now resolves.
                let (_, resolving) = try await client.deliver(
                    Self.connected("all-1", account: "acct-all"),
                    to: second.baseURL + Self.ingestPath
                )
                try await waitUntil("the resolved alert at the sink", timeout: .seconds(30)) {
                    deliveries().contains { $0.status == "resolved" }
                }
                let resolved = try #require(deliveries().first { $0.status == "resolved" })
                try await client.waitUntilDone(resolved.id, at: second.baseURL)
                let ended = try await second.terminate()
                #expect(ended.reason == .exit && ended.status == 0, "SIGTERM ended the daemon with \(ended)")

                #expect(resolved.startsAt == firing.startsAt, "\(resolved)")
                let endsAt = try #require(resolved.endsAt)
                #expect(resolving.contains(endsAt, slack: 5), "endsAt \(endsAt), the call: \(resolving)")
                // Before the resolution, one firing alert, delivered once; after it the watch starts over (a new
                // alert, 2 s after the call).
                let all = deliveries()
                #expect(all.filter { $0.id == firing.id }.count == 1, "\(all)")
                for other in all where other.id != firing.id && other.id != resolved.id {
                    #expect(other.status == "firing" && other.startsAt == endsAt + 2000, "\(other), all: \(all)")
                }
            }
        }
    }

    // MARK: Repeats missed while down

    @Test("of the repeats that fell due while down only the latest is sent, and each notification only once")
    func repeatsMissedWhileDownSendTheLatestOnce() async throws {
        let rule = "silence-repeats-at-kill"
        try await withTemporaryDirectory(prefix: "callwatch-condition-durability") { directory in
            try await withSink { sink in
                let rules = Self.rules(
                    """
                      - name: \(rule)
                        when: {callStatus: CALL_CONNECTED}
                        by: [subAccountId]
                        absent: {for: 1s}
                        repeat: 1s
                        actions:
                          - http: {url: "\(sink.url("/absent"))"}
                    """
                )
                let deliveries = { sink.deliveries.filter { $0.rule == rule } }
                let client = DurabilityClient()
                let port = try unusedPort()
                let first = try DurabilityDaemon.start(directory, rules: rules, port: port, label: "before-kill")
                try await first.waitUntilHealthy(client: client)
                let url = first.baseURL + Self.ingestPath
                _ = try await client.deliver(Self.connected("rk-a", account: "acct-rk"), to: url)

                // Fired 1 s after the call, repeated a second later; both recorded as delivered, then the kill.
                try await waitUntil("the first repeat at the sink", timeout: .seconds(30)) {
                    deliveries().contains { $0.repetition == 1 }
                }
                let firing = try #require(deliveries().first { $0.repetition == 0 })
                try await client.waitUntilDone(firing.id, at: first.baseURL)
                try await client.waitUntilDone(firing.id + "+1", at: first.baseURL)
                try await first.kill9()
                // The repeats due by now are the only ones the first daemon can have sent (a slow machine may have
                // let it send the second before it died).
                let killed = Bracket.now
                let lastBeforeKill = Int((killed - firing.startsAt) / 1000)

                // Down while at least two more repeats fall due.
                try await sleepUntil(milliseconds: killed + 2500)
                let launched = Bracket.now
                let latestMissed = Int((launched - firing.startsAt) / 1000)
                let second = try DurabilityDaemon.start(directory, rules: rules, port: port, label: "after-kill")
                try await second.waitUntilHealthy(client: client)
                // The latest repeat missed, then the next one on time.
                try await waitUntil("two repeats after the restart", timeout: .seconds(30)) {
                    deliveries().filter { $0.repetition >= latestMissed }.count >= 2
                }
                let (_, resolving) = try await client.deliver(
                    Self.connected("rk-a-again", account: "acct-rk"),
                    to: second.baseURL + Self.ingestPath
                )
                try await waitUntil("the resolved alert at the sink", timeout: .seconds(30)) {
                    deliveries().contains { $0.status == "resolved" }
                }
                let resolved = try #require(deliveries().first { $0.status == "resolved" })
                try await client.waitUntilDone(resolved.id, at: second.baseURL)
                let ended = try await second.terminate()
                #expect(ended.reason == .exit && ended.status == 0, "SIGTERM ended the daemon with \(ended)")

                let all = deliveries()
                // The fire and the first repeat, recorded as delivered before the kill, were not notified again: each
                // arrived under its own key only (a second request under the same key is an attempt retried).
                for key in [firing.id, firing.id + "+1"] {
                    #expect(all.contains { $0.idempotencyKey == key }, "\(key): \(all)")
                }
                // Which repeats were sent (a delivery cut short by the kill is sent again under the same key): up
                // to the kill, none of those that fell due while down but the latest, then each on time.
                let numbers = Set(all.filter { $0.id == firing.id }.map(\.repetition)).sorted()
                let early = numbers.filter { $0 <= lastBeforeKill }
                let late = numbers.filter { $0 > lastBeforeKill }
                #expect(early == Array(0..<early.count), "repeats sent: \(numbers)")
                #expect(early.count >= 2, "repeats sent: \(numbers)")
                #expect((late.first ?? -1) >= latestMissed, "repeats sent: \(numbers), latest missed \(latestMissed)")
                #expect(late == Array((late.first ?? 0)..<((late.first ?? 0) + late.count)), "repeats sent: \(numbers)")
                #expect(latestMissed - lastBeforeKill >= 2, "a repeat fell due while down and was skipped")
                for delivery in all where delivery.id == firing.id {
                    let number = Int64(delivery.repetition)
                    #expect(delivery.status == "firing")
                    #expect(delivery.startsAt == firing.startsAt)
                    #expect(delivery.firedAt == firing.startsAt + number * 1000, "\(delivery)")
                    #expect(delivery.value == Double(number + 1), "seconds silent: \(delivery)")
                }
                #expect(resolved.startsAt == firing.startsAt)
                let endsAt = try #require(resolved.endsAt)
                #expect(resolving.contains(endsAt, slack: 5), "endsAt \(endsAt), the call: \(resolving)")
                #expect(all.filter { $0.status == "resolved" }.count == 1)
            }
        }
    }

    // MARK: Pending at the kill

    /// When the daemon comes back after a kill while pending.
    enum Restart: Sendable, CustomTestStringConvertible {
        /// At once: the rebuilt lifecycles are still pending, and a tick fires them.
        case prompt
        /// After `for` ran out: the rebuild finds the fires due, and sends them.
        case late

        var testDescription: String {
            switch self {
            case .prompt: "restarted at once"
            case .late: "restarted after `for` ran out"
            }
        }
    }

    @Test(
        "a condition pending at the kill fires once after the restart, when its `for` elapses",
        arguments: [Restart.prompt, .late]
    )
    func pendingAtTheKillFiresOnceWhenDue(_ restart: Restart) async throws {
        let ratioRule = "asr-pending-at-kill"
        let absentRule = "silence-pending-at-kill"
        try await withTemporaryDirectory(prefix: "callwatch-condition-durability") { directory in
            try await withSink { sink in
                let rules = Self.rules(
                    """
                      - name: \(ratioRule)
                        when: {callStatus: CALL_DISCONNECTED}
                        by: [destinationCountryCode]
                        ratio: {of: {sipCode: 200}, within: 10s, min_events: 3, below: 0.5}
                        for: 3s
                        actions:
                          - http: {url: "\(sink.url("/ratio"))"}
                      - name: \(absentRule)
                        when: {callStatus: CALL_CONNECTED}
                        by: [subAccountId]
                        absent: {for: 1s}
                        for: 3s
                        actions:
                          - http: {url: "\(sink.url("/absent"))"}
                    """
                )
                let client = DurabilityClient()
                let port = try unusedPort()
                let first = try DurabilityDaemon.start(directory, rules: rules, port: port, label: "before-kill")
                try await first.waitUntilHealthy(client: client)
                let url = first.baseURL + Self.ingestPath

                // The account's call: absent from 1 s after it, so pending from then, firing 3 s later.
                let (_, connected) = try await client.deliver(Self.connected("pk-a", account: "acct-pk"), to: url)
                // Three unanswered calls: the ratio (0) holds from the third, so pending, firing 3 s later.
                var third = connected
                for number in 1...3 {
                    (_, third) = try await client.deliver(Self.disconnected("pk-\(number)", country: "SG"), to: url)
                }
                // Both pending: the absence has begun (1 s after the call), neither `for` has run out.
                try await sleepUntil(milliseconds: connected.answered + 1200)
                try await first.kill9()
                let killed = Bracket.now
                // Whether the daemon was gone before either could fire (it never fires before the due instant).
                let killedBeforeDue = killed < min(connected.sent + 4000, third.sent + 3000)
                if !killedBeforeDue { print("condition durability: the kill came after a `for` ran out") }
                if restart == .late {
                    try await sleepUntil(milliseconds: max(connected.answered + 4000, third.answered + 3000) + 300)
                }

                let second = try DurabilityDaemon.start(directory, rules: rules, port: port, label: "after-kill")
                try await second.waitUntilHealthy(client: client)
                try await waitUntil("both firing alerts at the sink", timeout: .seconds(30)) {
                    Set(sink.deliveries.filter { $0.status == "firing" }.map(\.rule)) == [ratioRule, absentRule]
                }
                let ratio = try #require(sink.deliveries.first { $0.rule == ratioRule && $0.status == "firing" })
                let absence = try #require(sink.deliveries.first { $0.rule == absentRule && $0.status == "firing" })
                try await client.waitUntilDone(ratio.id, at: second.baseURL)
                try await client.waitUntilDone(absence.id, at: second.baseURL)
                let ended = try await second.terminate()
                #expect(ended.reason == .exit && ended.status == 0, "SIGTERM ended the daemon with \(ended)")

                // The ratio began holding at the third call (its receive time is the alert's last event).
                #expect(ratio.key == ["destinationCountryCode": "SG"])
                #expect(ratio.value == 0, "\(ratio)")
                #expect(ratio.eventIDs == ["pk-1", "pk-2", "pk-3"])
                #expect(ratio.startsAt == ratio.lastAt + 3000, "\(ratio)")
                #expect(ratio.firedAt == ratio.startsAt)
                #expect(third.contains(ratio.startsAt - 3000, slack: 100), "\(ratio), the third call: \(third)")
                // The absence began holding 1 s after the account's call.
                #expect(absence.key == ["subAccountId": "acct-pk"])
                #expect(absence.value == 4, "\(absence)")
                #expect(absence.eventIDs == ["pk-a"])
                #expect(absence.startsAt == absence.lastAt + 1000 + 3000, "\(absence)")
                #expect(absence.firedAt == absence.startsAt)
                #expect(connected.contains(absence.startsAt - 4000, slack: 100), "\(absence), the call: \(connected)")

                for alert in [ratio, absence] {
                    let deliveries = sink.deliveries.filter { $0.rule == alert.rule && $0.status == "firing" }
                    #expect(Set(deliveries.map(\.id)) == [alert.id], "\(deliveries)")
                    if killedBeforeDue {
                        #expect(deliveries.count == 1, "\(alert.rule) was delivered \(deliveries.count) times")
                    }
                    #expect(alert.idempotencyKey == alert.id)
                }
                let stored = try Self.recorded(directory, rules: [ratioRule, absentRule])
                #expect(stored.filter { $0.status == .firing }.map(\.id).sorted() == [ratio.id, absence.id].sorted())
            }
        }
    }
}
