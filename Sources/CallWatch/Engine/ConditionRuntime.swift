import Foundation

/// The state of one condition rule (`ratio`, `aggregate`, `absent`, `gauge`): per key, the measure, its lifecycle
/// and the last events it counted, plus one deadline heap of the instants at which a key's outcome can change with
/// no new event (a window edge, the end of `for` or `keep_firing_for`, a `repeat`, an absence, a forgetting).
///
/// Every key is evaluated at the exact instant of its deadline (`advance(to:)`) and at each matching event
/// (`apply`), so the alerts do not depend on when the caller's clock ticks: `serve` (ticks each
/// `evaluation_interval`) and `replay`/`test` (carried to each deadline) give the same alerts, with the same ids.
/// Keys with nothing left to measure and an inactive lifecycle are dropped, so idle keys cost neither memory nor
/// time.
struct ConditionRuntime: Sendable {
    enum Measure: Sendable {
        case ratio(RatioWindow)
        case aggregate(AggregateWindow)
        case absent(AbsenceTracker)
        case gauge(GaugeState)
    }

    struct Counted: Sendable {
        var time: Int64
        var event: CallEvent
    }

    struct KeyState: Sendable {
        var measure: Measure
        var lifecycle: ConditionLifecycle
        /// The last events the measure counted, oldest first (at most `Alert.conditionEventLimit`).
        var recent = ConditionRing<Counted>()
        /// The deadline scheduled in the heap, in milliseconds; nil when none is.
        var scheduled: Int64?
    }

    /// How many of the events a key counted its alert carries.
    static let eventLimit = 10

    let rule: Rule
    let condition: RuleCondition
    /// `condition.span` in milliseconds: how long a counted event stays among those an alert carries.
    private let spanMilliseconds: Int64
    var states: [RuleKey: KeyState] = [:]
    var deadlines = DeadlineHeap<RuleKey>()
    /// The latest instant evaluated: time never goes backwards for a rule, whatever order callers' clocks give.
    private var latest = Int64.min
    /// While rebuilding after a restart: before this instant the measures are still filling from the journal, so
    /// they are fed but the lifecycle is not judged.
    var quietUntil: Int64?

    init?(rule: Rule) {
        guard let condition = rule.condition else { return nil }
        self.rule = rule
        self.condition = condition
        self.spanMilliseconds = ConditionTime.milliseconds(condition.span)
    }

    // MARK: Events and time

    /// Feeds one event matching the rule's `when`; returns the notification it caused, if any.
    mutating func apply(_ event: CallEvent, at date: Date) -> Alert? {
        let now = clock(date)
        let key = RuleKey(event, by: rule.by)
        var state: KeyState
        if let kept = states.removeValue(forKey: key) { state = consume kept } else { state = newState(since: now) }
        let counted = Self.count(event, at: ConditionTime.date(now), in: &state.measure, condition: condition)
        if counted { remember(event, at: now, in: &state) }
        let alert = evaluate(key, &state, at: now)
        keep(key, consume state)
        return alert
    }

    /// Carries the rule to `now`: each key whose deadline is due is evaluated at its deadline, in deadline order,
    /// until none is left at or before `now`. Returns the notifications, in that order.
    mutating func advance(to date: Date, into alerts: inout [Alert]) {
        let now = ConditionTime.milliseconds(date)
        while let next = deadlines.nextDeadline.map(ConditionTime.milliseconds), next <= now {
            for key in deadlines.popDue(at: ConditionTime.date(next)) {
                guard var state = states.removeValue(forKey: key) else { continue }
                state.scheduled = nil
                if let alert = evaluate(key, &state, at: clock(ConditionTime.date(next))) { alerts.append(alert) }
                keep(key, consume state)
            }
        }
        latest = Swift.max(latest, now)
    }

    /// The watch of a rule without `by` begins: its one key exists from `date` on (an absence counts from there).
    mutating func start(at date: Date) {
        guard rule.by.isEmpty, case .absent = condition, states[.all] == nil else { return }
        var state = newState(since: clock(date))
        _ = evaluate(.all, &state, at: clock(date))
        keep(.all, state)
    }

    // The measures change in place: each function below consumes `measure` (`switch consume`), so the payload it
    // binds is the only reference to its buffers (no copy on write, no retain or release), and puts it back before
    // returning. Binding the payload out of a second copy of the enum instead (a `let` or a tuple holding it) left two
    // references whenever the optimizer kept that copy alive, and then every `add` copied the whole window.

