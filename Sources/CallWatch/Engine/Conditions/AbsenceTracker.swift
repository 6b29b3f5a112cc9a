import Foundation

/// One key's `absent` measure: how long since a matching event last arrived. A value type with no I/O: the caller
/// passes the time. Millisecond resolution.
///
/// - The clock starts at `since`: the key's first event, or for the rule's single key (no `by`) the instant
///   watching began (`serve` starting; the first event in `replay` and `test`).
/// - The condition holds once no event has arrived for `for`, at exactly `for` included: seen at `t`, it holds
///   from `t + for` on (`nextChange(after:)`).
/// - Forgetting: a key that is not firing is forgotten once it has been absent longer than `forget` (strictly)
///   since the later of its last event and its resolution; a firing key is never forgotten.
public struct AbsenceTracker: Sendable {
    private let forMilliseconds: Int64
    private let forgetMilliseconds: Int64
    private var lastMilliseconds: Int64

    public static let defaultForget: Duration = .seconds(86_400)

    public init(for duration: Duration, forget: Duration = Self.defaultForget, since start: Date) {
        self.forMilliseconds = ConditionTime.milliseconds(duration)
        self.forgetMilliseconds = ConditionTime.milliseconds(forget)
        self.lastMilliseconds = ConditionTime.milliseconds(start)
    }

    public var duration: Duration { .milliseconds(forMilliseconds) }
    public var forget: Duration { .milliseconds(forgetMilliseconds) }

    /// The last matching event (or the start, before any).
    public var lastSeen: Date { ConditionTime.date(lastMilliseconds) }

    /// A matching event arrived. An event older than the last one seen changes nothing.
    public mutating func seen(at now: Date) {
        lastMilliseconds = Swift.max(lastMilliseconds, ConditionTime.milliseconds(now))
    }

    /// Seconds since the last matching event (or the start), never negative.
    public func value(at now: Date) -> Double {
        Double(Swift.max(0, ConditionTime.milliseconds(now) - lastMilliseconds)) / 1000
    }

    /// Whether no matching event has arrived for `for`: true from `lastSeen + for` on, that instant included.
    public func holds(at now: Date) -> Bool {
        ConditionTime.milliseconds(now) - lastMilliseconds >= forMilliseconds
    }

    /// When the condition starts holding with no new event (`lastSeen + for`), if that is after `now`; nil once it
    /// holds (only an event changes it then).
    public func nextChange(after now: Date) -> Date? {
        let deadline = lastMilliseconds + forMilliseconds
        return deadline > ConditionTime.milliseconds(now) ? ConditionTime.date(deadline) : nil
    }

    /// The first instant at which the key may be forgotten: `forget` plus 1ms after the later of its last event and
    /// `resolvedAt`. Nil while it is firing (`everFired` and not resolved since).
    public func forgetsAt(everFired: Bool, resolvedAt: Date?) -> Date? {
        forgetMilliseconds(everFired: everFired, resolvedAt: resolvedAt).map(ConditionTime.date)
    }

    /// Whether the key can be dropped at `now` (see `forgetsAt`).
    public func isForgettable(at now: Date, everFired: Bool, resolvedAt: Date?) -> Bool {
        guard let forgetsAt = forgetMilliseconds(everFired: everFired, resolvedAt: resolvedAt) else { return false }
        return ConditionTime.milliseconds(now) >= forgetsAt
    }

    private func forgetMilliseconds(everFired: Bool, resolvedAt: Date?) -> Int64? {
        var anchor = lastMilliseconds
        if everFired {
            guard let resolvedAt else { return nil }
            anchor = Swift.max(anchor, ConditionTime.milliseconds(resolvedAt))
        }
        return anchor + forgetMilliseconds + 1
    }
}
