import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Synchronization

#if canImport(Glibc)
import Glibc
import CallWatchTestSupport
#endif

/// A real HTTP server on 127.0.0.1 with an ephemeral port, run in-process for a test. It records every request
/// (method, path, headers, body, arrival time) and answers from a script of replies, in order; once the script
/// runs out the last reply repeats.
///
/// ```swift
/// try await HTTPSink.withSink(responses: [.status(503), .status(200)]) { sink in
///     // send to sink.url("/hook") …
///     let requests = try await sink.waitForRequests(2)
/// }
/// ```
struct HTTPSink: Sendable {
    /// One scripted answer.
    struct Reply: Sendable {
        var status: Int
        var headers: [String: String]
        var body: String
        /// How long to wait before answering (a slow server).
        var delay: Duration

        static func status(
            _ status: Int,
            headers: [String: String] = [:],
            body: String = "",
            delay: Duration = .zero
        ) -> Reply {
            Reply(status: status, headers: headers, body: body, delay: delay)
        }
    }

    /// A request as it arrived.
    struct RecordedRequest: Sendable {
        var method: String
        /// The path and query, e.g. `/hook?x=1`.
        var path: String
        var headers: [(name: String, value: String)]
        var body: [UInt8]
        /// When the request head arrived.
        var arrivedAt: ContinuousClock.Instant

        var bodyText: String { String(decoding: body, as: UTF8.self) }

        /// The first value of a header, by case-insensitive name.
        func header(_ name: String) -> String? {
            headers.first { $0.name.lowercased() == name.lowercased() }?.value
        }

        /// Every value of a header, by case-insensitive name.
        func headerValues(_ name: String) -> [String] {
            headers.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
        }
    }

    struct SinkError: Error, CustomStringConvertible {
        var description: String
    }

    /// The bound port.
    let port: Int
    private let recorder: Recorder

    /// `http://127.0.0.1:<port><path>`.
    func url(_ path: String = "/") -> String { "http://127.0.0.1:\(port)\(path)" }

    /// Every request received so far, in arrival order.
    var requests: [RecordedRequest] { recorder.state.withLock { $0.requests } }

    /// The most requests that were being answered at the same moment.
    var maxConcurrentRequests: Int { recorder.state.withLock { $0.maxInFlight } }

    /// Waits until at least `count` requests arrived; throws if `timeout` passes first.
    func waitForRequests(_ count: Int, timeout: Duration = .seconds(10)) async throws -> [RecordedRequest] {
        let deadline = ContinuousClock.now + timeout
        while true {
            let current = requests
            if current.count >= count { return current }
            guard ContinuousClock.now < deadline else {
                throw SinkError(description: "timed out waiting for \(count) requests; got \(current.count)")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Starts a sink answering with `replies` (in order, the last one repeating), runs `body`, then stops it.
    static func withSink<T>(
        responses replies: [Reply] = [.status(200)],
        _ body: (HTTPSink) async throws -> T
    ) async throws -> T {
        let recorder = Recorder(replies: replies.isEmpty ? [.status(200)] : replies)
        let (ports, portContinuation) = AsyncStream<Int>.makeStream()
        let app = Application(
            responder: CallbackResponder<BasicRequestContext> { request, _ in
                try await recorder.respond(to: request)
            },
            configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: nil),
            onServerRunning: { channel in
                portContinuation.yield(channel.localAddress?.port ?? 0)
            },
            logger: Logger(label: "callwatch.test.sink") { _ in SwiftLogNoOpLogHandler() }
        )
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                defer { portContinuation.finish() }
                try await app.runService(gracefulShutdownSignals: [])
            }
            defer { group.cancelAll() }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next(), port > 0 else {
                throw SinkError(description: "the sink did not start")
            }
            return try await body(HTTPSink(port: port, recorder: recorder))
        }
    }

    /// Thread-safe store of requests and the reply script.
    private final class Recorder: Sendable {
        struct State {
            var replies: [Reply]
            var requests: [RecordedRequest] = []
            var inFlight = 0
            var maxInFlight = 0
        }

        let state: Mutex<State>

        init(replies: [Reply]) {
            state = Mutex(State(replies: replies))
        }

        func respond(to request: Request) async throws -> Response {
            let arrivedAt = ContinuousClock.now
            var request = request
            let buffer = try await request.collectBody(upTo: 16 << 20)
            let recorded = RecordedRequest(
                method: request.method.rawValue,
                path: request.uri.string,
                headers: request.headers.map { ($0.name.rawName, $0.value) },
                body: Array(buffer.readableBytesView),
                arrivedAt: arrivedAt
            )
            let reply = state.withLock { state -> Reply in
                let reply = state.replies[min(state.requests.count, state.replies.count - 1)]
                state.requests.append(recorded)
                state.inFlight += 1
                state.maxInFlight = max(state.maxInFlight, state.inFlight)
                return reply
            }
            defer { state.withLock { $0.inFlight -= 1 } }
            if reply.delay > .zero { try await Task.sleep(for: reply.delay) }
            var headers = HTTPFields()
            for (name, value) in reply.headers {
                if let fieldName = HTTPField.Name(name) { headers[fieldName] = value }
            }
            return Response(
                status: HTTPResponse.Status(code: reply.status),
                headers: headers,
                body: ResponseBody(byteBuffer: ByteBuffer(string: reply.body))
            )
        }
    }
}
