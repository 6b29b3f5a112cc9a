import Foundation

extension JournalWriter {
    /// Rebuilds windows, sequences and cooldowns from the journal and resumes pending actions: the writer's first
    /// work, before any message.
    ///
    /// Events are evaluated in the same transaction that journals them, so every journaled event was evaluated and
    /// every alert it fired recorded. State is rebuilt by replaying, in journal order with the times they were
    /// received, the events within twice the longest `within`/`cooldown`, steered by the recorded alerts (alert ids
    /// are deterministic): a recorded fire happens again and re-anchors its key, an unrecorded one does not, so the
    /// rebuilt windows are in phase with what happened. Nothing fires; pending actions resume with their schedule.
    mutating func recover(now: Date) throws -> Pipeline.RecoveryReport {
        let start = ContinuousClock.now
        let replayed = try rebuildState(now: now)
        var resumed = 0
        var abandoned: [OutboxUpdate] = []
        var renderings: [String: AlertRendering] = [:]  // one per alert, as when it fired
        for entry in try store.pendingActions() {
            let actions = engine.ruleSet.rules.first { $0.name == entry.alert.rule }?.actions ?? []
            guard entry.actionIndex < actions.count, actions[entry.actionIndex].kind == entry.kind else {
                abandoned.append(
                    OutboxUpdate(
                        alertID: entry.alert.id,
                        actionIndex: entry.actionIndex,
                        status: .failure,
                        attempts: entry.attempts,
                        reason: "the rule's actions changed before this one ran"
                    )
                )
                continue
            }
            resumed += 1
            let rendering = renderings[entry.alert.id] ?? AlertRendering(alert: entry.alert)
            renderings[entry.alert.id] = rendering
            dispatcher.submit(
                PendingAction(
                    alert: entry.alert,
                    actionIndex: entry.actionIndex,
                    action: actions[entry.actionIndex],
                    attempts: entry.attempts,
                    notBefore: entry.notBefore,
                    rendering: rendering
                )
            )
        }
        if !abandoned.isEmpty { try store.write { try $0.record(abandoned) } }
        adjustPending(by: resumed)
        return Pipeline.RecoveryReport(
            eventsReplayed: replayed,
            actionsResumed: resumed,
            duration: ContinuousClock.now - start
        )
    }

    /// Replaces the engine's state with the one the journal implies (start-up, and after a failed commit whose
    /// events were evaluated but not stored). Returns the number of events replayed.
    mutating func rebuildState(now: Date) throws -> Int {
        let ruleSet = engine.ruleSet
        let horizon = ruleSet.longestHorizon
        var rebuilt = Engine(ruleSet: ruleSet)
        guard horizon > .zero else {
            engine = rebuilt
            return 0
        }
        let since = now.addingTimeInterval(-2 * horizon.seconds)
        let recorded = try store.alertIDs(since: since)
        let count = try store.forEachEntry(since: since) { entry in
            let event = entry.body.withUnsafeBytes { try? CallEvent.decode($0, allowBare: true) }
            guard let event else { return }
            rebuilt.replay(event, at: entry.receivedAt, recorded: recorded)
        }
        engine = rebuilt
        return count
    }
}
