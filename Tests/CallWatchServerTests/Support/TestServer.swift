import CallWatch
import CallWatchServer
import Foundation
import HTTPTypes
import Logging
import ServiceLifecycle

/// A recent alert as `GET /api/v1/alerts` lists it.
struct AlertView: Decodable, Sendable {
    struct Action: Decodable, Sendable {
        var index: Int
        var kind: String
        var status: String
        var attempts: Int
        var reason: String?
    }

    var id: String
    var rule: String
    var key: String
    var actions: [Action]
}

enum HarnessError: Error, CustomStringConvertible {
    case serverDidNotStart
    case unexpectedResponse(HTTPResult)

    var description: String {
        switch self {
        case .serverDidNotStart: "the server stopped before it was listening"
        case .unexpectedResponse(let result): "unexpected response \(result.status): \(result.body)"
        }
    }
}

/// The daemon under test, listening on 127.0.0.1 with an ephemeral port and keeping its rules file and store in
/// the test's `scratch` directory: built in process by `buildApplication` exactly as `callwatch serve` builds it,
/// or the real binary as a child process (`SignalTests`).
struct RunningServer: Sendable {
    let port: Int
    let scratch: Scratch
    /// The in-process server's group; nil for a `callwatch serve` child process.
    let group: ServiceGroup?

    var configPath: String { scratch.path("rules.yaml") }
    var statePath: String { scratch.path("state.db") }

    func send(
        _ method: HTTPRequest.Method,
        _ path: String,
        headers: HTTPFields = [:],
        body: String? = nil,
        timeout: Duration = .seconds(15)
    ) async throws -> HTTPResult {
        try await HTTPClient.send(port: port, method, path, headers: headers, body: body, timeout: timeout)
    }

    /// POSTs `body` to the ingest path as `application/json`, plus `headers`.
    func post(_ body: String, headers: HTTPFields = [:], timeout: Duration = .seconds(15)) async throws -> HTTPResult {
        var fields = HTTPClient.jsonHeaders
        for field in headers { fields[field.name] = field.value }
        return try await send(.post, Fixture.ingestPath, headers: fields, body: body, timeout: timeout)
    }

    /// POSTs `body` and requires `200 {"status":"accepted"}`.
    func accept(_ body: String, headers: HTTPFields = [:]) async throws {
        let result = try await post(body, headers: headers)
        guard result.status == .ok, result.statusField == "accepted" else {
            throw HarnessError.unexpectedResponse(result)
        }
    }

    func reload(headers: HTTPFields = [:]) async throws -> HTTPResult {
        try await send(.post, "/-/reload", headers: headers)
    }

    func metrics() async throws -> MetricsSnapshot {
        let result = try await send(.get, "/metrics")
        guard result.status == .ok else { throw HarnessError.unexpectedResponse(result) }
        return MetricsSnapshot(text: result.body)
    }

    /// Alerts recorded in the store (newest first), through `GET /api/v1/alerts`.
    func alerts(rule: String? = nil, headers: HTTPFields = [:]) async throws -> [AlertView] {
        let result = try await send(.get, "/api/v1/alerts?limit=1000", headers: headers)
        guard result.status == .ok else { throw HarnessError.unexpectedResponse(result) }
        let alerts = try JSONDecoder().decode([AlertView].self, from: Data(result.body.utf8))
        return rule.map { rule in alerts.filter { $0.rule == rule } } ?? alerts
    }

    /// Identities of the events in the journal, read with a second connection to the SQLite file.
    func storedIdentities() async throws -> [String] {
        try await Self.storedIdentities(statePath: statePath)
    }

    static func storedIdentities(statePath: String) async throws -> [String] {
        try SQLiteStore(path: statePath).entries(since: .distantPast).map(\.identity)
    }

    /// Starts graceful shutdown (what SIGTERM does in `callwatch serve`); `withServer` returns once it is done.
    func shutdown() async {
        await group?.triggerGracefulShutdown()
    }
}

/// Runs the daemon with `rules` for the duration of `body`, then shuts it down gracefully and waits for it.
/// With no `scratch`, a fresh directory is used and removed afterwards; pass one to look at the store or hook
/// files after shutdown.
func withServer<T: Sendable>(
    rules: String,
    scratch given: Scratch? = nil,
    configure: (inout ServeConfiguration) -> Void = { _ in },
    _ body: (RunningServer) async throws -> T
) async throws -> T {
    let scratch = try given ?? Scratch()
    defer { if given == nil { scratch.remove() } }
    try scratch.write("rules.yaml", rules)

    var configuration = ServeConfiguration(configPath: scratch.path("rules.yaml"))
    configuration.listen = "127.0.0.1:0"
    configuration.statePath = scratch.path("state.db")
    configuration.logLevel = .error
    configuration.watchInterval = .seconds(3600)
    configure(&configuration)

    let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
    let app = try await buildApplication(configuration) { channel in
        continuation.yield(channel.localAddress?.port ?? 0)
    }
    var logger = Logger(label: "callwatch.e2e")
    logger.logLevel = .error
    return try await runListening(app, ports: ports, portsContinuation: continuation, logger: logger) { port, group in
        try await body(RunningServer(port: port, scratch: scratch, group: group))
    }
}
