import Foundation

/// A firing condition alert told to Alertmanager again every `resend` by the action at `actionIndex`, until it
/// resolves: Alertmanager ends an alert it has not heard of for its `resolve_timeout`.
struct AlertmanagerResend: Sendable {
    var alert: Alert
    var actionIndex: Int
    var next: Date
}

extension JournalWriter {
    /// Sends the groups due at `now`: their waiting outbox rows become one pending notification per action (one
    /// transaction), then each is dispatched. A failed commit leaves the group waiting for the next tick.
    mutating func sendGroups(at now: Date) {
        guard !groups.isEmpty else { return }
        for group in groups.due(at: now) {
            let id = NotificationGroups.id(of: group.members)
            let rule = engine.ruleSet.rules.first { $0.name == group.rule }
            var sending: [(index: Int, action: ActionSpec)] = []
            var abandoned: [OutboxUpdate] = []
            for (index, kind) in group.actions.sorted(by: { $0.key < $1.key }) {
                if let rule, index < rule.actions.count, rule.actions[index].kind == kind,
                    rule.actions[index].takesGroup
                {
                    sending.append((index, rule.actions[index]))
                } else {
                    abandoned.append(
                        OutboxUpdate(
                            alertID: id,
                            actionIndex: index,
                            status: .failure,
                            attempts: 0,
                            reason: "the rule's actions changed before this one ran",
                            group: true
                        )
                    )
                }
            }
            do {
                try store.write { transaction in
                    try transaction.group(id, alertIDs: group.members.map(\.deliveryID))
                    try transaction.record(abandoned)
                }
            } catch {
                logger.error(
                    "store commit failed",
                    metadata: ["error": "\(error)", "rule": "\(group.rule)", "group": "\(id)"]
                )
                return
            }
            groups.sent(rule: group.rule, at: now)
            logger.debug(
                "group sent",
                metadata: ["rule": "\(group.rule)", "group": "\(id)", "alerts": "\(group.members.count)"]
            )
            adjustPending(by: sending.count)
            for pending in PendingAction.group(id, alerts: group.members, actions: sending) {
                dispatcher.submit(pending)
            }
        }
    }

    /// Starts or stops telling Alertmanager again of the condition alerts just notified: a firing one is re-sent
    /// every `resend` by each of its rule's `alertmanager` actions; a resolved or silenced one no longer is.
    mutating func trackResends(_ fired: [BatchStages.Fired]) {
        for notification in fired where notification.alert.isCondition {
            let alert = notification.alert
            guard alert.status == .firing, !notification.silenced else {
                resends[alert.id] = nil
                continue
            }
            let tracked = notification.actions.enumerated().compactMap { index, action in
                Self.resendInterval(of: action).map {
                    AlertmanagerResend(alert: alert, actionIndex: index, next: alert.firedAt.addingTimeInterval($0))
                }
            }
            resends[alert.id] = tracked.isEmpty ? nil : tracked
        }
    }

    /// Re-sends, without recording them, the firing alerts whose `resend` fell due. One no longer firing is
    /// forgotten; one a silence covers now is skipped (and notified when the silence ends, as any muted alert).
    mutating func resend(at now: Date) {
        guard !resends.isEmpty else { return }
        for (id, tracked) in resends {
            guard let first = tracked.first,
                engine.isFiring(
                    rule: first.alert.rule,
                    key: first.alert.key.map(\.value),
                    startsAt: first.alert.startsAt
                ),
                let rule = engine.ruleSet.rules.first(where: { $0.name == first.alert.rule })
            else {
                resends[id] = nil
                continue
            }
            let silenced = silences.contains { $0.isActive(at: now) && $0.matches(first.alert) }
            var kept: [AlertmanagerResend] = []
            for var entry in tracked {
                guard entry.actionIndex < rule.actions.count,
                    let interval = Self.resendInterval(of: rule.actions[entry.actionIndex])
                else { continue }
                if entry.next <= now {
                    if !silenced {
                        var pending = PendingAction(
                            alert: entry.alert,
                            actionIndex: entry.actionIndex,
                            action: rule.actions[entry.actionIndex]
                        )
                        pending.recorded = false
                        dispatcher.submit(pending)
                    }
                    entry.next = now.addingTimeInterval(interval)
                }
                kept.append(entry)
            }
            resends[id] = kept.isEmpty ? nil : kept
        }
    }

    /// Recovery: the condition alerts that still fire are re-sent to Alertmanager at the first tick (their last
    /// send was before the restart).
    mutating func restoreResends(now: Date) throws {
        let rules = engine.ruleSet.rules.filter { rule in
            rule.condition != nil && rule.actions.contains { Self.resendInterval(of: $0) != nil }
        }
        guard !rules.isEmpty else { return }
        let history = now.addingTimeInterval(-max(engine.ruleSet.state.retention.seconds, 0))
        var latest: [String: Alert] = [:]
        for alert in try store.alerts(rules: rules.map(\.name), since: history) { latest[alert.id] = alert }
        for alert in latest.values
        where alert.status == .firing
            && engine.isFiring(rule: alert.rule, key: alert.key.map(\.value), startsAt: alert.startsAt)
        {
            guard let rule = rules.first(where: { $0.name == alert.rule }) else { continue }
            let tracked = rule.actions.indices.compactMap { index in
                Self.resendInterval(of: rule.actions[index]).map { _ in
                    AlertmanagerResend(alert: alert, actionIndex: index, next: now)
                }
            }
            if !tracked.isEmpty { resends[alert.id] = tracked }
        }
    }

    /// The `resend` of an `alertmanager` action; nil for any other.
    static func resendInterval(of action: ActionSpec) -> TimeInterval? {
        guard case .http(let http) = action, case .alertmanager(_, _, let resend) = http.service else { return nil }
        return resend.seconds
    }
}
