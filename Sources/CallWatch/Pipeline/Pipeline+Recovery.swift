import Foundation

extension Pipeline {
    public struct RecoveryReport: Sendable {
        public var eventsReplayed: Int
        public var actionsResumed: Int
        public var duration: Duration
    }

    /// Rebuilds windows, sequences and cooldowns from the journal and resumes pending actions (SPEC §6).
    ///
    /// Events are evaluated in the same transaction that journals them, so every journaled event was evaluated;
    /// the state is rebuilt by evaluating again, in journal order with the times they were received, the events
    /// within twice the longest `within`/`cooldown`. Alerts this produces were recorded before the crash (ids are
    /// deterministic) and are dropped; actions still pending in the outbox are resumed with their retry schedule.
    public func recover(now: Date = Date()) async throws -> RecoveryReport {
        let start = ContinuousClock.now
        let ruleSet = self.ruleSet
        var replayed = 0
        let horizon = ruleSet.longestHorizon
        if horizon > .zero {
            let entries = try await store.entries(since: now.addingTimeInterval(-2 * horizon.seconds))
            replayed = entries.count
            engine.withLock { engine in
                for entry in entries {
                    let event = entry.body.withUnsafeBytes { try? CallEvent.decode($0, allowBare: true) }
                    guard let event else { continue }
                    _ = engine.evaluate(event, at: entry.receivedAt)
                }
            }
        }
        var resumed = 0
        for entry in try await store.pendingActions() {
            guard let alert = Alert(json: entry.alertJSON) else { continue }
            let actions = ruleSet.rules.first { $0.name == alert.rule }?.actions ?? []
            guard entry.actionIndex < actions.count, actions[entry.actionIndex].kind == entry.kind else {
                try await store.updateAction(
                    alertID: alert.id, index: entry.actionIndex, status: "failure", attempts: entry.attempts,
                    reason: "the rule's actions changed before this one ran", notBefore: nil
                )
                continue
            }
            resumed += 1
            adjustPending(by: 1)
            dispatcher.submit(
                PendingAction(
                    alert: alert, actionIndex: entry.actionIndex, action: actions[entry.actionIndex],
                    attempts: entry.attempts, notBefore: entry.notBefore
                )
            )
        }
        return RecoveryReport(eventsReplayed: replayed, actionsResumed: resumed, duration: ContinuousClock.now - start)
    }
}
