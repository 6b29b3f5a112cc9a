import Foundation
import Testing

@testable import CallWatch

#if canImport(Glibc)
import Glibc
import CallWatchTestSupport
#endif

extension Actions {
    /// How long `exec` hooks may live and how many at once: timeouts with SIGTERM then SIGKILL to the process group
    /// (grace 1 s here), and the concurrency limit under a burst. Real child processes throughout.
    @Suite struct ExecLifecycleTests {
        /// A hook that ignores SIGTERM, with a child that ignores it too: the action times out at its timeout (its
        /// exec slot free at once), and both are killed with SIGKILL once the grace period after the timeout has
        /// passed, leaving nothing of the process group.
        @Test func hookIgnoringSIGTERMIsKilledAfterTheGracePeriod() async throws {
            try #require(ProcessProbe.becomeChildSubreaper())
            try await withTemporaryDirectory(prefix: "callwatch-actions") { dir in
                let hook = dir + "/stubborn.sh"
                try ActionFixture.writeScript(
                    """
                    trap '' TERM
                    sleep 30 &
                    echo $! > "\(dir)/child.pid"
                    echo $$ > "\(dir)/hook.pid"
                    wait
                    """,
                    to: hook
                )
                let (outcomes, aliveAtOutcome) = try await withDispatcher(killGrace: .seconds(3)) {
                    dispatcher,
                    outcomes in
                    let actions = try ActionFixture.actions("- exec: {command: [\"\(hook)\"], timeout: 2s}")
                    dispatcher.submit(try ActionFixture.alert(), actions: actions)
                    let outcomes = try await outcomes.wait(for: 1)
                    return (outcomes, !ProcessProbe.isGone(try Self.readPID(dir + "/hook.pid")))
                }
                let outcome = try #require(outcomes.first)
                #expect(outcome.status == .timeout)
                #expect(outcome.attempts == 1)
                // The outcome came at the timeout, while the hook (ignoring SIGTERM) was still in its grace period:
                // a stubborn hook does not hold its exec slot past its timeout.
                #expect(aliveAtOutcome, "the outcome waited for the SIGKILL")
                let hookPID = try Self.readPID(dir + "/hook.pid")
                let childPID = try Self.readPID(dir + "/child.pid")
                // The hook itself was reaped by callwatch: no process, not even a zombie.
                try await waitUntil("the hook to be reaped", timeout: .seconds(15)) {
                    ProcessProbe.isGone(hookPID) && ProcessProbe.state(hookPID) == nil
                }
                // Its child, orphaned when the hook died, was killed by the SIGKILL to the process group.
                #expect(try await ProcessProbe.reap(childPID) == .signaled(SIGKILL))
                #expect(ProcessProbe.isGone(childPID))
                #expect(ProcessProbe.isGroupEmpty(hookPID))
            }
        }

        /// A hook still running when shutdown cuts it off is stopped and logged as cut off (it runs again on the
        /// next start), not as a hook that could not start.
        @Test func aHookCutOffByShutdownIsLoggedAsCutOff() async throws {
            try await withTemporaryDirectory(prefix: "callwatch-actions") { dir in
                let hook = dir + "/slow.sh"
                try ActionFixture.writeScript("echo $$ > \"\(dir)/hook.pid\"\nexec sleep 30", to: hook)
                let capture = LogCapture()
                let runner = ExecRunner(killGrace: .seconds(1), logger: capture.logger)
                let invocation = ExecRunner.Invocation(
                    argv: [hook],
                    environment: [:],
                    stdin: nil,
                    workdir: nil,
                    timeout: .seconds(60)
                )
                let running = Task { await runner.run(invocation, metadata: [:]) }
                try await waitUntil("the hook to start") { FileManager.default.fileExists(atPath: dir + "/hook.pid") }
                running.cancel()
                #expect(await running.value == .failure(reason: "cut off by shutdown"))
                let messages = capture.entries.map(\.message)
                #expect(messages == ["exec action cut off by shutdown; it runs again on the next start"])
                #expect(ProcessProbe.isGone(try Self.readPID(dir + "/hook.pid")))
            }
        }

