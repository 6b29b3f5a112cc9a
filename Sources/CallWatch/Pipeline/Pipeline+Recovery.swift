import Foundation
import Synchronization

extension Pipeline {
    public struct RecoveryReport: Sendable {
        public var eventsReplayed: Int
        public var actionsResumed: Int
        public var duration: Duration
    }

    /// Rebuilds windows, sequences and cooldowns from the journal and resumes pending actions (SPEC §6).
    ///
    /// Events are evaluated in the same transaction that journals them, so every journaled event was evaluated and
    /// every alert it fired recorded. State is rebuilt by replaying, in journal order with the times they were
    /// received, the events within twice the longest `within`/`cooldown`, steered by the recorded alerts (alert ids
    /// are deterministic): a recorded fire happens again and re-anchors its key, an unrecorded one does not, so the
    /// rebuilt windows are in phase with what happened. Nothing fires; pending actions resume with their schedule.
    public func recover(now: Date = Date()) async throws -> RecoveryReport {
        let start = ContinuousClock.now
        let ruleSet = self.ruleSet
        let replayed = try await rebuildState(now: now)
        var resumed = 0
        for entry in try await store.pendingActions() {
            guard let alert = Alert(json: entry.alertJSON) else { continue }
            let actions = ruleSet.rules.first { $0.name == alert.rule }?.actions ?? []
            guard entry.actionIndex < actions.count, actions[entry.actionIndex].kind == entry.kind else {
                try await store.updateAction(
                    alertID: alert.id,
                    index: entry.actionIndex,
                    status: .failure,
                    attempts: entry.attempts,
                    reason: "the rule's actions changed before this one ran",
                    notBefore: nil
                )
                continue
            }
            resumed += 1
            adjustPending(by: 1)
            dispatcher.submit(
                PendingAction(
                    alert: alert,
                    actionIndex: entry.actionIndex,
                    action: actions[entry.actionIndex],
                    attempts: entry.attempts,
                    notBefore: entry.notBefore
                )
            )
        }
        return RecoveryReport(eventsReplayed: replayed, actionsResumed: resumed, duration: ContinuousClock.now - start)
    }
}

extension Pipeline {
    /// Replaces the engine's state with the one the journal implies (start-up, and after a failed commit whose
    /// events were evaluated but not stored). Returns the number of events replayed.
    func rebuildState(now: Date = Date()) async throws -> Int {
        let ruleSet = self.ruleSet
        let horizon = ruleSet.longestHorizon
        let fresh = Engine(ruleSet: ruleSet)
        guard horizon > .zero else {
            engine.withLock { $0 = Engine(ruleSet: $0.ruleSet) }
            return 0
        }
        let since = now.addingTimeInterval(-2 * horizon.seconds)
        let recorded = try await store.alertIDs(since: since)
        let rebuilt = Mutex(fresh)
        let count = try await store.forEachEntry(since: since) { entry in
            let event = entry.body.withUnsafeBytes { try? CallEvent.decode($0, allowBare: true) }
            guard let event else { return }
            rebuilt.withLock { $0.replay(event, at: entry.receivedAt, recorded: recorded) }
        }
        let state = rebuilt.withLock { $0 }
        engine.withLock { engine in
            engine = Engine(ruleSet: engine.ruleSet, carryingStateFrom: state)
        }
        return count
    }
}
