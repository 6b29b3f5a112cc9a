import Foundation
import Logging
import Metrics

/// The state the journal's writer thread owns outright — the engine (every rule's windows, sequences and
/// cooldowns), the per-rule metric handles, the outcomes not yet recorded — and how it handles its messages. No
/// lock guards any of it: only the writer thread ever holds a `JournalWriter`. See docs/design.md.
struct JournalWriter {
    let store: any EventStore
    let dispatcher: ActionDispatcher
    let logger: Logger
    let counters: IngestCounters
    let metricsFactory: any MetricsFactory
    /// Shows readers (`Pipeline.ruleSet`) the rules now live.
    let publish: (RuleSet) -> Void

    var engine: Engine
    var metrics: RuleMetrics
    /// Outcomes that arrived since the last commit: recorded in the next batch's transaction.
    private(set) var outcomes: [ActionOutcome] = []
    /// Actions in the outbox not yet final.
    private(set) var pendingActions = 0
    /// Notifications that time passing produced but whose commit failed: recorded at the next tick.
    private(set) var unrecorded: [Alert] = []

    init(
        ruleSet: RuleSet,
        store: any EventStore,
        dispatcher: ActionDispatcher,
        logger: Logger,
        counters: IngestCounters,
        metricsFactory: any MetricsFactory,
        publish: @escaping (RuleSet) -> Void = { _ in }
    ) {
        self.store = store
        self.dispatcher = dispatcher
        self.logger = logger
        self.counters = counters
        self.metricsFactory = metricsFactory
        self.publish = publish
        self.engine = Engine(ruleSet: ruleSet)
        self.metrics = RuleMetrics(rules: ruleSet.rules, factory: metricsFactory)
    }

    /// Handles what the queue held, in order. Events and outcomes next to each other form one batch (one commit);
    /// a reload or a tick first commits what came before it, so it applies between batches.
    mutating func handle(_ messages: [WriterMessage]) {
        var batch: [Submission] = []
        for message in messages {
            switch message {
            case .event(let submission):
                batch.append(submission)
            case .outcome(let outcome):
                outcomes.append(outcome)
            case .reload(let ruleSet, let done):
                commit(&batch)
                reload(ruleSet)
                done(true)
            case .tick(let now):
                commit(&batch)
                advance(to: now)
            }
        }
        commit(&batch)
    }

    /// Commits a batch (and the outcomes waiting) through the stages, then empties it.
    mutating func commit(_ batch: inout [Submission]) {
        defer { batch.removeAll(keepingCapacity: true) }
        guard !batch.isEmpty || !outcomes.isEmpty else { return }
        let entries = batch.map(\.entry)
        let outcomes = self.outcomes
        var fired: [BatchStages.Fired] = []
        var evaluated = false
        let inserted: [Bool]
        do {
            inserted = try store.write { transaction in
                let inserted = try BatchStages.insert(entries, into: transaction)
                evaluated = true
                fired = BatchStages.evaluate(
                    BatchStages.fresh(entries, inserted: inserted),
                    engine: &engine,
                    metrics: metrics
                )
                try BatchStages.record(fired, outcomes: outcomes, into: transaction)
                return inserted
            }
        } catch {
            logger.error(
                "store commit failed",
                metadata: ["error": "\(error)", "events": "\(batch.count)", "outcomes": "\(outcomes.count)"]
            )
            BatchStages.refuse(batch, Pipeline.IngestError.storeFailed("\(error)"))
            // Evaluated but not stored: put the engine back to what the journal says before the next batch. The
            // outcomes stay queued for the next commit.
            if evaluated { rebuildAfterFailure() }
            return
        }
        self.outcomes.removeAll(keepingCapacity: true)
        BatchStages.answer(batch, inserted: inserted, counters: counters)
        adjustPending(by: fired.reduce(0) { $0 + $1.actions.count } - outcomes.count { $0.isFinal })
        BatchStages.dispatch(fired, to: dispatcher)
    }

    /// New rules: the state of every rule whose name and state definition are unchanged carries over, and the
    /// metric handles are rebuilt for the new rule order in the same step.
    mutating func reload(_ ruleSet: RuleSet) {
        engine = Engine(ruleSet: ruleSet, carryingStateFrom: engine)
        engine.startClock(at: Date())
        metrics = RuleMetrics(rules: ruleSet.rules, factory: metricsFactory)
        publish(ruleSet)
    }

    /// Time passed with no event: condition rules notify what fell due (recorded, then acted on, as an event's
    /// alerts are), and keys that can no longer fire are dropped.
    mutating func advance(to now: Date) {
        let due = engine.advance(to: now)
        guard !due.isEmpty || !unrecorded.isEmpty else { return }
        notify(unrecorded + due)
    }

    /// Records notifications made outside an event's batch (time passing, recovery) with the outcomes waiting, then
    /// dispatches their actions. A failed commit keeps them for the next tick: the engine has moved past them.
    mutating func notify(_ alerts: [Alert]) {
        let fired = BatchStages.notifications(alerts, engine: engine, metrics: metrics)
        let outcomes = self.outcomes
        do {
            try store.write { try BatchStages.record(fired, outcomes: outcomes, into: $0) }
        } catch {
            logger.error("store commit failed", metadata: ["error": "\(error)", "alerts": "\(alerts.count)"])
            unrecorded = alerts
            return
        }
        unrecorded = []
        self.outcomes.removeAll(keepingCapacity: true)
        adjustPending(by: fired.reduce(0) { $0 + $1.actions.count } - outcomes.count { $0.isFinal })
        BatchStages.dispatch(fired, to: dispatcher)
    }

    mutating func adjustPending(by delta: Int) {
        guard delta != 0 else { return }
        pendingActions = max(0, pendingActions + delta)
        counters.outboxPending.record(pendingActions)
    }

    private mutating func rebuildAfterFailure() {
        do {
            let rebuilt = try rebuildState(now: Date())
            unrecorded += rebuilt.due
        } catch {
            logger.error("cannot rebuild state from the journal", metadata: ["error": "\(error)"])
        }
    }
}
