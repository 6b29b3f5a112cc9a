import Foundation

/// The state of one rule: per-key windows, sequences and cooldowns, swept once they can no longer fire.
struct RuleRuntime: Sendable {
    struct KeyState: Sendable {
        var window: WindowState?
        var sequence: SequenceState?
        var cooldown: CooldownState?

        var expiresAt: Date {
            [window?.expiresAt, sequence?.expiresAt, cooldown?.expiresAt].compactMap { $0 }.max() ?? .distantPast
        }
    }

    let rule: Rule
    var states: [RuleKey: KeyState] = [:]
    private var sweepThreshold = 1024
    private var nextSweep = Date.distantPast

    init(rule: Rule) {
        self.rule = rule
    }

    func key(for event: CallEvent) -> RuleKey { RuleKey(event, by: rule.by) }

    func newKeyState() -> KeyState {
        KeyState(
            window: rule.window.map { WindowState(count: $0.count, within: $0.within) },
            sequence: rule.sequence.map { SequenceState(within: $0.within) },
            cooldown: rule.cooldown > .zero ? CooldownState(cooldown: rule.cooldown) : nil
        )
    }

    enum Outcome {
        case none
        case fired(Alert)
        case suppressed(Alert)
    }

    /// Feeds one matching event.
    mutating func apply(_ event: CallEvent, at now: Date) -> Outcome {
        sweepIfDue(at: now)
        let ruleKey = key(for: event)
        let keyed = rule.isStateful
        var state = keyed ? (states.removeValue(forKey: ruleKey) ?? newKeyState()) : newKeyState()
        defer { if keyed { states[ruleKey] = state } }

        var events: [CallEvent]
        var firstAt = now
        var match: String?
        if state.window != nil {
            guard let completed = state.window!.append(event, at: now) else { return .none }
            events = completed.map(\.event)
            firstAt = completed[0].time
        } else if let sequence = rule.sequence {
            guard let text = event[sequence.field]?.stringValue?.trimmingCharacters(in: .whitespacesAndNewlines),
                !text.isEmpty,
                let result = state.sequence!.append(text, event: event, at: now, pattern: sequence.pattern)
            else { return .none }
            match = result.match
            events = result.events
            firstAt = result.firstAt
        } else {
            events = [event]
        }
        let values = ruleKey.values
        let key = zip(rule.by, values).map { ($0.description, $1) }
        let alert = Alert(
            id: Alert.makeID(
                rule: rule.name,
                key: values.joined(separator: "\u{1}"),
                eventIdentity: event.identity
            ),
            rule: rule.name,
            description: rule.description,
            key: key,
            count: events.count,
            match: match,
            firstAt: firstAt,
            lastAt: now,
            firedAt: now,
            status: .firing,
            value: nil,
            startsAt: now,
            endsAt: nil,
            events: events
        )
        if state.cooldown != nil, state.cooldown!.decide(at: now) == .suppress {
            return .suppressed(alert)
        }
        return .fired(alert)
    }

    /// Feeds one matching event while rebuilding state after a restart. `recorded` holds the ids of the alerts the
    /// store recorded: a fire it recorded happens again (re-anchoring the key's window, sequence and cooldown, so
    /// the replay cannot drift out of phase with what happened), one it did not record does not.
    mutating func replay(_ event: CallEvent, at now: Date, recorded: Set<String>) {
        guard rule.isStateful else { return }
        sweepIfDue(at: now)
        let ruleKey = key(for: event)
        var state = states.removeValue(forKey: ruleKey) ?? newKeyState()
        defer { states[ruleKey] = state }
        let keyText = ruleKey.values.joined(separator: "\u{1}")
        let id = Alert.makeID(rule: rule.name, key: keyText, eventIdentity: event.identity)
        if recorded.contains(id) || Self.recordedBeforeNamespacing(event, rule: rule.name, key: keyText, in: recorded) {
            state.window?.clear()
            state.sequence?.drop()
            state.cooldown?.markFired(at: now)
            return
        }
        let cooling = state.cooldown?.isActive(at: now) ?? false
        if state.window != nil {
            // A full window while cooling down was suppressed (and emptied); otherwise it did not fill.
            if cooling {
                _ = state.window!.append(event, at: now)
            } else {
                state.window!.appendWithoutFiring(event, at: now)
            }
        } else if let sequence = rule.sequence,
            let text = event[sequence.field]?.stringValue?.trimmingCharacters(in: .whitespacesAndNewlines),
            !text.isEmpty
        {
            _ = state.sequence!.append(text, event: event, at: now, pattern: sequence.pattern)
        }
    }

    /// Whether an alert this event completed was recorded by a release that identified events by their bare
    /// `eventId` (alert ids derive from the identity): so the first start after the upgrade re-anchors those fires
    /// too instead of letting a window fire again.
    static func recordedBeforeNamespacing(
        _ event: CallEvent,
        rule: String,
        key: String,
        in recorded: Set<String>
    )
        -> Bool
    {
        guard !recorded.isEmpty, case .string(let eventId) = event[.eventId], !eventId.isEmpty else { return false }
        return recorded.contains(Alert.makeID(rule: rule, key: key, eventIdentity: eventId))
    }

    /// The call of `event` disconnected: drop its buffered digits.
    mutating func dropSequence(for event: CallEvent) {
        guard rule.sequence != nil, !states.isEmpty else { return }
        let ruleKey = key(for: event)
        guard var state = states[ruleKey], let sequence = state.sequence, !sequence.isEmpty else { return }
        if let callId = sequence.callId, case .string(let disconnected) = event[.callId], callId != disconnected {
            return
        }
        state.sequence!.drop()
        states[ruleKey] = state
    }

    /// Removes keys that can no longer fire. Amortised: runs when the map doubled or a horizon passed.
    mutating func sweepIfDue(at now: Date) {
        guard states.count >= sweepThreshold || now >= nextSweep else { return }
        sweep(at: now)
    }

    mutating func sweep(at now: Date) {
        states = states.filter { $0.value.expiresAt >= now }
        sweepThreshold = max(1024, states.count * 2)
        nextSweep = now.addingTimeInterval(max(1, rule.stateHorizon.seconds))
    }
}
