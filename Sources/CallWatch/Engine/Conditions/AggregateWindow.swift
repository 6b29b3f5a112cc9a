import Foundation

/// One key's `aggregate` measure: a function of the numeric values in a sliding `within`. A value type with no
/// I/O: the caller passes the time. The window edge is `RatioWindow`'s: a value at `t` is inside while
/// `t >= now - within` (millisecond resolution) and leaves at `t + within + 1ms`.
///
/// Each function keeps only what it needs, all in rings that allocate only while they grow:
/// - `count`: each event's time (8 bytes an event); O(1) a step.
/// - `sum`, `avg`: each value with its time and a running sum, recomputed exactly once the removals since the last
///   recomputation outnumber the values (so rounding cannot accumulate); O(1) amortised.
/// - `min`, `max`: each value's time (for the count) and a monotonic deque of the values that can still be the
///   extreme; O(1) amortised.
/// - `p50`…`p99`: each value with its time and the values in ascending order (binary search, then insert or
///   remove by moving the tail): O(log n + n) a step with a small constant, fine for windows of thousands.
///   Nearest rank: the value at 1-based rank `ceil(p/100 × n)` in ascending order.
public struct AggregateWindow: Sendable {
    public typealias Function = AggregateFunction

    struct Sample: Sendable {
        var time: Int64
        var value: Double
    }

    public let function: Function
    /// Below this many values in the window there is no value (not used by `count`).
    public let minEvents: Int
    private let withinMilliseconds: Int64
    /// `count`, `min`, `max`: the time of each event counted.
    private var times = ConditionRing<Int64>()
    /// `sum`, `avg`, percentiles: each value counted, oldest first.
    private var samples = ConditionRing<Sample>()
    /// `min`, `max`: the values that can still be the extreme of a later window, oldest first; each is strictly
    /// more extreme than every older one kept (a newer equal or more extreme value retires the older ones).
    private var extremes = ConditionRing<Sample>()
    /// Percentiles: the window's values, ascending.
    private var sorted: ContiguousArray<Double> = []
    private var sum = 0.0
    private var removalsSinceExactSum = 0
    private var newestTime = Int64.min

    public init(function: Function, within: Duration, minEvents: Int = 1) {
        self.function = function
        self.minEvents = function == .count ? 0 : Swift.max(1, minEvents)
        self.withinMilliseconds = ConditionTime.milliseconds(within)
    }

    public var within: Duration { .milliseconds(withinMilliseconds) }

    /// Values (for `count`: events) in the window as of the last `add` or `expire`.
    public var count: Int {
        switch function {
        case .count, .min, .max: times.count
        default: samples.count
        }
    }

    /// Heap bytes held by the window.
    var heapBytes: Int {
        times.heapBytes + samples.heapBytes + extremes.heapBytes
            + (sorted.capacity == 0 ? 0 : 32 + sorted.capacity * MemoryLayout<Double>.stride)
    }

    /// Counts an event matching `when`. `value` is its field's number: `count` ignores it, the other functions
    /// skip an event without one (nil) or with one that is not finite. Drops what left the window first. Times
    /// never go backwards: an event older than the newest entry is counted at the newest's time.
    public mutating func add(_ value: Double?, at now: Date) {
        expire(at: now)
        let time = Swift.max(ConditionTime.milliseconds(now), newestTime)
        if function == .count {
            times.append(time)
            newestTime = time
            return
        }
        guard let value, value.isFinite else { return }
        newestTime = time
        let sample = Sample(time: time, value: value + 0.0)  // -0 counts as 0
        switch function {
        case .count:
            break
        case .sum, .avg:
            samples.append(sample)
            sum += sample.value
        case .min, .max:
            times.append(time)
            let isMin = function == .min
            while let last = extremes.last, isMin ? last.value >= sample.value : last.value <= sample.value {
                extremes.removeLast()
            }
            extremes.append(sample)
        case .p50, .p90, .p95, .p99:
            samples.append(sample)
            sorted.insert(sample.value, at: Self.upperBound(sorted, sample.value))
        }
    }

    /// Drops the values outside the window at `now`.
    public mutating func expire(at now: Date) {
        let cutoff = ConditionTime.milliseconds(now) - withinMilliseconds
        switch function {
        case .count:
            while let first = times.first, first < cutoff { times.removeFirst() }
        case .sum, .avg:
            while let first = samples.first, first.time < cutoff {
                sum -= samples.removeFirst().value
                removalsSinceExactSum += 1
            }
            if samples.isEmpty {
                sum = 0
                removalsSinceExactSum = 0
            } else if removalsSinceExactSum > samples.count {
                sum = 0
                for position in 0..<samples.count { sum += samples[position].value }
                removalsSinceExactSum = 0
            }
        case .min, .max:
            while let first = times.first, first < cutoff { times.removeFirst() }
            while let first = extremes.first, first.time < cutoff { extremes.removeFirst() }
        case .p50, .p90, .p95, .p99:
            while let first = samples.first, first.time < cutoff {
                sorted.remove(at: Self.lowerBound(sorted, samples.removeFirst().value))
            }
            if sorted.isEmpty, sorted.capacity > 16 { sorted = [] }
        }
    }

