import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
import CallWatchTestSupport
#endif

/// A test waited for something that never came, or a child process misbehaved.
struct DurabilityFailure: Error, CustomStringConvertible {
    var description: String
}

/// The real `callwatch serve` binary run as a child process, as an operator (or systemd) runs it: started on a
/// rules file, a store and a port, killed with SIGKILL or stopped with SIGTERM.
final class DurabilityDaemon {
    /// The package root: the nearest directory above this file holding `Package.swift`.
    static let packageRoot: URL = {
        var url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while url.path != "/", !FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path)
        {
            url.deleteLastPathComponent()
        }
        return url
    }()

    /// `.build/debug/callwatch`, which the Makefile builds before `swift test`.
    static let binary = packageRoot.appendingPathComponent(".build/debug/callwatch").path

    static var binaryExists: Bool { FileManager.default.isExecutableFile(atPath: binary) }

    let port: Int
    let stdoutPath: String
    let stderrPath: String
    private let process: Process

    /// Starts `callwatch serve -c RULES --listen 127.0.0.1:PORT --state STORE`; output goes to files named by
    /// `label` in `directory`. With `openFileLimit`, the daemon runs under that `ulimit -n`.
    init(directory: String, rules: String, store: String, port: Int, label: String, openFileLimit: Int? = nil) throws {
        self.port = port
        stdoutPath = "\(directory)/\(label).stdout"
        stderrPath = "\(directory)/\(label).stderr"
        _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = [
            "serve", "-c", rules, "--listen", "127.0.0.1:\(port)", "--state", store, "--log-format", "json",
            "--shutdown-grace", "3",
        ]
        if let openFileLimit {
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments =
                ["-c", "ulimit -n \(openFileLimit) && exec \"$0\" \"$@\"", Self.binary] + process.arguments!
        }
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle(forWritingAtPath: stdoutPath)
        process.standardError = FileHandle(forWritingAtPath: stderrPath)
        try process.run()
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    var isRunning: Bool { process.isRunning }

    /// What the daemon wrote to stderr so far.
    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// The base URL, `http://127.0.0.1:PORT`.
    var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Polls `GET /healthz` until it answers 200; throws if the process exits or `timeout` passes first (generous:
    /// a debug binary on a machine busy with a build can take a while to start).
    func waitUntilHealthy(client: DurabilityClient, timeout: Duration = .seconds(60)) async throws {
        let deadline = ContinuousClock.now + timeout
        while true {
            if !process.isRunning {
                throw DurabilityFailure(description: "the daemon exited during start: \(stderr)")
            }
            if await client.get(baseURL + "/healthz")?.status == 200 { return }
            guard ContinuousClock.now < deadline else {
                throw DurabilityFailure(description: "the daemon did not become healthy: \(stderr)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// `kill -9`, then waits until the process is gone.
    func kill9() async throws {
        kill(process.processIdentifier, SIGKILL)
        _ = try await waitForExit()
    }

    /// SIGTERM (a graceful stop); returns how the process ended.
    func terminate(timeout: Duration = .seconds(20)) async throws -> (reason: Process.TerminationReason, status: Int32)
    {
        kill(process.processIdentifier, SIGTERM)
        return try await waitForExit(timeout: timeout)
    }

    /// Waits for the process to end; returns whether it exited or died of a signal, and the code or signal.
    func waitForExit(
        timeout: Duration = .seconds(20)
    ) async throws -> (
        reason: Process.TerminationReason, status: Int32
    ) {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            guard ContinuousClock.now < deadline else {
                kill(process.processIdentifier, SIGKILL)
                throw DurabilityFailure(description: "the daemon did not exit within \(timeout): \(stderr)")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        return (process.terminationReason, process.terminationStatus)
    }

}
