import CallWatch
import CallWatchTestSupport
import Foundation
import Testing

/// `group:` through the real `callwatch serve` binary: alerts of several keys that fire inside `wait` reach the sink
/// as one request; a group waiting when the daemon is killed with SIGKILL is sent once after the restart.
@Suite(.serialized) struct GroupingServeTests {
    static let ingestPath = "/v1/call-status"

    static func rules(sinkPort: Int, wait: String, interval: String) -> String {
        """
        version: 1
        server: {path: \(ingestPath)}
        defaults:
          http: {timeout: 10s, retries: 20}
        rules:
          - name: failures
            when: {callStatus: CALL_DISCONNECTED}
            by: [destination]
            group: {wait: \(wait), interval: \(interval)}
            actions:
              - http: {url: "http://127.0.0.1:\(sinkPort)/hook"}
        """
    }

    static func start(_ directory: String, rules: String, port: Int, label: String) throws -> DurabilityDaemon {
        let path = directory + "/rules.yaml"
        try rules.write(toFile: path, atomically: true, encoding: .utf8)
        return try DurabilityDaemon(
            directory: directory,
            rules: path,
            store: directory + "/cw.db",
            port: port,
            label: label
        )
    }

    /// The destinations of the alerts in one grouped request.
    static func destinations(_ received: Sink.Received) -> [String] {
        let alerts = received.json?["alerts"] as? [[String: Any]] ?? []
        return alerts.compactMap { ($0["key"] as? [String: Any])?["destination"] as? String }
    }

    static func post(_ client: DurabilityClient, _ ids: [String], to daemon: DurabilityDaemon) async throws {
        for id in ids {
            let event = DurabilityEvent(id: id, destination: "+65" + id, disconnected: true)
            #expect(try await client.deliver(event, to: daemon.baseURL + ingestPath) == "accepted")
        }
    }

    @Test func threeKeysInsideWaitAreOneRequestAndAFourthComesInTheNext() async throws {
        try await withTemporaryDirectory(prefix: "callwatch-grouping") { directory in
            try await withSink { sink in
                let client = DurabilityClient()
                let daemon = try Self.start(
                    directory,
                    rules: Self.rules(sinkPort: sink.port, wait: "5s", interval: "2s"),
                    port: try unusedPort(),
                    label: "serve"
                )
                try await daemon.waitUntilHealthy(client: client)
                try await Self.post(client, ["001", "002", "003"], to: daemon)
                let first = try #require(await sink.waitFor(count: 1, timeout: .seconds(30)))
                #expect(Self.destinations(first[0]) == ["+65001", "+65002", "+65003"])
                try await Self.post(client, ["004"], to: daemon)
                let both = try #require(await sink.waitFor(count: 2, timeout: .seconds(30)))
                #expect(Self.destinations(both[1]) == ["+65004"])
                #expect(both[0].idempotencyKey != both[1].idempotencyKey)
                try await waitUntil("the outcomes to be recorded", timeout: .seconds(20)) {
                    let alerts = try await client.alerts(daemon.baseURL)
                    return alerts.count == 4 && alerts.values.allSatisfy { $0.map(\.status) == ["success"] }
                }
                let ended = try await daemon.terminate()
                #expect(ended.reason == .exit && ended.status == 0, "SIGTERM ended the daemon with \(ended)")
                #expect(sink.keys.count == 2)
            }
        }
    }

    @Test func aGroupWaitingAtAKillIsSentOnceAfterTheRestart() async throws {
        try await withTemporaryDirectory(prefix: "callwatch-grouping") { directory in
            try await withSink { sink in
                let client = DurabilityClient()
                let port = try unusedPort()
                let rules = Self.rules(sinkPort: sink.port, wait: "6s", interval: "5m")
                let first = try Self.start(directory, rules: rules, port: port, label: "before-kill")
                try await first.waitUntilHealthy(client: client)
                try await Self.post(client, ["101", "102", "103"], to: first)
                let waiting = try await client.alerts(first.baseURL)
                try await first.kill9()
                // Unless the machine was so slow that the wait ran out before the kill: then the group was sent.
                let sentBeforeKill = !waiting.values.allSatisfy { $0.map(\.status) == ["waiting"] }
                if sentBeforeKill { print("grouping kill -9: the group went before the kill") }

                let second = try Self.start(directory, rules: rules, port: port, label: "after-kill")
                try await second.waitUntilHealthy(client: client)
                try await waitUntil("the group's action to succeed", timeout: .seconds(30)) {
                    let alerts = try await client.alerts(second.baseURL)
                    return alerts.count == 3 && alerts.values.allSatisfy { $0.map(\.status) == ["success"] }
                }
                let ended = try await second.terminate()
                #expect(ended.reason == .exit && ended.status == 0, "SIGTERM ended the daemon with \(ended)")

                // One notification, under one key, with the three alerts (a repeat would be a second key).
                #expect(sink.keys.count == 1, "\(sink.received.map(\.idempotencyKey))")
                #expect(sink.received.allSatisfy { Self.destinations($0) == ["+65101", "+65102", "+65103"] })
                let pending = try SQLiteStore(path: directory + "/cw.db").pendingActions()
                #expect(pending.isEmpty)
            }
        }
    }
}