    /// The function over the window at `now`; nil while it holds fewer than `minEvents` values (`count` is never
    /// nil: an empty window counts 0). O(1) once expired up to `now`; otherwise the entries that have left are
    /// skipped as it reads.
    public func value(at now: Date) -> Double? {
        let cutoff = ConditionTime.milliseconds(now) - withinMilliseconds
        switch function {
        case .count:
            return Double(times.count - Self.leftCount(times, cutoff))
        case .sum, .avg:
            let left = Self.leftCount(samples, cutoff)
            let live = samples.count - left
            guard live >= minEvents else { return nil }
            var total = sum
            for position in 0..<left { total -= samples[position].value }
            return function == .sum ? total : total / Double(live)
        case .min, .max:
            guard times.count - Self.leftCount(times, cutoff) >= minEvents else { return nil }
            // The newest value is always in the deque, so a non-empty window has a live extreme.
            return extremes[Self.leftCount(extremes, cutoff)].value
        case .p50, .p90, .p95, .p99:
            let left = Self.leftCount(samples, cutoff)
            let live = samples.count - left
            guard live >= minEvents, let percentile = function.percentile else { return nil }
            let rank = (percentile * live + 99) / 100
            return left == 0 ? sorted[rank - 1] : value(ofRank: rank, leaving: left)
        }
    }

    /// The value of 1-based `rank` among the values once the oldest `left` samples are removed, without removing
    /// them: the smallest kept value with at least `rank` kept values at or below it (binary search over `sorted`).
    private func value(ofRank rank: Int, leaving left: Int) -> Double {
        func keptAtOrBelow(_ value: Double) -> Int {
            var gone = 0
            for position in 0..<left where samples[position].value <= value { gone += 1 }
            return Self.upperBound(sorted, value) - gone
        }
        var low = 0
        var high = sorted.count - 1
        while low < high {
            let middle = (low + high) / 2
            if keptAtOrBelow(sorted[middle]) >= rank { high = middle } else { low = middle + 1 }
        }
        return sorted[low]
    }

    /// The next instant after `now` at which the value can change with no new event: when the oldest value leaves
    /// (`t + within + 1ms`), or for `min`/`max` the earlier of the current extreme leaving and the count falling
    /// below `minEvents`. Nil when nothing in the window can change the value (empty, or too few values).
    public func nextChange(after now: Date) -> Date? {
        let cutoff = ConditionTime.milliseconds(now) - withinMilliseconds
        let leaving: Int64
        switch function {
        case .count:
            let left = Self.leftCount(times, cutoff)
            guard left < times.count else { return nil }
            leaving = times[left]
        case .sum, .avg, .p50, .p90, .p95, .p99:
            let left = Self.leftCount(samples, cutoff)
            guard samples.count - left >= minEvents else { return nil }
            leaving = samples[left].time
        case .min, .max:
            let left = Self.leftCount(times, cutoff)
            let live = times.count - left
            guard live >= minEvents else { return nil }
            let tooFew = times[left + live - minEvents]
            leaving = Swift.min(tooFew, extremes[Self.leftCount(extremes, cutoff)].time)
        }
        return ConditionTime.date(leaving + withinMilliseconds + 1)
    }

    private static func leftCount(_ ring: ConditionRing<Int64>, _ cutoff: Int64) -> Int {
        var left = 0
        while left < ring.count, ring[left] < cutoff { left += 1 }
        return left
    }

    private static func leftCount(_ ring: ConditionRing<Sample>, _ cutoff: Int64) -> Int {
        var left = 0
        while left < ring.count, ring[left].time < cutoff { left += 1 }
        return left
    }

    /// The first index whose value is not below `value`.
    private static func lowerBound(_ values: ContiguousArray<Double>, _ value: Double) -> Int {
        firstIndex(in: values) { $0 >= value }
    }

    /// The first index whose value is above `value`.
    private static func upperBound(_ values: ContiguousArray<Double>, _ value: Double) -> Int {
        firstIndex(in: values) { $0 > value }
    }

    /// Binary search in sorted `values` for the first index where `isPast` holds (false before it, true from it).
    private static func firstIndex(in values: ContiguousArray<Double>, where isPast: (Double) -> Bool) -> Int {
        var low = 0
        var high = values.count
        while low < high {
            let middle = (low + high) / 2
            if isPast(values[middle]) { high = middle } else { low = middle + 1 }
        }
        return low
    }
}
