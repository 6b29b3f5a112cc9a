import Foundation

/// A batch of the journal's writer as small stages: insert/dedupe → evaluate → record → (commit) → answer →
/// dispatch. Each is a plain function of its inputs, so a test drives one without sockets or threads; the writer
/// only chains them (`JournalWriter.commit`).
enum BatchStages {
    /// An alert the batch fired, with the actions its rule owes.
    struct Fired: Sendable {
        var alert: Alert
        var actions: [ActionSpec]
        /// A silence muted it: recorded, not acted on.
        var silenced = false
        /// The rule's `group`: the actions that take one wait for it.
        var group: Rule.Group?

        /// Indexes of the actions that wait for the rule's group.
        var waiting: Set<Int> {
            guard group != nil, !silenced else { return [] }
            return Set(actions.indices.filter { actions[$0].takesGroup })
        }

        var record: AlertRecord {
            AlertRecord(alert: alert, actionKinds: actions.map(\.kind), silenced: silenced, waiting: waiting)
        }
        /// The actions that run now (those waiting for a group are counted when it is sent).
        var owed: Int { silenced ? 0 : actions.count - waiting.count }
    }

    /// Journals the entries whose identity is new; returns, per entry, whether it was.
    static func insert(_ entries: [JournalEntry], into transaction: any JournalTransaction) throws -> [Bool] {
        guard !entries.isEmpty else { return [] }
        return try transaction.insert(entries)
    }

    /// The entries `insert` found new, in order: only those are evaluated (a duplicate never is).
    static func fresh(_ entries: [JournalEntry], inserted: [Bool]) -> [JournalEntry] {
        zip(entries, inserted).compactMap { $1 ? $0 : nil }
    }

    /// Runs the new events through the engine, each at the time it was received, crediting each rule's metrics.
    static func evaluate(
        _ fresh: [JournalEntry],
        engine: inout Engine,
        metrics: RuleMetrics,
        silences: [Silence] = []
    ) -> [Fired] {
        var fired: [Fired] = []
        for entry in fresh {
            guard let event = entry.event else { continue }
            let evaluation = engine.evaluate(event, at: entry.receivedAt)
            for index in evaluation.matchedRules { metrics.matches[index].increment() }
            for alert in evaluation.suppressed {
                if let index = engine.ruleIndex(named: alert.rule) { metrics.suppressed[index].increment() }
            }
            fired += notifications(evaluation.fired, engine: engine, metrics: metrics, silences: silences)
        }
        return fired
    }

    /// Alerts the engine notified (for an event or as time passed), with the actions each owes, counted per rule.
    /// An alert a silence in force at its instant matches is recorded `silenced` and runs nothing.
    static func notifications(
        _ alerts: [Alert],
        engine: Engine,
        metrics: RuleMetrics,
        silences: [Silence] = []
    ) -> [Fired] {
        alerts.compactMap { alert in
            guard let index = engine.ruleIndex(named: alert.rule) else { return nil }
            let silenced = silences.contains { $0.isActive(at: alert.firedAt) && $0.matches(alert) }
            (silenced ? metrics.silenced : alert.status == .resolved ? metrics.resolved : metrics.fired)[index]
                .increment()
            let rule = engine.ruleSet.rules[index]
            return Fired(alert: alert, actions: rule.actions(for: alert.status), silenced: silenced, group: rule.group)
        }
    }

    /// Records the fired alerts with their outbox rows, and the action outcomes that arrived since the last batch,
    /// in the batch's transaction.
    static func record(
        _ fired: [Fired],
        outcomes: [ActionOutcome],
        into transaction: any JournalTransaction
    ) throws {
        try transaction.record(fired.map(\.record))
        try transaction.record(outcomes.map(\.update))
    }

    /// Answers each request of a committed batch: accepted or duplicate.
    static func answer(_ batch: [Submission], inserted: [Bool], counters: IngestCounters) {
        for (submission, isNew) in zip(batch, inserted) {
            if isNew { counters.accepted.increment() } else { counters.duplicate.increment() }
            submission.completion(.success(isNew ? .accepted : .duplicate))
        }
    }

    /// Answers each request of a batch that could not be committed.
    static func refuse(_ batch: [Submission], _ error: any Error) {
        for submission in batch { submission.completion(.failure(error)) }
    }

    /// Hands the committed alerts' actions to the dispatcher (which never blocks), but those waiting for a group.
    static func dispatch(_ fired: [Fired], to dispatcher: ActionDispatcher) {
        for alert in fired where !alert.silenced {
            dispatcher.submit(alert.alert, actions: alert.actions, skipping: alert.waiting)
        }
    }
}

extension ActionOutcome {
    /// The outbox row this outcome leaves.
    var update: OutboxUpdate {
        OutboxUpdate(
            alertID: alertID,
            actionIndex: actionIndex,
            status: status,
            attempts: attempts,
            reason: reason,
            notBefore: notBefore,
            group: group
        )
    }
}
