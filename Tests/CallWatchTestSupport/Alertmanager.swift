// A real Prometheus Alertmanager, run as a child process for a test.
import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#endif

/// A running Alertmanager on 127.0.0.1: clustering off, a route to a receiver that notifies no one, its storage in
/// a temporary directory. Start one with `Alertmanager.withAlertmanager { am in … }`, which always stops it.
public struct Alertmanager: Sendable {
    /// Where the binary is looked for, in order; Debian's package installs `prometheus-alertmanager`.
    static let candidates = [
        "/usr/bin/prometheus-alertmanager", "/usr/local/bin/alertmanager", "/usr/bin/alertmanager",
    ]

    /// The configuration: every alert goes to `null`, which has no integrations.
    static let configuration = """
        route:
          receiver: "null"
        receivers:
          - name: "null"

        """

    public let port: Int
    /// The temporary directory holding the configuration, the storage and the log.
    public let directory: String

    /// `http://127.0.0.1:PORT`.
    public var baseURL: String { "http://127.0.0.1:\(port)" }

    var logPath: String { "\(directory)/alertmanager.log" }

    /// What Alertmanager logged so far.
    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// The binary: the first of `candidates` that exists, else `prometheus-alertmanager` or `alertmanager` on
    /// PATH; when there is none and this runs as root, `apt-get install -y prometheus-alertmanager` (after an
    /// `apt-get update` if the first try fails) installs it. Found once per test run.
    public static func binary() throws -> String {
        try located.get()
    }

    private static let located: Result<String, TestFailure> = {
        if let path = find() { return .success(path) }
        guard getuid() == 0 else {
            return .failure(
                TestFailure("no Alertmanager binary, and not root to apt-get install prometheus-alertmanager")
            )
        }
        var transcript = ""
        for commands in [
            [["install", "-y", "prometheus-alertmanager"]],
            [["update"], ["install", "-y", "prometheus-alertmanager"]],
        ] {
            for arguments in commands { transcript += aptGet(arguments) }
            if let path = find() { return .success(path) }
        }
        return .failure(TestFailure("apt-get install -y prometheus-alertmanager did not install it:\n\(transcript)"))
    }()

    private static func find() -> String? {
        let manager = FileManager.default
        if let path = candidates.first(where: manager.isExecutableFile(atPath:)) { return path }
        let directories = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
        for name in ["prometheus-alertmanager", "alertmanager"] {
            for directory in directories where manager.isExecutableFile(atPath: "\(directory)/\(name)") {
                return "\(directory)/\(name)"
            }
        }
        return nil
    }

    /// Runs `apt-get ARGUMENTS` non-interactively; returns what it printed.
    private static func aptGet(_ arguments: [String]) -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/apt-get")
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["DEBIAN_FRONTEND"] = "noninteractive"
        process.environment = environment
        let output = Pipe()
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = output
        process.standardError = output
        do {
            try process.run()
        } catch {
            return "apt-get \(arguments.joined(separator: " ")): \(error)\n"
        }
        let printed = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return "apt-get \(arguments.joined(separator: " ")) (exit \(process.terminationStatus)):\n"
            + String(decoding: printed, as: UTF8.self)
    }

    /// Starts an Alertmanager, waits until `GET /-/ready` answers 200, runs `body`, and stops it (SIGTERM, then
    /// SIGKILL if it lingers), whether `body` returns or throws. A port taken between choosing and binding it is
    /// retried with another.
    public static func withAlertmanager<T>(
        startTimeout: Duration = .seconds(60),
        _ body: (Alertmanager) async throws -> T
    ) async throws -> T {
        let binary = try binary()
        return try await withTemporaryDirectory(prefix: "callwatch-alertmanager") { directory in
            try configuration.write(toFile: "\(directory)/alertmanager.yml", atomically: true, encoding: .utf8)
            var attempt = 0
            while true {
                attempt += 1
                let alertmanager = Alertmanager(port: try unusedPort(), directory: directory)
                let process = try alertmanager.launch(binary)
                do {
                    try await alertmanager.waitUntilReady(process, timeout: startTimeout)
                } catch is AddressInUse where attempt < 5 {
                    await stop(process)
                    continue
                } catch {
                    await stop(process)
                    throw error
                }
                do {
                    let result = try await body(alertmanager)
                    await stop(process)
                    return result
                } catch {
                    await stop(process)
                    throw error
                }
            }
        }
    }

    private struct AddressInUse: Error {}

    private func launch(_ binary: String) throws -> Process {
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let logHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        try logHandle.seekToEnd()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = [
            "--config.file=\(directory)/alertmanager.yml",
            "--storage.path=\(directory)/data",
            "--web.listen-address=127.0.0.1:\(port)",
            "--cluster.listen-address=",
        ]
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = logHandle
        process.standardError = logHandle
        try process.run()
        try logHandle.close()
        return process
    }

    private func waitUntilReady(_ process: Process, timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        while true {
            if !process.isRunning {
                if log.contains("address already in use") { throw AddressInUse() }
                throw TestFailure("Alertmanager exited during start (status \(process.terminationStatus)):\n\(log)")
            }
            if let (status, _) = try? await get("/-/ready"), status == 200 { return }
            guard ContinuousClock.now < deadline else {
                throw TestFailure("Alertmanager was not ready within \(timeout):\n\(log)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// SIGTERM, up to 10 s to exit, then SIGKILL.
    private static func stop(_ process: Process) async {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        let deadline = ContinuousClock.now + .seconds(10)
        while process.isRunning, ContinuousClock.now < deadline { await pause() }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            while process.isRunning { await pause() }
        }
    }

    /// 10 ms, even in a cancelled task (where `Task.sleep` returns at once).
    private static func pause() async {
        do { try await Task.sleep(for: .milliseconds(10)) } catch { usleep(10_000) }
    }

    /// `GET PATH` (with its query): the status and the body.
    public func get(_ path: String) async throws -> (status: Int, body: Data) {
        guard let url = URL(string: baseURL + path) else { throw TestFailure("bad path \(path)") }
        var request = URLRequest(url: url)
        request.timeoutInterval = 10
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
    }

    /// `GET /api/v2/alerts` (with `query`, e.g. `?active=true`): the alerts Alertmanager holds that have not
    /// resolved, as JSON objects (`labels`, `annotations`, `startsAt`, `endsAt`, `status.state`, …).
    public func alerts(query: String = "") async throws -> [[String: Any]] {
        let (status, body) = try await get("/api/v2/alerts" + query)
        guard status == 200, let alerts = try JSONSerialization.jsonObject(with: body) as? [[String: Any]] else {
            throw TestFailure("GET /api/v2/alerts\(query) answered \(status): \(String(decoding: body, as: UTF8.self))")
        }
        return alerts
    }
}
