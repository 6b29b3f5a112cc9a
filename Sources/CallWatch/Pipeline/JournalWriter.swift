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
    /// The silences stored, as last sent to the writer (loaded at recovery).
    var silences: [Silence] = []
    /// Firing condition alerts a silence muted: notified when no silence covers them any more, if still firing.
    var muted: [Alert] = []
    /// Notifications made outside a batch whose commit failed: recorded at the next tick.
    private(set) var unrecorded: [BatchStages.Fired] = []
    /// Alerts of rules with `group`, waiting to be sent together (`JournalWriter+Groups.swift`).
    var groups = NotificationGroups()
    /// Firing condition alerts Alertmanager is told of again every `resend`, by alert id.
    var resends: [String: [AlertmanagerResend]] = [:]

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
            case .silences(let silences):
                commit(&batch)
                self.silences = silences
                unmute(at: Date())
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
                    metrics: metrics,
                    silences: silences
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
        act(on: fired, recordedOutcomes: outcomes)
    }

    /// What follows the commit of notifications: the actions that run now are dispatched, the others join their
    /// rule's group; muted and Alertmanager-tracked alerts are noted.
    mutating func act(on fired: [BatchStages.Fired], recordedOutcomes outcomes: [ActionOutcome]) {
        noteMuted(fired)
        adjustPending(by: fired.reduce(0) { $0 + $1.owed } - outcomes.count { $0.isFinal })
        BatchStages.dispatch(fired, to: dispatcher)
        for notification in fired {
            let waiting = notification.waiting
            if let group = notification.group, !waiting.isEmpty {
                let kinds = Dictionary(uniqueKeysWithValues: waiting.map { ($0, notification.actions[$0].kind) })
                groups.add(notification.alert, group: group, actions: kinds)
            }
        }
        trackResends(fired)
    }

    /// New rules: the state of every rule whose name and state definition are unchanged carries over, and the
    /// metric handles are rebuilt for the new rule order in the same step.
    mutating func reload(_ ruleSet: RuleSet) {
        let previousRules = engine.ruleSet
        engine = Engine(ruleSet: ruleSet, carryingStateFrom: engine)
        let now = Date()
        engine.startClock(at: now)
        let ended = engine.resolveRetired(at: now)
        for rule in groups.rules where ruleSet.rules.first(where: { $0.name == rule })?.group == nil {
            groups.hasten(rule: rule, to: now)  // no group to wait for any more
        }
        metrics = RuleMetrics(rules: ruleSet.rules, factory: metricsFactory)
        publish(ruleSet)
        if !ended.isEmpty {
            // Resolved as the rule that fired them would have: with its actions, whatever the new file says.
            deliver(
                ended.map { alert in
                    let rule = previousRules.rules.first { $0.name == alert.rule }
                    return BatchStages.Fired(alert: alert, actions: rule?.actions(for: .resolved) ?? [])
                }
            )
        }
    }

    /// Time passed with no event: condition rules notify what fell due (recorded, then acted on, as an event's
    /// alerts are), and keys that can no longer fire are dropped.
    mutating func advance(to now: Date) {
        let due = engine.advance(to: now)
        if !due.isEmpty || !unrecorded.isEmpty { notify(due) }
        unmute(at: now)
        sendGroups(at: now)
        resend(at: now)
    }

    /// Keeps the firing condition alerts a silence muted, and forgets those that resolved.
    mutating func noteMuted(_ fired: [BatchStages.Fired]) {
        for notification in fired where notification.alert.isCondition {
            let alert = notification.alert
            muted.removeAll { $0.rule == alert.rule && $0.keyText == alert.keyText }
            if notification.silenced, alert.status == .firing { muted.append(alert) }
        }
    }

    /// A muted condition alert that no silence covers any more and still fires is notified now, once (under its
    /// id, delivered as `ID~unmuted-MS`); one that resolved meanwhile sends nothing.
    mutating func unmute(at now: Date) {
        guard !muted.isEmpty else { return }
        var released: [Alert] = []
        muted.removeAll { alert in
            guard !silences.contains(where: { $0.isActive(at: now) && $0.matches(alert) }) else { return false }
            if engine.isFiring(rule: alert.rule, key: alert.key.map(\.value), startsAt: alert.startsAt) {
                var notification = alert
                notification.firedAt = now
                notification.deliveryID = "\(alert.id)~unmuted-\(Int64((now.timeIntervalSince1970 * 1000).rounded()))"
                released.append(notification)
            }
            return true
        }
        if !released.isEmpty { notify(released) }
    }

    /// Records notifications made outside an event's batch (time passing, recovery) and acts on them.
    mutating func notify(_ alerts: [Alert]) {
        deliver(BatchStages.notifications(alerts, engine: engine, metrics: metrics, silences: silences))
    }

    /// Records alerts with their outbox rows and the outcomes waiting, in a transaction of their own, then
    /// dispatches their actions. A failed commit keeps them for the next tick: the engine has moved past them.
    mutating func deliver(_ fired: [BatchStages.Fired]) {
        let fired = unrecorded + fired
        let outcomes = self.outcomes
        do {
            try store.write { try BatchStages.record(fired, outcomes: outcomes, into: $0) }
        } catch {
            logger.error("store commit failed", metadata: ["error": "\(error)", "alerts": "\(fired.count)"])
            unrecorded = fired
            return
        }
        unrecorded = []
        self.outcomes.removeAll(keepingCapacity: true)
        act(on: fired, recordedOutcomes: outcomes)
    }

    mutating func adjustPending(by delta: Int) {
        guard delta != 0 else { return }
        pendingActions = max(0, pendingActions + delta)
        counters.outboxPending.record(pendingActions)
    }

    private mutating func rebuildAfterFailure() {
        do {
            let rebuilt = try rebuildState(now: Date())
            unrecorded += BatchStages.notifications(rebuilt.due, engine: engine, metrics: metrics)
        } catch {
            logger.error("cannot rebuild state from the journal", metadata: ["error": "\(error)"])
        }
    }
}
