import CallWatch
import Foundation
import HTTPTypes
import Testing

@testable import CallWatchServer

#if canImport(Glibc)
import Glibc
import CallWatchTestSupport
#endif

/// `callwatch serve` as a child process: signals go to it, never to the test process. The Makefile builds the
/// binary before `swift test`; without it these tests are skipped.
struct Daemon {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let binary = packageRoot.appendingPathComponent(".build/debug/callwatch").path
    static var binaryExists: Bool { FileManager.default.isExecutableFile(atPath: binary) }

    let process: Process
    let scratch: Scratch

    /// Starts `callwatch serve` on 127.0.0.1 with an ephemeral port (with `listen: nil`, where the rules say),
    /// logging JSON lines to `daemon.log`.
    static func start(
        scratch: Scratch,
        listen: String? = "127.0.0.1:0",
        logFile: String = "daemon.log"
    ) throws
        -> Daemon
    {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments =
            [
                "serve", "-c", scratch.path("rules.yaml"), "--state", scratch.path("state.db"),
                "--log-format", "json", "--log-level", "info",
            ] + (listen.map { ["--listen", $0] } ?? [])
        process.currentDirectoryURL = URL(fileURLWithPath: scratch.directory)
        _ = FileManager.default.createFile(atPath: scratch.path(logFile), contents: nil)
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: scratch.path(logFile)))
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return Daemon(process: process, scratch: scratch)
    }

    /// The daemon's log so far, one JSON object per line.
    var log: [[String: Any]] {
        (scratch.read("daemon.log") ?? "").split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
        }
    }

    func logged(_ message: String, reason: String) -> Bool {
        log.contains { $0["message"] as? String == message && $0["reason"] as? String == reason }
    }

    /// The port from Hummingbird's "Server started and listening on HOST:PORT" line.
    func port(timeout: Duration = .seconds(20)) async -> Int? {
        var port: Int?
        _ = await eventually(timeout: timeout) {
            for entry in log {
                guard let message = entry["message"] as? String, message.contains("listening on 127.0.0.1:"),
                    let text = message.split(separator: ":").last
                else { continue }
                port = Int(text)
            }
            return port != nil || !process.isRunning
        }
        return port
    }

    func signal(_ signal: Int32) {
        kill(process.processIdentifier, signal)
    }

    /// Waits for the process to exit; nil if it is still running after `timeout`.
    func exitStatus(timeout: Duration = .seconds(20)) async -> (Process.TerminationReason, Int32)? {
        guard await eventually(timeout: timeout, { !process.isRunning }) else { return nil }
        return (process.terminationReason, process.terminationStatus)
    }

    func stop() {
        if process.isRunning { signal(SIGKILL) }
    }
}

@Suite("Signals to the real binary")
struct SignalTests {
    static func rule(_ name: String, destination: String) -> String {
        """
        - name: \(name)
          when: {callStatus: CALL_DISCONNECTED, destination: "\(destination)"}
          actions:
            - log: {level: debug, message: "{{rule.name}} {{eventId}}"}
        """
    }

    @Test(
        "SIGHUP reloads (a broken file is rejected, the old rules stay); SIGTERM exits 0 with the store flushed",
        .enabled(if: Daemon.binaryExists, "needs .build/debug/callwatch (make test builds it first)")
    )
    func sighupAndSigterm() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let first = Self.rule("e2e-signal-first", destination: "+7001")
        let added = Self.rule("e2e-signal-added", destination: "+7002")
        try scratch.write("rules.yaml", Fixture.config(rules: first))
        let daemon = try Daemon.start(scratch: scratch)
        defer { daemon.stop() }
        let port = try #require(await daemon.port(), "no listening line in: \(scratch.read("daemon.log") ?? "")")
        let server = RunningServer(port: port, scratch: scratch, group: nil)

        try await server.accept(Fixture.event(id: "signal-1", destination: "+7001"))
        #expect(try await server.alerts(rule: "e2e-signal-first").count == 1)

