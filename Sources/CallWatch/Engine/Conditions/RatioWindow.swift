import Foundation

/// One key's `ratio` measure: over a sliding `within`, the events that matched `when` (the denominator) and those
/// that also matched `of` (the numerator). A value type with no I/O: the caller passes the time.
///
/// Window edge (as `WindowState`): an event at `t` is inside the window at `now` while `t >= now - within`, the
/// edge itself included, at millisecond resolution. So it leaves at `t + within + 1ms`, the instant
/// `nextChange(after:)` reports.
///
/// Memory: one `Int64` per event in the window (its millisecond time shifted left, the `of` verdict in the low
/// bit) in a ring, plus two counters; nothing else is kept. Adding is O(1) amortised and allocates only while the
/// ring grows.
public struct RatioWindow: Sendable {
    /// Below this many events in the window the ratio has no value (the condition is false).
    public let minEvents: Int
    private let withinMilliseconds: Int64
    private var entries = ConditionRing<Int64>()
    /// Entries in the ring whose event matched `of`.
    public private(set) var matchedCount = 0

    public init(within: Duration, minEvents: Int = 1) {
        self.minEvents = Swift.max(1, minEvents)
        self.withinMilliseconds = ConditionTime.milliseconds(within)
    }

    public var within: Duration { .milliseconds(withinMilliseconds) }

    /// Events in the window (the denominator) as of the last `add` or `expire`.
    public var count: Int { entries.count }

    /// Heap bytes held by the window (its ring's buffer).
    var heapBytes: Int { entries.heapBytes }

    @inline(__always)
    private static func time(_ entry: Int64) -> Int64 { entry >> 1 }

    @inline(__always)
    private static func matched(_ entry: Int64) -> Bool { entry & 1 == 1 }

    /// Counts an event matching `when`; `matchesOf` says whether it also matched `of`. Drops what left the window
    /// first. Times never go backwards: an event older than the newest entry is counted at the newest's time.
    public mutating func add(at now: Date, matchesOf: Bool) {
        expire(at: now)
        var milliseconds = ConditionTime.milliseconds(now)
        if let last = entries.last { milliseconds = Swift.max(milliseconds, Self.time(last)) }
        entries.append(milliseconds &<< 1 | (matchesOf ? 1 : 0))
        if matchesOf { matchedCount += 1 }
    }

    /// Drops the events outside the window at `now`.
    public mutating func expire(at now: Date) {
        let cutoff = ConditionTime.milliseconds(now) - withinMilliseconds
        while let first = entries.first, Self.time(first) < cutoff {
            if Self.matched(entries.removeFirst()) { matchedCount -= 1 }
        }
    }

    /// How many of the oldest entries are outside the window at `now`, and how many of those matched `of`
    /// (O(that many): nothing when the caller has expired up to `now`).
    private func leftCounts(at now: Date) -> (total: Int, matched: Int) {
        let cutoff = ConditionTime.milliseconds(now) - withinMilliseconds
        var total = 0
        var matched = 0
        while total < entries.count, Self.time(entries[total]) < cutoff {
            if Self.matched(entries[total]) { matched += 1 }
            total += 1
        }
        return (total, matched)
    }

    /// numerator / denominator in the window at `now`; nil while the denominator is below `minEvents`.
    public func value(at now: Date) -> Double? {
        let left = leftCounts(at: now)
        let total = entries.count - left.total
        guard total >= minEvents else { return nil }
        return Double(matchedCount - left.matched) / Double(total)
    }

    /// The next instant after `now` at which the value can change with no new event: when the oldest event in the
    /// window leaves it (`t + within + 1ms`). Nil when the window holds fewer than `minEvents` (the value stays
    /// nil as events leave).
    public func nextChange(after now: Date) -> Date? {
        let left = leftCounts(at: now).total
        guard entries.count - left >= minEvents else { return nil }
        return ConditionTime.date(Self.time(entries[left]) + withinMilliseconds + 1)
    }
}
