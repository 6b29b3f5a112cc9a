import CallWatchTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Synchronization

/// A real HTTP receiver for `http` actions: a Hummingbird server on 127.0.0.1 (an ephemeral port, or a given one
/// for a sink that comes up after the daemon) that records every request and answers with the status `respond`
/// picks for its path.
final class Sink: Sendable {
    struct Received: Sendable {
        var method: HTTPRequest.Method
        var path: String
        var headers: HTTPFields
        var body: String

        var json: [String: Any]? {
            (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any]
        }

        var idempotencyKey: String? { headers[HTTPField.Name("Idempotency-Key")!] }
    }

    final class Recorder: Sendable {
        let requests = Mutex<[Received]>([])
    }

    let port: Int
    private let recorder: Recorder

    fileprivate init(port: Int, recorder: Recorder) {
        self.port = port
        self.recorder = recorder
    }

    func url(_ path: String) -> String { "http://127.0.0.1:\(port)\(path)" }

    var received: [Received] { recorder.requests.withLock { $0 } }

    /// The distinct `Idempotency-Key`s received.
    var keys: Set<String> { Set(received.compactMap(\.idempotencyKey)) }

    /// Waits until at least `count` requests arrived; returns them, or nil when `timeout` passed first.
    func waitFor(count: Int, timeout: Duration = .seconds(10)) async -> [Received]? {
        await eventually(timeout: timeout) { received.count >= count } ? received : nil
    }
}

/// Runs a `Sink` for the duration of `body`.
func withSink<T: Sendable>(
    port requestedPort: Int = 0,
    respond: @escaping @Sendable (String) -> HTTPResponse.Status = { _ in .ok },
    _ body: (Sink) async throws -> T
) async throws -> T {
    let recorder = Sink.Recorder()
    let router = Router()
    router.on("**", method: .post) { request, _ -> Response in
        let buffer = try await request.body.collect(upTo: 1 << 20)
        let received = Sink.Received(
            method: request.method,
            path: request.uri.path,
            headers: request.headers,
            body: String(buffer: buffer)
        )
        recorder.requests.withLock { $0.append(received) }
        return Response(status: respond(request.uri.path))
    }
    var logger = Logger(label: "callwatch.e2e.sink")
    logger.logLevel = .error
    let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
    let app = Application(
        router: router,
        configuration: .init(address: .hostname("127.0.0.1", port: requestedPort)),
        onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) },
        logger: logger
    )
    return try await runListening(app, ports: ports, portsContinuation: continuation, logger: logger) { port, _ in
        try await body(Sink(port: port, recorder: recorder))
    }
}
