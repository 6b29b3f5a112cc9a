import Foundation
import Logging
import Synchronization

/// Ingest → journal → evaluate → outbox → actions. One writer loop takes every event waiting, commits them in one
/// transaction together with the alerts they fire (group commit), answers each request, then hands the alerts'
/// actions to the dispatcher. A request's answer therefore means: stored, evaluated, alerts recorded.
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

    struct Submission: Sendable {
        var entry: JournalEntry
        var completion: @Sendable (Result<IngestOutcome, any Error>) -> Void
    }

    public let store: any EventStore
    let dispatcher: ActionDispatcher
    let logger: Logger
    let engine: Mutex<Engine>
    let metrics: Mutex<PipelineMetrics>
    let pending = Atomic<Int>(0)
    let queue = BatchQueue<Submission>()

    public init(ruleSet: RuleSet, store: any EventStore, dispatcher: ActionDispatcher, logger: Logger) {
        self.store = store
        self.dispatcher = dispatcher
        self.logger = logger
        self.engine = Mutex(Engine(ruleSet: ruleSet))
        self.metrics = Mutex(PipelineMetrics(rules: ruleSet.rules))
    }

    /// The rules in force.
    public var ruleSet: RuleSet { engine.withLock { $0.ruleSet } }

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
        if !queue.append(Submission(entry: entry, completion: completion)) {
            completion(.failure(IngestError.shuttingDown))
        }
    }

    /// Counts a request refused before it reached the pipeline (bad JSON, auth, size…).
    public func countRejected() {
        metrics.withLock { $0.rejected.increment() }
    }

    /// The writer loop, on a thread of its own: it blocks on the queue and on the store, so no request's commit
    /// waits for a turn on Swift's cooperative pool. Returns after `finish()` once every queued event is committed.
    public func run() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            Thread.detachNewThread { [self] in
                Thread.current.name = "cw-writer"
                while let batch = queue.next() { commit(batch) }
                continuation.resume()
            }
        }
    }

    /// Stops taking events; `run()` drains what is queued and returns.
    public func finish() {
        queue.finish()
    }

    func commit(_ batch: [Submission]) {
        var fired: [(AlertRecord, [ActionSpec])] = []
        do {
            let results = try store.append(batch.map(\.entry)) { [self] fresh in
                var records: [AlertRecord] = []
                self.engine.withLock { engine in
                    self.metrics.withLock { metrics in
                        for entry in fresh {
                            guard let event = entry.event else { continue }
                            let evaluation = engine.evaluate(event, at: entry.receivedAt)
                            for index in evaluation.matchedRules { metrics.matches[index].increment() }
                            for alert in evaluation.suppressed {
                                if let index = engine.ruleIndex(named: alert.rule) {
                                    metrics.suppressed[index].increment()
                                }
                            }
                            for alert in evaluation.fired {
                                guard let index = engine.ruleIndex(named: alert.rule) else { continue }
                                metrics.fired[index].increment()
                                let actions = engine.ruleSet.rules[index].actions
                                let record = AlertRecord(alert: alert, actionKinds: actions.map(\.kind))
                                records.append(record)
                                fired.append((record, actions))
                            }
                        }
                    }
                }
                return records
            }
            metrics.withLock { metrics in
                for (submission, isNew) in zip(batch, results) {
                    if isNew { metrics.accepted.increment() } else { metrics.duplicate.increment() }
                    submission.completion(.success(isNew ? .accepted : .duplicate))
                }
            }
        } catch {
            logger.error("store commit failed", metadata: ["error": "\(error)", "events": "\(batch.count)"])
            for submission in batch {
                submission.completion(.failure(IngestError.storeFailed("\(error)")))
            }
            // The batch was evaluated but not stored: put the engine back to what the journal says before the next
            // batch is evaluated (the writer thread may block: it is not one of the pool's).
            let rebuilt = DispatchSemaphore(value: 0)
            Task { [self] in
                do {
                    _ = try await rebuildState()
                } catch {
                    logger.error("cannot rebuild state from the journal", metadata: ["error": "\(error)"])
                }
                rebuilt.signal()
            }
            rebuilt.wait()
            return
        }
        for (record, actions) in fired {
            adjustPending(by: actions.count)
            dispatcher.submit(record.alert, actions: actions)
        }
    }

    /// Applies an action's progress to the outbox; wired as the dispatcher's outcome handler.
    public func recordOutcome(_ outcome: ActionOutcome) async {
        do {
            try await store.updateAction(
                alertID: outcome.alertID,
                index: outcome.actionIndex,
                status: outcome.status,
                attempts: outcome.attempts,
                reason: outcome.reason,
                notBefore: outcome.notBefore
            )
        } catch {
            logger.error(
                "cannot record action outcome",
                metadata: ["alert": "\(outcome.alertID)", "error": "\(error)"]
            )
        }
        if outcome.isFinal { adjustPending(by: -1) }
    }

    func adjustPending(by delta: Int) {
        let value = pending.add(delta, ordering: .relaxed).newValue
        metrics.withLock { $0.outboxPending.record(value) }
    }

    /// Swaps in new rules, keeping the state of rules whose name and state definition are unchanged.
    public func reload(_ ruleSet: RuleSet) {
        engine.withLock { engine in
            engine = Engine(ruleSet: ruleSet, carryingStateFrom: engine)
        }
        metrics.withLock { $0.setRules(ruleSet.rules) }
    }
}