        /// A hook that exits on SIGTERM but leaves a child that ignores it: the child must not outlive the grace
        /// period either (SIGKILL goes to the whole process group).
        @Test func childIgnoringSIGTERMIsKilledEvenWhenTheHookExits() async throws {
            try #require(ProcessProbe.becomeChildSubreaper())
            try await withTemporaryDirectory(prefix: "callwatch-actions") { dir in
                let hook = dir + "/leaky.sh"
                try ActionFixture.writeScript(
                    """
                    trap 'echo term > "\(dir)/got-term"; exit 0' TERM
                    (trap '' TERM; exec sleep 30) &
                    echo $! > "\(dir)/child.pid"
                    echo $$ > "\(dir)/hook.pid"
                    wait
                    """,
                    to: hook
                )
                let outcomes = try await withDispatcher(killGrace: .seconds(1)) { dispatcher, outcomes in
                    // The timeout leaves a loaded machine time to start the shell and set its trap.
                    let actions = try ActionFixture.actions("- exec: {command: [\"\(hook)\"], timeout: 2s}")
                    dispatcher.submit(try ActionFixture.alert(), actions: actions)
                    return try await outcomes.wait(for: 1)
                }
                #expect(outcomes.first?.status == .timeout)
                // The outcome comes at the timeout; the hook's SIGTERM handling and the SIGKILL follow it.
                try await waitUntil("the hook to get SIGTERM") {
                    FileManager.default.fileExists(atPath: dir + "/got-term")
                }
                let hookPID = try Self.readPID(dir + "/hook.pid")
                let childPID = try Self.readPID(dir + "/child.pid")
                try await waitUntil("the hook to be reaped") {
                    ProcessProbe.isGone(hookPID) && ProcessProbe.state(hookPID) == nil
                }
                #expect(try await ProcessProbe.reap(childPID, timeout: .seconds(5)) == .signaled(SIGKILL))
                #expect(ProcessProbe.isGroupEmpty(hookPID))
            }
        }

        /// 1,000 alerts at once through a dispatcher limited to 4 exec processes: the hooks' own start/end log
        /// never shows more than 4 alive, every alert runs, and the process's memory does not grow with the burst.
        @Test func burstOfAThousandAlertsStaysWithinTheLimitWithFlatMemory() async throws {
            try await withTemporaryDirectory(prefix: "callwatch-actions") { dir in
                let log = dir + "/hooks.log"
                let hook = dir + "/counted.sh"
                try ActionFixture.writeScript(
                    """
                    echo "start $$" >> "\(log)"
                    sleep 0.01
                    echo "end $$" >> "\(log)"
                    """,
                    to: hook
                )
                let actions = try ActionFixture.actions("- exec: {command: [\"\(hook)\", \"{{alert.id}}\"]}")
                let burst = 1000
                let warmUp = 20
                let (finals, baseline, peak) = try await withDispatcher(execConcurrency: 4) { dispatcher, outcomes in
                    for _ in 0..<warmUp { dispatcher.submit(try ActionFixture.alert(), actions: actions) }
                    _ = try await outcomes.wait(for: warmUp)
                    let baseline = try ActionFixture.residentBytes()
                    var peak = baseline
                    for _ in 0..<burst { dispatcher.submit(try ActionFixture.alert(), actions: actions) }
                    try await waitUntil("\(burst) hooks", timeout: .seconds(60)) {
                        peak = max(peak, try ActionFixture.residentBytes())
                        return outcomes.final.count >= warmUp + burst
                    }
                    return (outcomes.final, baseline, peak)
                }
                #expect(finals.count == warmUp + burst)
                #expect(finals.allSatisfy { $0.status == .success })
                #expect(Set(finals.map(\.alertID)).count == warmUp + burst)
                var alive = 0
                var maxAlive = 0
                var starts = 0
                for line in try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n") {
                    if line.hasPrefix("start ") {
                        alive += 1
                        starts += 1
                    } else if line.hasPrefix("end ") {
                        alive -= 1
                    }
                    maxAlive = max(maxAlive, alive)
                }
                #expect(starts == warmUp + burst)
                #expect(alive == 0)
                #expect(maxAlive <= 4, "\(maxAlive) hooks alive at once")
                #expect(maxAlive >= 2, "the burst never ran hooks side by side; the test proves nothing")
                let growth = peak - baseline
                #expect(growth < 100 << 20, "RSS grew by \(growth >> 20) MiB during the burst")
            }
        }

        static func readPID(_ path: String) throws -> pid_t {
            let text = try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            return try #require(pid_t(text), "no pid in \(path)")
        }
    }
}
