import Foundation
import Logging
import Metrics
import Synchronization

/// Runs alerts' actions: each action independently, `exec` and `http` each under a global concurrency limit.
/// Work beyond the limit waits in a queue of small values, not as processes or open requests. `submit` never
/// waits, so ingest never waits for an action. After each attempt it does what the action's `RetryPolicy`
/// decides, waiting by its `DispatchClock`.
public final class ActionDispatcher: Sendable {
    public struct Configuration: Sendable {
        public var execConcurrency: Int
        public var httpConcurrency: Int
        /// SIGTERM → SIGKILL grace for a hook that timed out.
        public var killGrace: Duration = .seconds(5)
        /// First retry delay; doubles per attempt, with jitter, up to `backoffCap` (see `RetryPolicy`).
        public var backoffBase: Duration = .milliseconds(500)
        public var backoffCap: Duration = .seconds(60)
        /// Draws the jitter factor, in 0.5...1, passed to the retry policy (tests fix it to make delays exact).
        var jitter: @Sendable () -> Double = { Double.random(in: 0.5...1) }

        public init(execConcurrency: Int = 8, httpConcurrency: Int = 32) {
            self.execConcurrency = execConcurrency
            self.httpConcurrency = httpConcurrency
        }

        public init(defaults: RuleSet.Defaults) {
            self.init(execConcurrency: defaults.execConcurrency, httpConcurrency: defaults.httpConcurrency)
        }

        /// The retry policy of `action`: its own `retries`, this configuration's backoff.
        func retryPolicy(for action: ActionSpec) -> RetryPolicy {
            let retries: Int
            switch action {
            case .exec(let action): retries = action.retries
            case .http(let action): retries = action.retries
            case .log: retries = 0
            }
            return RetryPolicy(retries: retries, backoffBase: backoffBase, backoffCap: backoffCap)
        }
    }

    public typealias OutcomeHandler = @Sendable (ActionOutcome) -> Void

    let configuration: Configuration
    let logger: Logger
    let clock: any DispatchClock
    let exec: ExecRunner
    let http: HTTPSender
    /// Boxed: a closure read out of a `Mutex` directly gets re-wrapped in thunks on every read.
    struct Handler: Sendable {
        let call: OutcomeHandler
    }

    let outcomeHandler: Mutex<Handler>
    let execQueue: (stream: AsyncStream<PendingAction>, continuation: AsyncStream<PendingAction>.Continuation)
    let httpQueue: (stream: AsyncStream<PendingAction>, continuation: AsyncStream<PendingAction>.Continuation)
    let execPermits: AsyncSemaphore
    let httpPermits: AsyncSemaphore
    let execInFlight = Meter(label: "callwatch_actions_in_flight", dimensions: [("action", "exec")])
    let httpInFlight = Meter(label: "callwatch_actions_in_flight", dimensions: [("action", "http")])

    public init(
        configuration: Configuration,
        logger: Logger,
        clock: any DispatchClock = SystemDispatchClock(),
        onOutcome: @escaping OutcomeHandler = { _ in }
    ) {
        self.configuration = configuration
        self.logger = logger
        self.clock = clock
        self.exec = ExecRunner(killGrace: configuration.killGrace, logger: logger)
        self.http = HTTPSender(logger: logger)
        self.outcomeHandler = Mutex(Handler(call: onOutcome))
        self.execQueue = AsyncStream.makeStream()
        self.httpQueue = AsyncStream.makeStream()
        self.execPermits = AsyncSemaphore(permits: configuration.execConcurrency)
        self.httpPermits = AsyncSemaphore(permits: configuration.httpConcurrency)
    }

    /// Replaces the outcome handler (the pipeline wires itself in after both exist). It must not block: it is
    /// called from the action that just ended (the pipeline only queues the outcome for its writer).
    public func setOutcomeHandler(_ handler: @escaping OutcomeHandler) {
        outcomeHandler.withLock { $0 = Handler(call: handler) }
    }

    func onOutcome(_ outcome: ActionOutcome) {
        let handler = outcomeHandler.withLock { $0 }
        handler.call(outcome)
    }

    /// Queues every action of `alert` but those at `skipping` (they wait for the rule's group), all rendering from
    /// one `AlertRendering`. Log actions run here and now (they are a line of output).
    public func submit(_ alert: Alert, actions: [ActionSpec], skipping: Set<Int> = []) {
        for pending in PendingAction.all(for: alert, actions: actions, skipping: skipping) { submit(pending) }
    }

    public func submit(_ pending: PendingAction) {
        switch pending.action {
        case .log(let action):
            let start = ContinuousClock.now
            logger.log(
                level: action.level,
                "\(pending.rendering.context.render(action.message))",
                metadata: [
                    "rule": "\(pending.alert.rule)", "key": "\(pending.alert.keyText)",
                    "alert": "\(pending.alert.deliveryID)",
                ]
            )
            let outcome = ActionOutcome(
                alertID: pending.alert.deliveryID,
                rule: pending.alert.rule,
                actionIndex: pending.actionIndex,
                kind: "log",
                status: .success,
                attempts: 1,
                reason: nil,
                duration: ContinuousClock.now - start,
                group: !pending.members.isEmpty,
                recorded: pending.recorded
            )
            record(outcome)
            onOutcome(outcome)
        case .exec:
            execQueue.continuation.yield(pending)
        case .http:
            httpQueue.continuation.yield(pending)
        }
    }

