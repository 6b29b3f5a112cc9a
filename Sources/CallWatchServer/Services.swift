import CallWatch
import Foundation
import Logging
import ServiceLifecycle

/// The journal writer: recovers, then runs until graceful shutdown and drains what the server already accepted.
/// Cancelled (the group does that when another service fails, the listener's bind for one), it drains and returns
/// too. First in the group, so it stops last: the dispatcher's outcomes still reach it while actions finish.
struct PipelineService: Service {
    let pipeline: Pipeline
    let onRecovered: @Sendable (Pipeline.RecoveryReport) -> Void

    func run() async throws {
        try await withTaskCancellationHandler {
            try await withGracefulShutdownHandler {
                try await pipeline.run(onRecovered: onRecovered)
            } onGracefulShutdown: {
                pipeline.finish()
            }
        } onCancel: {
            pipeline.finish()
        }
    }
}

/// The writer's clock: a tick every `defaults.evaluation_interval` of the rules in force (a reload changes it from
/// the next tick), handled in order with events: keys that can no longer fire are dropped even when no event
/// arrives. `interval` overrides the rules' value (tests).
struct TickService: Service {
    let pipeline: Pipeline
    let interval: Duration?

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let pause = interval ?? pipeline.ruleSet.defaults.evaluationInterval
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: pause) }
            pipeline.tick()
        }
    }
}

/// Runs actions; on shutdown lets running ones finish for up to `grace`, then cancels them (their outbox rows
/// stay pending and resume on the next start).
struct DispatcherService: Service {
    let dispatcher: ActionDispatcher
    let grace: Duration

    func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await dispatcher.run() }
            group.addTask {
                try? await gracefulShutdown()
                dispatcher.finish()
                try? await Task.sleep(for: grace)
            }
            await group.next()
            group.cancelAll()
        }
    }
}

/// Prunes the journal in the background: entries older than `state.retention` and than every window.
struct PrunerService: Service {
    let pipeline: Pipeline
    let logger: Logger
    let interval: Duration

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let ruleSet = pipeline.ruleSet
            let keep = max(ruleSet.state.retention.seconds, 2 * ruleSet.longestHorizon.seconds)
            do {
                let deleted = try await pipeline.store.prune(before: Date().addingTimeInterval(-keep))
                if deleted > 0 { logger.info("pruned the journal", metadata: ["rows": "\(deleted)"]) }
            } catch {
                logger.error("pruning failed", metadata: ["error": "\(error)"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}

/// Checkpoints the store's WAL from a connection of its own, so no request's commit waits for a whole one: often
/// while events arrive (each pass small, so the writer's share when the WAL starts over stays small), backing off
/// to four times a second while nothing is committed. BENCHMARKS.md has the measurements behind both intervals.
struct CheckpointService: Service {
    let store: SQLiteStore
    let logger: Logger
    var busyInterval: Duration = .milliseconds(25)
    var idleInterval: Duration = .milliseconds(250)

    func run() async throws {
        try store.checkpointInBackground()
        var failing = false  // log a failure once, not every interval
        var lastFrames = -1
        var interval = busyInterval
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let frames = try await store.checkpoint()?.walFrames ?? 0
                interval = frames == lastFrames ? min(interval * 2, idleInterval) : busyInterval
                lastFrames = frames
                if failing { logger.info("WAL checkpoints work again") }
                failing = false
            } catch {
                if !failing { logger.warning("WAL checkpoint failed; retrying", metadata: ["error": "\(error)"]) }
                failing = true
                interval = idleInterval
            }
            let pause = interval
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: pause) }
        }
    }
}

/// Logs that a shutdown has begun, as soon as the signal arrives (the application's own services say nothing
/// until each is done).
struct ShutdownNotice: Service {
    let logger: Logger

    func run() async throws {
        try? await gracefulShutdown()
        logger.info("callwatch shutting down")
    }
}