        // A good edit and SIGHUP. (The file watch may reload it too; the log says which did.)
        try scratch.writeByRename("rules.yaml", Fixture.config(rules: first + "\n" + added))
        daemon.signal(SIGHUP)
        #expect(await eventually { daemon.logged("rules reloaded", reason: "SIGHUP") }, "no SIGHUP reload logged")
        try await server.accept(Fixture.event(id: "signal-2", destination: "+7002"))
        #expect(try await server.alerts(rule: "e2e-signal-added").count == 1)
        // The watch sees the same edit once; wait for it too, so no later success moves the timestamp below.
        #expect(await eventually { daemon.logged("rules reloaded", reason: "file changed") })
        let good = try await server.metrics()
        #expect(good.value("callwatch_config_last_reload_successful") == 1)
        let reloadedAt = try #require(good.value("callwatch_config_last_reload_success_timestamp_seconds"))

        // A broken edit and SIGHUP: rejected, the gauge says so, the running rules stay.
        try scratch.writeByRename("rules.yaml", Fixture.config(rules: added + "\n  cooldwn: 5m"))
        daemon.signal(SIGHUP)
        #expect(await eventually { daemon.logged("rules reload rejected; the running rules stay", reason: "SIGHUP") })
        let bad = try await server.metrics()
        #expect(bad.value("callwatch_config_last_reload_successful") == 0)
        #expect(bad.value("callwatch_config_last_reload_success_timestamp_seconds") == reloadedAt)
        try await server.accept(Fixture.event(id: "signal-3", destination: "+7001"))
        #expect(try await server.alerts(rule: "e2e-signal-first").count == 2)
        #expect(try await server.send(.get, "/readyz").status == .ok)

        // SIGTERM: exit 0, everything acknowledged is in the store.
        daemon.signal(SIGTERM)
        let status = try #require(await daemon.exitStatus(), "still running 20 s after SIGTERM")
        #expect(status.0 == .exit)
        #expect(status.1 == 0)
        let stored = try await RunningServer.storedIdentities(statePath: scratch.path("state.db"))
        #expect(stored == ["CALL_STATUS:signal-1", "CALL_STATUS:signal-2", "CALL_STATUS:signal-3"])
        // The shutdown is logged as it starts and once it is done, the last line of the run.
        let messages = daemon.log.compactMap { $0["message"] as? String }
        let began = try #require(messages.firstIndex(of: "callwatch shutting down"), "\(messages)")
        #expect(messages.last == "callwatch stopped", "\(messages)")
        #expect(began < messages.count - 1)
    }

    @Test(
        "a port already taken ends `serve` with exit status 1 and says why, rather than running without listening",
        .enabled(if: Daemon.binaryExists, "needs .build/debug/callwatch (make test builds it first)")
    )
    func portTaken() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        try scratch.write("rules.yaml", Fixture.config(rules: Self.rule("e2e-port", destination: "+7003")))
        let first = try Daemon.start(scratch: scratch)
        defer { first.stop() }
        let port = try #require(await first.port(), "no listening line in: \(scratch.read("daemon.log") ?? "")")

        let secondScratch = try Scratch()
        defer { secondScratch.remove() }
        try secondScratch.write("rules.yaml", Fixture.config(rules: Self.rule("e2e-port", destination: "+7003")))
        let second = try Daemon.start(scratch: secondScratch, listen: "127.0.0.1:\(port)")
        defer { second.stop() }
        let status = try #require(await second.exitStatus(), "still running 20 s after failing to bind")
        #expect(status.0 == .exit)
        #expect(status.1 == 1)
        let output = secondScratch.read("daemon.log") ?? ""
        #expect(output.contains("cannot listen on 127.0.0.1:\(port)"), "said: \(output)")
        #expect(first.process.isRunning)

        // The address taken from the rules file is named as such, not as "server.listen of …".
        let thirdScratch = try Scratch()
        defer { thirdScratch.remove() }
        try thirdScratch.write(
            "rules.yaml",
            Fixture.config(server: ["listen: 127.0.0.1:\(port)"], rules: Self.rule("e2e-port", destination: "+7003"))
        )
        let third = try Daemon.start(scratch: thirdScratch, listen: nil)
        defer { third.stop() }
        let thirdStatus = try #require(await third.exitStatus(), "still running 20 s after failing to bind")
        #expect(thirdStatus.1 == 1)
        let thirdOutput = thirdScratch.read("daemon.log") ?? ""
        #expect(thirdOutput.contains("callwatch: cannot listen on 127.0.0.1:\(port): "), "said: \(thirdOutput)")
    }
}
