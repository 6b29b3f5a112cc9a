import CallWatch
import CallWatchTestSupport
import Foundation
import HTTPTypes
import Testing

@testable import CallWatchServer

/// Graceful shutdown (what SIGTERM/SIGINT start in `callwatch serve`): stop accepting, finish in-flight
/// requests, flush the store, let running actions finish up to a grace period.
@Suite("Graceful shutdown")
struct ShutdownTests {
    /// Marks its start, waits for the test's `release` file, sleeps `seconds`, marks its end.
    static func slowHookRules(_ rule: String, seconds: Int, scratch: Scratch) throws -> String {
        let hook = try scratch.script(
            "slow.sh",
            """
            dir="$1"
            touch "$dir/started"
            while [ ! -f "$dir/release" ]; do sleep 0.05; done
            sleep \(seconds)
            touch "$dir/done"

            """
        )
        let actions = #"  - exec: {command: [/bin/sh, "\#(hook)", "\#(scratch.directory)"], timeout: 60s}"#
        return Fixture.config(rules: Fixture.windowRule(name: rule, count: 1, actions: actions))
    }

    @Test("graceful shutdown waits for a running hook")
    func waitsForRunningHook() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let rules = try Self.slowHookRules("e2e-shutdown-waits", seconds: 1, scratch: scratch)
        try await withServer(rules: rules, scratch: scratch) { server in
            try await server.accept(Fixture.event(id: "shutdown-1"))
            #expect(await eventually { scratch.exists("started") }, "the hook did not start")
            // Shutdown starts while the hook is held; released, it still has a second to go.
            await server.shutdown()
            try scratch.write("release", "")
        }
        // The service group has returned: the hook ran to its end instead of being stopped.
        #expect(scratch.exists("done"))
        let pending = try SQLiteStore(path: scratch.path("state.db")).pendingActions()
        #expect(pending.isEmpty, "the hook's outcome is recorded before the store closes")
    }

    @Test("a hook still running when the grace period ends is stopped and stays pending for the next start")
    func graceEndsStopsHook() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let rules = try Self.slowHookRules("e2e-shutdown-grace", seconds: 30, scratch: scratch)
        let noGrace = { (configuration: inout ServeConfiguration) in configuration.shutdownGrace = .zero }
        try await withServer(rules: rules, scratch: scratch, configure: noGrace) { server in
            try await server.accept(Fixture.event(id: "grace-1"))
            #expect(await eventually { scratch.exists("started") }, "the hook did not start")
            try scratch.write("release", "")
            await server.shutdown()
        }
        #expect(!scratch.exists("done"))
        let pending = try SQLiteStore(path: scratch.path("state.db")).pendingActions()
        #expect(pending.count == 1)
        #expect(pending.first?.kind == "exec")
    }

    @Test("every event answered 200 before or during shutdown is in the store afterwards")
    func acceptedEventsSurviveShutdown() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let rules = Fixture.config(rules: Fixture.windowRule(name: "e2e-shutdown-flush", count: 1000))
        let answers = try await withServer(rules: rules, scratch: scratch) { server in
            for index in 0..<10 { try await server.accept(Fixture.event(id: "flush-before-\(index)")) }
            return try await withThrowingTaskGroup(of: (String, HTTPResult?).self) { group in
                for index in 0..<100 {
                    group.addTask {
                        let id = "flush-during-\(index)"
                        return (id, try? await server.post(Fixture.event(id: id), timeout: .seconds(5)))
                    }
                    if index == 50 { await server.shutdown() }
                }
                var answers: [(String, HTTPResult?)] = []
                for try await answer in group { answers.append(answer) }
                return answers
            }
        }
        var acknowledged = Set((0..<10).map { "flush-before-\($0)" })
        for (id, result) in answers {
            guard let result else { continue }  // refused: the listener was already closed
            if result.status == .ok {
                #expect(result.statusField == "accepted", "\(id): \(result.body)")
                acknowledged.insert(id)
            } else {
                #expect(result.status == .serviceUnavailable, "\(id): \(result.status) \(result.body)")
                #expect(result.errorField != nil)
            }
        }
        let stored = Set(try await RunningServer.storedIdentities(statePath: scratch.path("state.db")))
            .map { $0.replacingOccurrences(of: "CALL_STATUS:", with: "") }
        #expect(acknowledged.isSubset(of: stored), "acknowledged but lost: \(acknowledged.subtracting(stored))")
    }
}
