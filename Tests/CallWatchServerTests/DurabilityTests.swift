import CallWatchTestSupport
import Foundation
import Synchronization
import Testing

@testable import CallWatch

/// Durability on the real binary: `callwatch serve` as a child process, killed with SIGKILL and restarted on the
/// same store. Nothing acknowledged is lost, nothing fires twice, pending actions resume.
@Suite(
    .enabled(if: DurabilityDaemon.binaryExists, "needs .build/debug/callwatch (make test builds it first)")
)
struct DurabilityTests {
    static let ingestPath = "/v1/call-status"

    /// A window of 3 `CALL_DISCONNECTED` per destination within an hour, posting the alert to `sinkPort`.
    static func rules(sinkPort: Int) -> String {
        """
        version: 1
        server: {path: \(ingestPath)}
        defaults:
          http: {timeout: 10s, retries: 20}
        rules:
          - name: burst
            description: three failed calls to one destination within an hour
            when: {callStatus: CALL_DISCONNECTED}
            by: [destination]
            window: {count: 3, within: 1h}
            actions:
              - http: {url: "http://127.0.0.1:\(sinkPort)/hook"}
        """
    }

    static func alertID(destination: String, completedBy eventID: String) -> String {
        Alert.makeID(rule: "burst", key: destination, eventIdentity: "CALL_STATUS:" + eventID)
    }

    /// Writes the rules file and starts the first daemon of a scenario on `port`.
    static func start(_ directory: String, sinkPort: Int, port: Int, label: String) throws -> DurabilityDaemon {
        let rulesPath = directory + "/rules.yaml"
        if !FileManager.default.fileExists(atPath: rulesPath) {
            try rules(sinkPort: sinkPort).write(toFile: rulesPath, atomically: true, encoding: .utf8)
        }
        return try DurabilityDaemon(
            directory: directory,
            rules: rulesPath,
            store: directory + "/cw.db",
            port: port,
            label: label
        )
    }

    /// The identities in the journal, read with the library after the daemon is gone.
    static func journal(_ directory: String) async throws -> [String] {
        try SQLiteStore(path: directory + "/cw.db").entries(since: .distantPast).map(\.identity)
            .map { $0.replacingOccurrences(of: "CALL_STATUS:", with: "") }
    }

    // MARK: A. Kills under concurrent load