    /// Stops taking work; `run()` returns once queued and running actions are done.
    public func finish() {
        execQueue.continuation.finish()
        httpQueue.continuation.finish()
    }

    /// Runs queued actions until `finish()` and the queues drain.
    public func run() async {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.consume(self.execQueue.stream, permits: self.execPermits) }
            group.addTask { await self.consume(self.httpQueue.stream, permits: self.httpPermits) }
        }
    }

    private func consume(_ stream: AsyncStream<PendingAction>, permits: AsyncSemaphore) async {
        await withDiscardingTaskGroup { group in
            for await pending in stream {
                if let notBefore = pending.notBefore, notBefore > clock.now() {
                    // A retry resumed after a restart: it waits for its time without holding a permit.
                    group.addTask { await self.perform(pending, permits: permits, holdingPermit: false) }
                    continue
                }
                await permits.wait()
                group.addTask { await self.perform(pending, permits: permits, holdingPermit: true) }
            }
        }
    }

    /// Runs one action to its end: attempts, each followed by what the retry policy decides, a permit held only
    /// while attempting.
    private func perform(_ pending: PendingAction, permits: AsyncSemaphore, holdingPermit: Bool) async {
        let start = ContinuousClock.now
        let alert = pending.alert
        let kind = pending.action.kind
        let policy = configuration.retryPolicy(for: pending.action)
        let metadata: Logger.Metadata = [
            "rule": "\(alert.rule)", "alert": "\(alert.deliveryID)", "action": "\(kind)",
            "index": "\(pending.actionIndex)",
        ]
        var attempts = pending.attempts
        var holdsPermit = holdingPermit
        if !holdsPermit, let notBefore = pending.notBefore {
            try? await clock.sleep(until: notBefore)
        }
        while !Task.isCancelled {
            if !holdsPermit { await permits.wait() }
            holdsPermit = true
            attempts += 1
            let result = await attempt(pending, metadata: metadata)
            permits.signal()
            holdsPermit = false
            // Cancelled (shutdown past its grace): the outbox keeps the action pending for the next start.
            if Task.isCancelled { return }
            switch policy.decide(result, attempts: attempts, jitter: configuration.jitter()) {
            case .finish(let status, let reason):
                let outcome = ActionOutcome(
                    alertID: alert.deliveryID,
                    rule: alert.rule,
                    actionIndex: pending.actionIndex,
                    kind: kind,
                    status: status,
                    attempts: attempts,
                    reason: reason,
                    duration: ContinuousClock.now - start,
                    group: !pending.members.isEmpty,
                    recorded: pending.recorded
                )
                if status != .success {
                    logger.error(
                        "action gave up",
                        metadata: metadata.merging(["reason": "\(reason ?? "")", "attempts": "\(attempts)"]) { $1 }
                    )
                }
                record(outcome)
                onOutcome(outcome)
                return
            case .retry(let delay, let reason):
                Counter(
                    label: "callwatch_actions_total",
                    dimensions: [
                        ("rule", alert.rule), ("action", kind), ("outcome", OutboxStatus.pending.metricOutcome),
                    ]
                ).increment()
                logger.info(
                    "action will retry",
                    metadata: metadata.merging(["reason": "\(reason)", "delay": "\(delay)"]) { $1 }
                )
                let notBefore = clock.now().addingTimeInterval(delay.seconds)
                onOutcome(
                    ActionOutcome(
                        alertID: alert.deliveryID,
                        rule: alert.rule,
                        actionIndex: pending.actionIndex,
                        kind: kind,
                        status: .pending,
                        attempts: attempts,
                        reason: reason,
                        duration: ContinuousClock.now - start,
                        notBefore: notBefore,
                        group: !pending.members.isEmpty,
                        recorded: pending.recorded
                    )
                )
                try? await clock.sleep(until: notBefore)
            }
        }
    }

    private func attempt(_ pending: PendingAction, metadata: Logger.Metadata) async -> AttemptResult {
        switch pending.action {
        case .exec(let exec):
            execInFlight.increment()
            defer { execInFlight.decrement() }
            return await self.exec.run(
                ExecRunner.invocation(for: exec, rendering: pending.rendering),
                metadata: metadata
            )
        case .http(let http):
            httpInFlight.increment()
            defer { httpInFlight.decrement() }
            return await self.http.send(
                HTTPSender.request(for: http, alert: pending.alert, rendering: pending.rendering),
                metadata: metadata
            )
        case .log:
            return .success
        }
    }

    private func record(_ outcome: ActionOutcome) {
        Counter(
            label: "callwatch_actions_total",
            dimensions: [("rule", outcome.rule), ("action", outcome.kind), ("outcome", outcome.status.metricOutcome)]
        ).increment()
        Metrics.Timer(label: "callwatch_action_duration_seconds", dimensions: [("action", outcome.kind)])
            .recordNanoseconds(
                outcome.duration.components.seconds * 1_000_000_000 + outcome.duration.components.attoseconds
                    / 1_000_000_000
            )
    }
}
