import Foundation

/// One rule and key's condition alert: inactive → pending (while `for` runs) → firing → resolved (and inactive
/// again). A value type with no I/O whose `evaluate` returns what to notify; the caller evaluates on each matching
/// event and at each instant the measure or `nextDeadline(after:)` says the outcome can change. Millisecond
/// resolution; every instant below is exact, and deadlines are used as the instants things happen, so a late
/// evaluation (a tick after the deadline) reports the same instants, and the same alert ids, as a timely one.
///
/// - `for` (default 0): the condition must hold from `since` through `since + for`, that instant included, to
///   fire; the alert's `startsAt` is `since + for`. With 0 it fires at the first evaluation that holds.
/// - `keep_firing_for` (default 0): a firing alert resolves once the condition has been false from `falseAt`
///   through `falseAt + keep_firing_for`, that instant included, and `endsAt` is that instant; with 0 it
///   resolves at the first evaluation that does not hold. Holding again before then keeps it firing.
/// - `repeat` (default never): while firing, it notifies again at `startsAt + k × repeat` (k = 1, 2, …). A late
///   evaluation sends one repeat for the latest instant passed, not one per instant missed.
public struct ConditionLifecycle: Sendable {
    public enum State: Sendable, Hashable {
        case inactive
        case pending(since: Date)
        case firing(startsAt: Date)
    }

    /// What an evaluation asks the caller to notify.
    public enum Transition: Sendable, Hashable {
        case fire(startsAt: Date)
        case repeatFiring(startsAt: Date)
        case resolve(startsAt: Date, endsAt: Date)
    }

    private enum Phase: Sendable, Hashable {
        case inactive
        case pending(since: Int64)
        /// `notified`: the latest instant it fired or repeated; `falseSince`: when it stopped holding, if it has.
        case firing(startsAt: Int64, notified: Int64, falseSince: Int64?)
    }

    private let forMilliseconds: Int64
    private let keepFiringMilliseconds: Int64
    /// 0: never repeat.
    private let repeatMilliseconds: Int64
    private var phase = Phase.inactive
    /// Whether it has ever fired.
    public private(set) var everFired = false
    private var resolvedMilliseconds: Int64?

    public init(for duration: Duration = .zero, keepFiringFor: Duration = .zero, repeat interval: Duration? = nil) {
        self.forMilliseconds = Swift.max(0, ConditionTime.milliseconds(duration))
        self.keepFiringMilliseconds = Swift.max(0, ConditionTime.milliseconds(keepFiringFor))
        self.repeatMilliseconds = interval.map { Swift.max(0, ConditionTime.milliseconds($0)) } ?? 0
    }

    public var state: State {
        switch phase {
        case .inactive: .inactive
        case .pending(let since): .pending(since: ConditionTime.date(since))
        case .firing(let startsAt, _, _): .firing(startsAt: ConditionTime.date(startsAt))
        }
    }

    public var isFiring: Bool {
        if case .firing = phase { return true }
        return false
    }

    /// Which notification of the current firing the last one was: 0 for the fire, k for its k-th `repeat`.
    public var repetition: Int {
        guard case .firing(let startsAt, let notified, _) = phase, repeatMilliseconds > 0 else { return 0 }
        return Int((notified - startsAt) / repeatMilliseconds)
    }

    /// Puts the lifecycle where recorded alerts say it was (crash recovery): firing since `startsAt`, its latest
    /// notification at `notifiedAt`.
    public mutating func restoreFiring(startsAt: Date, notifiedAt: Date) {
        let startsAt = ConditionTime.milliseconds(startsAt)
        phase = .firing(
            startsAt: startsAt,
            notified: Swift.max(startsAt, ConditionTime.milliseconds(notifiedAt)),
            falseSince: nil
        )
        everFired = true
        resolvedMilliseconds = nil
    }

    /// Puts the lifecycle back to pending since `since` (crash recovery: a recorded fire whose `for` began before
    /// the replayed journal).
    public mutating func restorePending(since: Date) {
        phase = .pending(since: ConditionTime.milliseconds(since))
    }

    /// Puts the lifecycle back to inactive after a recorded resolution at `resolvedAt`.
    public mutating func restoreResolved(at resolvedAt: Date) {
        phase = .inactive
        everFired = true
        resolvedMilliseconds = ConditionTime.milliseconds(resolvedAt)
    }

    /// When it last resolved; nil while firing and before it first resolved.
    public var resolvedAt: Date? { resolvedMilliseconds.map(ConditionTime.date) }

    /// Moves the lifecycle to `now`. `holds` is the condition's verdict then; `value` the measure, with nil
    /// (a measure below its `min_events`) counting as not holding. Returns the notification due, if any.
    public mutating func evaluate(holds: Bool, value: Double?, at now: Date) -> Transition? {
        let now = ConditionTime.milliseconds(now)
        let holds = holds && value != nil
        switch phase {
        case .inactive:
            guard holds else { return nil }
            phase = .pending(since: now)
            return pendingElapsed(since: now, at: now)
        case .pending(let since):
            guard holds else {
                phase = .inactive
                return nil
            }
            return pendingElapsed(since: since, at: now)
        case .firing(let startsAt, var notified, var falseSince):
            if holds {
                falseSince = nil
            } else {
                let since = falseSince ?? now
                if now - since >= keepFiringMilliseconds {
                    let endsAt = since + keepFiringMilliseconds
                    phase = .inactive
                    resolvedMilliseconds = endsAt
                    return .resolve(startsAt: ConditionTime.date(startsAt), endsAt: ConditionTime.date(endsAt))
                }
                falseSince = since
            }
            var transition: Transition?
            if repeatMilliseconds > 0, now - notified >= repeatMilliseconds {
                notified = startsAt + (now - startsAt) / repeatMilliseconds * repeatMilliseconds
                transition = .repeatFiring(startsAt: ConditionTime.date(startsAt))
            }
            phase = .firing(startsAt: startsAt, notified: notified, falseSince: falseSince)
            return transition
        }
    }

    /// Fires if `for` has run since `since`.
    private mutating func pendingElapsed(since: Int64, at now: Int64) -> Transition? {
        guard now - since >= forMilliseconds else { return nil }
        let startsAt = since + forMilliseconds
        var notified = startsAt
        if repeatMilliseconds > 0 { notified += (now - startsAt) / repeatMilliseconds * repeatMilliseconds }
        phase = .firing(startsAt: startsAt, notified: notified, falseSince: nil)
        everFired = true
        resolvedMilliseconds = nil
        return .fire(startsAt: ConditionTime.date(startsAt))
    }

    /// The next instant at which an evaluation can change the outcome with no change in the condition: the end of
    /// `for` while pending; while firing, the next `repeat` and, if the condition is false, the end of
    /// `keep_firing_for`, whichever is first. Nil while inactive or firing with nothing scheduled. After
    /// `evaluate(…, at: now)` it is always after `now`; a deadline not yet evaluated is returned even once passed
    /// (overdue), so none is skipped.
    public func nextDeadline(after now: Date) -> Date? {
        switch phase {
        case .inactive:
            return nil
        case .pending(let since):
            return ConditionTime.date(since + forMilliseconds)
        case .firing(_, let notified, let falseSince):
            var next: Int64?
            if repeatMilliseconds > 0 { next = notified + repeatMilliseconds }
            if let falseSince {
                let keep = falseSince + keepFiringMilliseconds
                next = Swift.min(next ?? keep, keep)
            }
            return next.map(ConditionTime.date)
        }
    }
}
