import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// The receiving end of the scenarios' `http` actions: a real HTTP server in the test process, on 127.0.0.1 and a
/// given port (0 for any), answering 200 and recording each request's `Idempotency-Key` and body.
struct DurabilitySink: Sendable {
    struct Delivery: Sendable {
        var idempotencyKey: String?
        var body: Data
    }

    let port: Int
    private let recorded: Recorded

    /// Every request received so far, in arrival order.
    var deliveries: [Delivery] { recorded.deliveries.withLock { $0 } }

    /// The distinct `Idempotency-Key`s received.
    var keys: Set<String> { Set(deliveries.compactMap(\.idempotencyKey)) }

    /// Starts the sink on `port`, runs `body`, then stops it.
    static func withSink<T>(port: Int = 0, _ body: (DurabilitySink) async throws -> T) async throws -> T {
        let recorded = Recorded()
        let (ports, portContinuation) = AsyncStream<Int>.makeStream()
        let app = Application(
            responder: CallbackResponder<BasicRequestContext> { request, _ in
                var request = request
                let buffer = try await request.collectBody(upTo: 1 << 20)
                let delivery = Delivery(
                    idempotencyKey: request.headers[HTTPField.Name("Idempotency-Key")!],
                    body: Data(buffer.readableBytesView)
                )
                recorded.deliveries.withLock { $0.append(delivery) }
                return Response(status: .ok)
            },
            configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: nil),
            onServerRunning: { channel in portContinuation.yield(channel.localAddress?.port ?? 0) },
            logger: Logger(label: "callwatch.test.durability-sink") { _ in SwiftLogNoOpLogHandler() }
        )
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                defer { portContinuation.finish() }
                try await app.runService(gracefulShutdownSignals: [])
            }
            defer { group.cancelAll() }
            var iterator = ports.makeAsyncIterator()
            guard let bound = await iterator.next(), bound > 0 else {
                throw DurabilityFailure(description: "the sink did not start on port \(port)")
            }
            return try await body(DurabilitySink(port: bound, recorded: recorded))
        }
    }

    private final class Recorded: Sendable {
        let deliveries = Mutex<[Delivery]>([])
    }
}
