import Foundation
import Logging
import Metrics
import Synchronization

/// Ingest → journal → evaluate → outbox → actions. One writer thread owns all rule state and takes its messages
/// (events, action outcomes, reloads, clock ticks) from one queue, in arrival order: everything waiting is one
/// batch, committed in one transaction with the alerts it fires (group commit), then each request is answered and
/// the alerts' actions handed to the dispatcher. A request's answer therefore means: stored, evaluated, alerts
/// recorded. See docs/design.md.
public final class Pipeline: Sendable {
    public enum IngestOutcome: Sendable, Equatable {
        case accepted
        case duplicate
    }

    public enum IngestError: Error, CustomStringConvertible {
        case shuttingDown
        case storeFailed(String)

        public var description: String {
            switch self {
            case .shuttingDown: "callwatch is shutting down"
            case .storeFailed(let reason): "the event could not be stored: \(reason)"
            }
        }
    }

    public struct RecoveryReport: Sendable {
        public var eventsReplayed: Int
        public var actionsResumed: Int
        public var duration: Duration
    }

    public let store: any EventStore
    let dispatcher: ActionDispatcher
    let logger: Logger
    let counters: IngestCounters
    let metricsFactory: any MetricsFactory
    let queue = BatchQueue<WriterMessage>()
    /// The rules live now, as the writer last published them: a copy for readers (reload, pruning, listings), not
    /// the state the writer evaluates with.
    let live: Mutex<RuleSet>

    public init(
        ruleSet: RuleSet,
        store: any EventStore,
        dispatcher: ActionDispatcher,
        logger: Logger,
        metricsFactory: any MetricsFactory = MetricsSystem.factory
    ) {
        self.store = store
        self.dispatcher = dispatcher
        self.logger = logger
        self.metricsFactory = metricsFactory
        self.counters = IngestCounters(factory: metricsFactory)
        self.live = Mutex(ruleSet)
    }

    /// The rules in force.
    public var ruleSet: RuleSet { live.withLock { $0 } }

    /// Stores and evaluates one event; returns once it is committed.
    public func ingest(_ event: CallEvent, body: Data, receivedAt: Date = Date()) async throws -> IngestOutcome {
        try await withCheckedThrowingContinuation { continuation in
            submit(event, body: body, receivedAt: receivedAt) { continuation.resume(with: $0) }
        }
    }

    /// Stores and evaluates one event, then calls `completion` from the writer (not awaiting anything: what the
    /// HTTP handler uses on its event loop).
    public func submit(
        _ event: CallEvent,
        body: Data,
        receivedAt: Date = Date(),
        completion: @escaping @Sendable (Result<IngestOutcome, any Error>) -> Void
    ) {
        let entry = JournalEntry(identity: event.identity, receivedAt: receivedAt, body: body, event: event)
        if !queue.append(.event(Submission(entry: entry, completion: completion))) {
            completion(.failure(IngestError.shuttingDown))
        }
    }

    /// Counts a request refused before it reached the pipeline (bad JSON, auth, size…).
    public func countRejected() {
        counters.rejected.increment()
    }

    /// Records how an action's attempt ended, with the next batch: the dispatcher's outcome handler. After the
    /// writer has stopped, the outbox keeps the action pending and it runs again on the next start.
    public func record(_ outcome: ActionOutcome) {
        guard outcome.recorded else { return }  // a send the outbox does not hold
        if !queue.append(.outcome(outcome)) {
            logger.warning(
                "action outcome after shutdown; the action stays pending",
                metadata: ["alert": "\(outcome.alertID)", "index": "\(outcome.actionIndex)"]
            )
        }
    }

    /// Makes `ruleSet` live between two batches, keeping the state of rules whose name and state definition are
    /// unchanged; `live` runs on the writer thread once it is, in reload order. Returns once the rules are live
    /// (false if the writer has stopped).
    @discardableResult
    public func reload(_ ruleSet: RuleSet, live: @escaping @Sendable () -> Void = {}) async -> Bool {
        await withCheckedContinuation { continuation in
            let queued = queue.append(
                .reload(ruleSet) { isLive in
                    if isLive { live() }
                    continuation.resume(returning: isLive)
                }
            )
            if !queued { continuation.resume(returning: false) }
        }
    }

    /// Stores a new silence and puts it in force from the writer's next message on. A silence for a rule that is not
    /// loaded is refused (a typo would mute nothing).
    public func addSilence(_ silence: Silence) throws {
        if let rule = silence.rule, !ruleSet.rules.contains(where: { $0.name == rule }) {
            throw SilenceError(
                "no rule '\(rule)' is loaded" + Suggestion.hint(for: rule, in: ruleSet.rules.map(\.name))
            )
        }
        try store.save(silence)
        try publishSilences()
    }

    /// Ends a silence now; false when no silence has that id. An expired silence stays listed.
    @discardableResult
    public func expireSilence(id: String, at now: Date = Date()) throws -> Bool {
        guard var silence = try store.silences().first(where: { $0.id == id }) else { return false }
        if silence.endsAt > now {
            silence.endsAt = max(now, silence.startsAt)
            try store.save(silence)
            try publishSilences()
        }
        return true
    }

    private func publishSilences() throws {
        queue.append(.silences(try store.silences()))
    }

    /// Tells the writer the time: what expires as time passes is handled then, in order with events.
    public func tick(at now: Date = Date()) {
        queue.append(.tick(now))
    }

    /// The writer loop, on a thread of its own: it blocks on the queue and on the store, so no request's commit
    /// waits for a turn on Swift's cooperative pool. Recovers first (`onRecovered` gets the report), then handles
    /// messages until `finish()`, returning once every queued one is handled. A recovery that fails refuses what
    /// was queued and throws.
    public func run(onRecovered: @escaping @Sendable (RecoveryReport) -> Void = { _ in }) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            Thread.detachNewThread { [self] in
                Thread.current.name = "cw-writer"
                var writer = JournalWriter(
                    ruleSet: ruleSet,
                    store: store,
                    dispatcher: dispatcher,
                    logger: logger,
                    counters: counters,
                    metricsFactory: metricsFactory,
                    publish: { ruleSet in self.live.withLock { $0 = ruleSet } }
                )
                do {
                    onRecovered(try writer.recover(now: Date()))
                } catch {
                    queue.finish()
                    while let messages = queue.next() { Self.refuse(messages, error) }
                    continuation.resume(throwing: error)
                    return
                }
                while let messages = queue.next() { writer.handle(messages) }
                continuation.resume()
            }
        }
    }

    /// Stops taking messages; `run()` handles what is queued and returns.
    public func finish() {
        queue.finish()
    }

    private static func refuse(_ messages: [WriterMessage], _ error: any Error) {
        for message in messages {
            switch message {
            case .event(let submission): submission.completion(.failure(error))
            case .reload(_, let done): done(false)
            case .outcome, .tick, .silences: break
            }
        }
    }
}
