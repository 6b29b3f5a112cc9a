import Foundation

extension JournalWriter {
    /// One notification of a group sent before a restart: the group's id and the action's index.
    struct GroupKey: Hashable {
        var id: String
        var actionIndex: Int
    }

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
        silences = try store.silences()
        let rebuilt = try rebuildState(now: now)
        var resumed = 0
        var abandoned: [OutboxUpdate] = []
        var renderings: [String: AlertRendering] = [:]  // one per alert, as when it fired
        var sentGroups: [GroupKey: [OutboxEntry]] = [:]
        var groupOrder: [GroupKey] = []
        for entry in try store.pendingActions() {
            let rule = engine.ruleSet.rules.first { $0.name == entry.alert.rule }
            if entry.waiting {
                // Not sent yet: back into its rule's group (which checks the action when it is sent).
                groups.restore(entry.alert, group: rule?.group, actionIndex: entry.actionIndex, kind: entry.kind)
                continue
            }
            let actions = rule?.actions ?? []
            guard entry.actionIndex < actions.count, actions[entry.actionIndex].kind == entry.kind else {
                abandoned.append(
                    OutboxUpdate(
                        alertID: entry.groupID ?? entry.alert.deliveryID,
                        actionIndex: entry.actionIndex,
                        status: .failure,
                        attempts: entry.attempts,
                        reason: "the rule's actions changed before this one ran",
                        group: entry.groupID != nil
                    )
                )
                continue
            }
            if let groupID = entry.groupID {
                let key = GroupKey(id: groupID, actionIndex: entry.actionIndex)
                if sentGroups[key] == nil { groupOrder.append(key) }
                sentGroups[key, default: []].append(entry)
                continue
            }
            resumed += 1
            let rendering = renderings[entry.alert.deliveryID] ?? AlertRendering(alert: entry.alert)
            renderings[entry.alert.deliveryID] = rendering
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
        // A group sent before the stop: one notification per action, under the group's id, as it was first sent.
        for key in groupOrder {
            guard let entries = sentGroups[key], let first = entries.first,
                let action = engine.ruleSet.rules.first(where: { $0.name == first.alert.rule })?.actions[
                    key.actionIndex
                ]
            else { continue }
            resumed += 1
            let pending = PendingAction.group(
                key.id,
                alerts: entries.map(\.alert),
                actions: [(key.actionIndex, action)],
                attempts: first.attempts,
                notBefore: first.notBefore
            )
            for action in pending { dispatcher.submit(action) }
        }
        try restoreResends(now: now)
        if !abandoned.isEmpty { try store.write { try $0.record(abandoned) } }
        adjustPending(by: resumed)
        if !rebuilt.due.isEmpty {
            logger.info(
                "condition notifications fell due while stopped",
                metadata: ["alerts": "\(rebuilt.due.count)"]
            )
            notify(rebuilt.due)
        }
        return Pipeline.RecoveryReport(
            eventsReplayed: rebuilt.replayed,
            actionsResumed: resumed,
            duration: ContinuousClock.now - start
        )
    }

    /// Replaces the engine's state with the one the journal implies (start-up, and after a failed commit whose
    /// events were evaluated but not stored). Returns the number of events replayed and the condition
    /// notifications that fell due but were never recorded (a tick that did not commit, time passed while stopped).
    ///
    /// Condition rules are set from their recorded alerts first (firing, pending or resolved as of when their
    /// measures are whole again), then replayed with the rest: the notifications the replay makes that the store
    /// recorded happened already; the others are due now. Of a firing alert's missed repeats only the latest is.
    mutating func rebuildState(now: Date) throws -> (replayed: Int, due: [Alert]) {
        let ruleSet = engine.ruleSet
        let horizon = ruleSet.longestHorizon
        var rebuilt = Engine(ruleSet: ruleSet)
        guard horizon > .zero else {
            engine = rebuilt
            return (0, [])
        }
        let since = now.addingTimeInterval(-2 * horizon.seconds)
        let recorded = try store.alertIDs(since: since)
        let conditionRules = rebuilt.conditionRuleNames
        if !conditionRules.isEmpty {
            let history = now.addingTimeInterval(-max(ruleSet.state.retention.seconds, 2 * horizon.seconds))
            rebuilt.restoreConditions(
                from: try store.alerts(rules: conditionRules, since: history),
                replayingFrom: since
            )
        }
        var notified: [Alert] = []
        let count = try store.forEachEntry(since: since) { entry in
            let event = entry.body.withUnsafeBytes { try? CallEvent.decode($0, allowBare: true) }
            guard let event else { return }
            notified += rebuilt.replay(event, at: entry.receivedAt, recorded: recorded)
        }
        notified += rebuilt.advance(to: now)
        rebuilt.endRestore()
        engine = rebuilt
        return (count, Self.due(notified, recorded: recorded))
    }

    /// The notifications not recorded, with only the latest of each alert's repeats.
    static func due(_ notified: [Alert], recorded: Set<String>) -> [Alert] {
        let fresh = notified.filter { !recorded.contains($0.deliveryID) }
        var latestRepeat: [String: Int] = [:]
        for (position, alert) in fresh.enumerated() where alert.repetition > 0 { latestRepeat[alert.id] = position }
        return fresh.enumerated().compactMap { position, alert in
            alert.repetition > 0 && latestRepeat[alert.id] != position ? nil : alert
        }
    }
}