    /// Feeds `event` to the measure; returns whether it counted (the alert carries the events that did).
    private static func count(
        _ event: CallEvent,
        at now: Date,
        in measure: inout Measure,
        condition: RuleCondition
    ) -> Bool {
        switch consume measure {
        case .ratio(var window):
            var counted = false
            if case .ratio(let of, _, _, _) = condition {
                window.add(at: now, matchesOf: of.matches(event))
                counted = true
            }
            measure = .ratio(window)
            return counted
        case .aggregate(var window):
            var counted = false
            if case .aggregate(let function, let field, _, _, _) = condition {
                if function == .count {
                    window.add(nil, at: now)
                    counted = true
                } else if let value = field.flatMap({ event[$0]?.numberValue }), value.isFinite {
                    window.add(value, at: now)
                    counted = true
                }
            }
            measure = .aggregate(window)
            return counted
        case .absent(var tracker):
            tracker.seen(at: now)
            measure = .absent(tracker)
            return true
        case .gauge(var gauge):
            var changed = false
            if case .gauge(let open, let close, let idField, _, _) = condition,
                let id = event[idField]?.stringValue, !id.isEmpty
            {
                if open.matches(event) {
                    changed = gauge.open(id: id, at: now)
                } else if close.matches(event) {
                    changed = gauge.close(id: id)
                }
            }
            measure = .gauge(gauge)
            return changed
        }
    }

    /// Drops what left the measure by `now`, in place.
    private static func expire(_ measure: inout Measure, at now: Date) {
        switch consume measure {
        case .ratio(var window):
            window.expire(at: now)
            measure = .ratio(window)
        case .aggregate(var window):
            window.expire(at: now)
            measure = .aggregate(window)
        case .absent(let tracker):
            measure = .absent(tracker)
        case .gauge(var gauge):
            gauge.expire(at: now)
            measure = .gauge(gauge)
        }
    }

    @inline(__always)
    private mutating func clock(_ date: Date) -> Int64 {
        latest = Swift.max(latest, ConditionTime.milliseconds(date))
        return latest
    }

    private func newState(since now: Int64) -> KeyState {
        let measure: Measure
        switch condition {
        case .ratio(_, let within, let minEvents, _):
            measure = .ratio(RatioWindow(within: within, minEvents: minEvents))
        case .aggregate(let function, _, let within, let minEvents, _):
            measure = .aggregate(AggregateWindow(function: function, within: within, minEvents: minEvents))
        case .absent(let duration, let forget):
            measure = .absent(AbsenceTracker(for: duration, forget: forget, since: ConditionTime.date(now)))
        case .gauge(_, _, _, _, let maxAge):
            measure = .gauge(GaugeState(maxAge: maxAge))
        }
        let timing = rule.timing
        return KeyState(
            measure: measure,
            lifecycle: ConditionLifecycle(
                for: timing.pending,
                keepFiringFor: timing.keepFiringFor,
                repeat: timing.repeatInterval
            )
        )
    }

    private func remember(_ event: CallEvent, at now: Int64, in state: inout KeyState) {
        if state.recent.count == Self.eventLimit { state.recent.removeFirst() }
        state.recent.append(Counted(time: now, event: event))
    }

    /// Puts a key back, or drops it when nothing about it can change any more, and schedules its next deadline.
    /// Takes the state over (`consuming`): a copy would retain every buffer it holds and release them again.
    private mutating func keep(_ key: RuleKey, _ state: consuming KeyState) {
        let now = latest
        if isForgettable(state, at: now) {
            if state.scheduled != nil { deadlines.cancel(key) }
            return
        }
        let next = nextDeadline(state, after: now)
        if next != state.scheduled {
            if let next {
                deadlines.schedule(key, at: ConditionTime.date(next))
            } else {
                deadlines.cancel(key)
            }
            state.scheduled = next
        }
        states[key] = consume state
    }

    // MARK: Judging a key

    /// The measure's value at `now` and whether the condition holds then.
    private func judge(_ measure: Measure, at now: Date) -> (value: Double?, holds: Bool) {
        switch (measure, condition) {
        case (.ratio(let window), .ratio(_, _, _, let bound)):
            let value = window.value(at: now)
            return (value, bound.holds(value))
        case (.aggregate(let window), .aggregate(_, _, _, _, let bound)):
            let value = window.value(at: now)
            return (value, bound.holds(value))
        case (.absent(let tracker), _):
            return (tracker.value(at: now), tracker.holds(at: now))
        case (.gauge(let gauge), .gauge(_, _, _, let bound, _)):
            let value = gauge.value(at: now)
            return (value, bound.holds(value))
        default:
            return (nil, false)
        }
    }

