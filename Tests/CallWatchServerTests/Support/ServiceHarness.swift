import Logging
import ServiceLifecycle

/// Runs `service` (an application that reports its port through `ports`) in a `ServiceGroup` of its own — no
/// signal handling, so the test process's SIGTERM/SIGINT stay untouched — calls `body` with the port once it
/// listens, then shuts the group down gracefully and waits for it, whether `body` threw or not.
func runListening<T: Sendable>(
    _ service: some Service,
    ports: AsyncStream<Int>,
    portsContinuation: AsyncStream<Int>.Continuation,
    logger: Logger,
    _ body: (_ port: Int, _ group: ServiceGroup) async throws -> T
) async throws -> T {
    let group = ServiceGroup(configuration: .init(services: [service], logger: logger))
    return try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask {
            defer { portsContinuation.finish() }
            try await group.run()
        }
        guard let port = await ports.first(where: { _ in true }) else {
            try await tasks.waitForAll()
            throw HarnessError.serverDidNotStart
        }
        let result: Result<T, any Error>
        do {
            result = .success(try await body(port, group))
        } catch {
            result = .failure(error)
        }
        await group.triggerGracefulShutdown()
        try await tasks.waitForAll()
        return try result.get()
    }
}