    @Test func killedUnderConcurrentLoadItLosesNoAcknowledgedEventAndFiresEachAlertOnce() async throws {
        let seed: UInt64 = 0x2026_0106_1017
        var random = SeededGenerator(seed: seed)
        // One sender per group of destinations, each sending in order: the order per key is known.
        let plan: [[DurabilityEvent]] = (0..<8).map { sender in
            (0..<400).map { number in
                DurabilityEvent(
                    id: "a-\(seed)-\(sender)-\(number)",
                    destination: "+65\(sender)0\(Int.random(in: 0..<6, using: &random))",
                    disconnected: Int.random(in: 0..<10, using: &random) < 6
                )
            }
        }
        let total = plan.joined().count
        let killPoints = [300..<900, 1200..<1800, 2100..<2700].map { Int.random(in: $0, using: &random) }
        var expected: Set<String> = []
        for events in plan {
            var counts: [String: Int] = [:]
            for event in events where event.disconnected {
                counts[event.destination, default: 0] += 1
                if counts[event.destination]! % 3 == 0 {
                    expected.insert(Self.alertID(destination: event.destination, completedBy: event.id))
                }
            }
        }

        try await withTemporaryDirectory(prefix: "callwatch-durability") { directory in
            try await withSink { sink in
                let client = DurabilityClient()
                let port = try unusedPort()
                var daemon = try Self.start(directory, sinkPort: sink.port, port: port, label: "run-0")
                try await daemon.waitUntilHealthy(client: client)
                let url = daemon.baseURL + Self.ingestPath
                let tally = Tally()

                try await withThrowingTaskGroup(of: Void.self) { group in
                    for events in plan {
                        group.addTask {
                            for event in events {
                                let status = try await client.deliver(event, to: url)
                                tally.acknowledge(event.id, duplicate: status == "duplicate")
                            }
                        }
                    }
                    for (index, point) in killPoints.enumerated() {
                        try await waitUntil("\(point) acknowledged events", timeout: .seconds(60)) {
                            tally.count >= point
                        }
                        try await daemon.kill9()
                        let acknowledgedBeforeKill = tally.acknowledged
                        let missing = acknowledgedBeforeKill.subtracting(try await Self.journal(directory))
                        #expect(
                            missing.isEmpty,
                            "kill \(index + 1): \(missing.count) acknowledged events not in the journal, e.g. \(missing.sorted().prefix(5))"
                        )
                        daemon = try Self.start(directory, sinkPort: sink.port, port: port, label: "run-\(index + 1)")
                        try await daemon.waitUntilHealthy(client: client)
                    }
                    try await group.waitForAll()
                }
                #expect(tally.count == total)

                // Every alert's action is delivered (at least once, with its id as the key) and recorded done.
                let delivered = await eventually(timeout: .seconds(20)) {
                    expected.isSubset(of: sink.keys)
                }
                #expect(
                    delivered,
                    "\(expected.subtracting(sink.keys).count) of \(expected.count) alerts never delivered"
                )
                let baseURL = daemon.baseURL
                let recorded = try await eventually(timeout: .seconds(20)) {
                    try await client.alerts(baseURL).values.joined().allSatisfy { $0.status != "pending" }
                }
                #expect(recorded, "actions still pending in the outbox")
                let ended = try await daemon.terminate()
                #expect(ended.reason == .exit && ended.status == 0, "SIGTERM ended the daemon with \(ended)")
                #expect(sink.keys == expected)

                let journal = try await Self.journal(directory)
                #expect(journal.count == total)
                #expect(Set(journal) == Set(plan.joined().map(\.id)))
                let store = try SQLiteStore(path: directory + "/cw.db")
                let alerts = try await store.recentAlerts(limit: 100_000)
                #expect(alerts.count == expected.count, "alerts fired: \(alerts.count), implied: \(expected.count)")
                #expect(Set(alerts.map(\.id)) == expected)
                #expect(alerts.allSatisfy { $0.actions.map(\.status) == [.success] })
                #expect(try store.pendingActions().isEmpty)
                print(
                    "durability A: seed \(seed), kills at \(killPoints), \(total) events, \(expected.count) alerts,",
                    "\(tally.duplicates) re-sent events answered duplicate,",
                    "\(sink.received.count - sink.keys.count) alerts delivered again after a kill"
                )
            }
        }
    }

    // MARK: B. Actions pending at the kill

    @Test func actionsPendingAtTheKillAreDeliveredAfterTheRestartWithTheSameIdempotencyKey() async throws {
        try await withTemporaryDirectory(prefix: "callwatch-durability") { directory in
            let client = DurabilityClient()
            let sinkPort = try unusedPort()
            let port = try unusedPort()
            let alertID = Self.alertID(destination: "+65900", completedBy: "b-3")

            // The sink is down: the alert fires and its action keeps failing and retrying.
            let first = try Self.start(directory, sinkPort: sinkPort, port: port, label: "before-kill")
            try await first.waitUntilHealthy(client: client)
            for number in 1...3 {
                let event = DurabilityEvent(id: "b-\(number)", destination: "+65900", disconnected: true)
                #expect(try await client.deliver(event, to: first.baseURL + Self.ingestPath) == "accepted")
            }
            var attemptsBeforeKill = 0
            try await waitUntil("two failed attempts recorded", timeout: .seconds(20)) {
                let action = try await client.alerts(first.baseURL)[alertID]?.first
                attemptsBeforeKill = action?.attempts ?? 0
                return action?.status == "pending" && attemptsBeforeKill >= 2
            }
            try await first.kill9()

            let pending = try SQLiteStore(path: directory + "/cw.db").pendingActions()
            #expect(pending.map(\.alert.id) == [alertID])
            #expect(pending.allSatisfy { $0.attempts >= attemptsBeforeKill && $0.notBefore != nil })

            try await withSink(port: sinkPort) { sink in
                let second = try Self.start(directory, sinkPort: sinkPort, port: port, label: "after-kill")
                try await second.waitUntilHealthy(client: client)
                try await waitUntil("the sink to receive the alert", timeout: .seconds(20)) { !sink.received.isEmpty }
                try await waitUntil("the outbox to record the success", timeout: .seconds(20)) {
                    try await client.alerts(second.baseURL)[alertID]?.first?.status == "success"
                }
                let ended = try await second.terminate()
                #expect(ended.reason == .exit && ended.status == 0, "SIGTERM ended the daemon with \(ended)")
                // Delivered under its one key (twice only if an attempt timed out on a loaded machine and was retried).
                #expect(Set(sink.received.map(\.idempotencyKey)) == [alertID])
                let body = try sink.received.first.map { try JSONSerialization.jsonObject(with: Data($0.body.utf8)) }
                #expect((body as? [String: Any])?["id"] as? String == alertID)
            }

            let alerts = try await SQLiteStore(path: directory + "/cw.db").recentAlerts(limit: 10)
            #expect(alerts.map(\.id) == [alertID])
            #expect(alerts.first?.actions.map(\.status) == [.success])
            #expect((alerts.first?.actions.first?.attempts ?? 0) > attemptsBeforeKill)
        }
    }

    // MARK: C. A window half-filled before a kill

    @Test func aWindowHalfFilledBeforeAKillFiresAfterTheRestartAndAFiredOneDoesNotFireAgain() async throws {
        try await withTemporaryDirectory(prefix: "callwatch-durability") { directory in
            try await withSink { sink in
                let client = DurabilityClient()
                let port = try unusedPort()
                let fired = Self.alertID(destination: "+65801", completedBy: "c-fired-3")
                let completed = Self.alertID(destination: "+65802", completedBy: "c-half-3")

                let first = try Self.start(directory, sinkPort: sink.port, port: port, label: "before-kill")
                try await first.waitUntilHealthy(client: client)
                let url = first.baseURL + Self.ingestPath
                for number in 1...3 {
                    let event = DurabilityEvent(id: "c-fired-\(number)", destination: "+65801", disconnected: true)
                    #expect(try await client.deliver(event, to: url) == "accepted")
                }
                try await waitUntil("the first alert's action to succeed", timeout: .seconds(20)) {
                    try await client.alerts(first.baseURL)[fired]?.first?.status == "success"
                }
                for number in 1...2 {
                    let event = DurabilityEvent(id: "c-half-\(number)", destination: "+65802", disconnected: true)
                    #expect(try await client.deliver(event, to: url) == "accepted")
                }
                try await first.kill9()

                let second = try Self.start(directory, sinkPort: sink.port, port: port, label: "after-kill")
                try await second.waitUntilHealthy(client: client)
                #expect(try await client.alerts(second.baseURL).keys.sorted() == [fired])
                // The third event completes the window rebuilt from the journal; one more to the fired
                // destination starts a new window and fires nothing.
                let third = DurabilityEvent(id: "c-half-3", destination: "+65802", disconnected: true)
                #expect(try await client.deliver(third, to: url) == "accepted")
                let another = DurabilityEvent(id: "c-fired-4", destination: "+65801", disconnected: true)
                #expect(try await client.deliver(another, to: url) == "accepted")
                try await waitUntil("the completed window's action to succeed", timeout: .seconds(20)) {
                    try await client.alerts(second.baseURL)[completed]?.first?.status == "success"
                }
                let ended = try await second.terminate()
                #expect(ended.reason == .exit && ended.status == 0, "SIGTERM ended the daemon with \(ended)")

                #expect(sink.received.map(\.idempotencyKey) == [fired, completed])
                let alerts = try await SQLiteStore(path: directory + "/cw.db").recentAlerts(limit: 10)
                #expect(Set(alerts.map(\.id)) == [fired, completed])
                #expect(alerts.count == 2)
            }
        }
    }

    // MARK: D. A store that cannot be opened

    @Test(arguments: [UnopenableStore.garbage, .directory])
    func anUnopenableStoreStopsTheStartWithAClearMessage(_ kind: UnopenableStore) async throws {
        try await withTemporaryDirectory(prefix: "callwatch-durability") { directory in
            let store = directory + "/cw.db"
            switch kind {
            case .garbage:
                var random = SeededGenerator(seed: 7)
                let bytes = (0..<65_536).map { _ in UInt8.random(in: 0...255, using: &random) }
                try Data("not SQLite at all\n".utf8 + bytes).write(to: URL(fileURLWithPath: store))
            case .directory:
                try FileManager.default.createDirectory(atPath: store, withIntermediateDirectories: false)
            }
            let daemon = try Self.start(
                directory,
                sinkPort: 9,
                port: try unusedPort(),
                label: "unopenable"
            )
            let ended = try await daemon.waitForExit(timeout: .seconds(20))
            #expect(ended.reason == .exit, "the daemon died of signal \(ended.status)")
            #expect(ended.status != 0)
            let stderr = daemon.stderr
            #expect(stderr.contains("cannot open the store at \(store): "), "stderr: \(stderr)")
            if kind == .garbage { #expect(stderr.contains("not a database"), "stderr: \(stderr)") }
        }
    }

    /// The events that got a 200, and how many of those said `duplicate`.
    final class Tally: Sendable {
        private let state = Mutex<(acknowledged: Set<String>, duplicates: Int)>(([], 0))

        func acknowledge(_ id: String, duplicate: Bool) {
            state.withLock {
                $0.acknowledged.insert(id)
                if duplicate { $0.duplicates += 1 }
            }
        }

        var acknowledged: Set<String> { state.withLock { $0.acknowledged } }
        var count: Int { state.withLock { $0.acknowledged.count } }
        var duplicates: Int { state.withLock { $0.duplicates } }
    }

    enum UnopenableStore: Sendable, CustomTestStringConvertible {
        case garbage
        case directory

        var testDescription: String {
            switch self {
            case .garbage: "garbage bytes in the file"
            case .directory: "a directory at the store path"
            }
        }
    }
}