    /// Moves a key's lifecycle to `now`; returns the notification due, if any.
    private mutating func evaluate(_ key: RuleKey, _ state: inout KeyState, at now: Int64) -> Alert? {
        let date = ConditionTime.date(now)
        Self.expire(&state.measure, at: date)
        let cutoff = now - spanMilliseconds
        // An absence counts from its last event: while pending or firing, its alerts carry it however old it is.
        let kept = isAbsence && state.lifecycle.state != .inactive ? 1 : 0
        while state.recent.count > kept, let first = state.recent.first, first.time < cutoff {
            state.recent.removeFirst()
        }
        if let quietUntil, now < quietUntil { return nil }
        let (value, holds) = judge(state.measure, at: date)
        guard let transition = state.lifecycle.evaluate(holds: holds, value: value, at: date) else { return nil }
        return alert(for: transition, key: key, state: state, value: value, at: date)
    }

    private var isAbsence: Bool {
        if case .absent = condition { return true }
        return false
    }

    private func measureCount(_ measure: Measure) -> Int {
        switch measure {
        case .ratio(let window): window.count
        case .aggregate(let window): window.count
        case .absent: 0
        case .gauge(let gauge): gauge.count
        }
    }

    /// Whether the key can go: its lifecycle is inactive and its measure holds nothing (an absence: `forget` has
    /// passed, and only with `by`; the rule's single key is always watched).
    private func isForgettable(_ state: KeyState, at now: Int64) -> Bool {
        guard state.lifecycle.state == .inactive else { return false }
        if case .absent(let tracker) = state.measure {
            return !rule.by.isEmpty
                && tracker.isForgettable(
                    at: ConditionTime.date(now),
                    everFired: state.lifecycle.everFired,
                    resolvedAt: state.lifecycle.resolvedAt
                )
        }
        return measureCount(state.measure) == 0
    }

    /// The next instant the key's outcome can change with no event: the lifecycle's deadline, the measure's next
    /// change, or (for a window too small to judge) when all it holds has left, so the key is dropped then.
    private func nextDeadline(_ state: KeyState, after now: Int64) -> Int64? {
        let date = ConditionTime.date(now)
        var next = state.lifecycle.nextDeadline(after: date).map(ConditionTime.milliseconds)
        func consider(_ candidate: Int64?) {
            guard let candidate else { return }
            next = Swift.min(next ?? candidate, candidate)
        }
        switch state.measure {
        case .ratio(let window):
            consider(window.nextChange(after: date).map(ConditionTime.milliseconds))
            if window.count > 0 { consider(now + ConditionTime.milliseconds(window.within) + 1) }
        case .aggregate(let window):
            consider(window.nextChange(after: date).map(ConditionTime.milliseconds))
            if window.count > 0 { consider(now + ConditionTime.milliseconds(window.within) + 1) }
        case .absent(let tracker):
            consider(tracker.nextChange(after: date).map(ConditionTime.milliseconds))
            if !rule.by.isEmpty, state.lifecycle.state == .inactive {
                consider(
                    tracker.forgetsAt(everFired: state.lifecycle.everFired, resolvedAt: state.lifecycle.resolvedAt)
                        .map(ConditionTime.milliseconds)
                )
            }
        case .gauge(let gauge):
            consider(gauge.nextChange(after: date).map(ConditionTime.milliseconds))
        }
        if let quietUntil, now < quietUntil { consider(quietUntil) }
        return next.map { Swift.max($0, now + 1) }
    }

    // MARK: Alerts

    private func alert(
        for transition: ConditionLifecycle.Transition,
        key: RuleKey,
        state: KeyState,
        value: Double?,
        at now: Date
    ) -> Alert {
        let status: AlertStatus
        let startsAt: Date
        var endsAt: Date?
        var repetition = 0
        switch transition {
        case .fire(let start):
            (status, startsAt) = (.firing, start)
        case .repeatFiring(let start):
            (status, startsAt) = (.firing, start)
            repetition = state.lifecycle.repetition
        case .resolve(let start, let end):
            (status, startsAt, endsAt) = (.resolved, start, end)
        }
        let values = key.values
        let events = (0..<state.recent.count).map { state.recent[$0] }
        var alert = Alert(
            id: ConditionAlertID.make(rule: rule.name, key: values, status: status, startsAt: startsAt),
            rule: rule.name,
            description: rule.description,
            key: zip(rule.by, values).map { ($0.description, $1) },
            count: isAbsence ? events.count : measureCount(state.measure),
            match: nil,
            firstAt: events.first.map { ConditionTime.date($0.time) } ?? now,
            lastAt: events.last.map { ConditionTime.date($0.time) } ?? now,
            firedAt: now,
            status: status,
            value: value.map(Self.rounded),
            startsAt: startsAt,
            endsAt: endsAt,
            events: events.map(\.event)
        )
        alert.repetition = repetition
        return alert
    }

    /// A measure as reported: at most 6 decimals, so a ratio reads 0.25, not 0.25000000000000006.
    static func rounded(_ value: Double) -> Double {
        guard value.isFinite, abs(value) < 1e12 else { return value }
        return (value * 1e6).rounded() / 1e6
    }

    /// The rule is going away (a reload removed or redefined it): a resolved notification, at `date`, for each key
    /// still firing, so no alert downstream is left firing forever.
    func resolveFiring(at date: Date) -> [Alert] {
        states.compactMap { key, state in
            guard case .firing(let startsAt) = state.lifecycle.state else { return nil }
            let value = judge(state.measure, at: date).value
            return alert(
                for: .resolve(startsAt: startsAt, endsAt: date),
                key: key,
                state: state,
                value: value,
                at: date
            )
        }
        .sorted { $0.keyText < $1.keyText }
    }

    // MARK: Recovery

    /// Sets each key's lifecycle from the recorded alerts of this rule (oldest first) before the journal since
    /// `since` is replayed: the last notification before the measures are whole again (`since` + the measure's
    /// span) says whether the key was firing; a recorded fire soon after whose `for` began before then says it was
    /// pending. Until then the replay only feeds the measures.
    mutating func restore(from recorded: [Alert], replayingFrom since: Date) {
        let quiet = ConditionTime.milliseconds(since) + ConditionTime.milliseconds(condition.span)
        quietUntil = quiet
        var byKey: [RuleKey: [Alert]] = [:]
        for alert in recorded where alert.rule == rule.name {
            byKey[RuleKey(alert.key.map(\.value)), default: []].append(alert)
        }
        let pending = ConditionTime.milliseconds(rule.timing.pending)
        let absence: Int64 =
            if case .absent(let duration, _) = condition { ConditionTime.milliseconds(duration) } else { 0 }
        for (key, alerts) in byKey {
            let before = alerts.last { ConditionTime.milliseconds($0.firedAt) < quiet }
            let firstAfter = alerts.first { ConditionTime.milliseconds($0.firedAt) >= quiet }
            var state: KeyState
            if let before, before.status == .firing {
                let startsAt = ConditionTime.milliseconds(before.startsAt)
                state = newState(since: startsAt - pending - absence)
                state.lifecycle.restoreFiring(startsAt: before.startsAt, notifiedAt: before.firedAt)
            } else if let firstAfter, firstAfter.status == .firing, firstAfter.repetition == 0,
                ConditionTime.milliseconds(firstAfter.startsAt) - pending < quiet
            {
                let since = ConditionTime.milliseconds(firstAfter.startsAt) - pending
                state = newState(since: since - absence)
                state.lifecycle.restorePending(since: ConditionTime.date(since))
            } else if let before, let endsAt = before.endsAt, isAbsence {
                state = newState(since: ConditionTime.milliseconds(endsAt))
                state.lifecycle.restoreResolved(at: endsAt)
            } else if isAbsence, rule.by.isEmpty, let firstAfter, firstAfter.status == .firing,
                firstAfter.repetition == 0
            {
                // The single key of a rule without `by` may count from when the watch began, which the journal
                // does not hold: its clock is set from the fire (silent from startsAt - for - absence), and the
                // replay takes the lifecycle on from there.
                state = newState(since: ConditionTime.milliseconds(firstAfter.startsAt) - pending - absence)
            } else {
                continue
            }
            states[key] = state
            deadlines.schedule(key, at: ConditionTime.date(quiet))
            states[key]?.scheduled = quiet
        }
    }

    /// The journal has been replayed: from here on every evaluation judges the lifecycle.
    mutating func endRestore() {
        quietUntil = nil
    }

    // MARK: Sizes

    /// Heap bytes the keys' measures hold (their buffers; not the dictionary or the events kept for alerts).
    var measureBytes: Int {
        states.values.reduce(0) { total, state in
            switch state.measure {
            case .ratio(let window): total + window.heapBytes
            case .aggregate(let window): total + window.heapBytes
            case .absent, .gauge: total
            }
        }
    }
}
