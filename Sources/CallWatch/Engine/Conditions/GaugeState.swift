import Foundation

/// One key's `gauge` measure: how many distinct ids are open. A value type with no I/O: the caller passes the
/// time. Millisecond resolution.
///
/// - An id opens once: opening an open id changes nothing (it keeps its first open time).
/// - A close with no open changes nothing.
/// - An id open longer than `maxAge` is dropped: opened at `t`, it still counts at `t + maxAge` and is gone at
///   `t + maxAge + 1ms` (`nextChange(after:)`).
///
/// Memory: the open ids, and a queue of their openings (time, id) in order for the age limit. Closed
/// ids leave the queue lazily; the queue is rebuilt once more than half of it is closed, so it stays within twice
/// the open count (plus a small slack). Each step is O(1) amortised.
public struct GaugeState: Sendable {
    struct Opening: Sendable {
        var time: Int64
        var serial: Int
        var id: String
    }

    public static let defaultMaxAge: Duration = .seconds(4 * 3600)

    private let maxAgeMilliseconds: Int64
    /// Open id → the serial number of its opening.
    private var openedAt: [String: Int] = [:]
    /// Openings, oldest first; one whose id has been closed (or closed and opened again) since is stale.
    private var openings = ConditionRing<Opening>()
    private var nextSerial = 0
    private var newestTime = Int64.min

    public init(maxAge: Duration = Self.defaultMaxAge) {
        self.maxAgeMilliseconds = ConditionTime.milliseconds(maxAge)
    }

    public var maxAge: Duration { .milliseconds(maxAgeMilliseconds) }

    /// Open ids as of the last change or `expire`.
    public var count: Int { openedAt.count }

    /// Openings in the age queue, stale ones included (bounded by about twice `count`).
    var queuedCount: Int { openings.count }

    public func isOpen(_ id: String) -> Bool { openedAt[id] != nil }

    /// Opens `id` at `now` unless it is open; returns whether the count changed. Drops what is too old first.
    /// Times never go backwards: an open older than the newest is recorded at the newest's time.
    @discardableResult
    public mutating func open(id: String, at now: Date) -> Bool {
        expire(at: now)
        guard openedAt[id] == nil else { return false }
        let time = Swift.max(ConditionTime.milliseconds(now), newestTime)
        newestTime = time
        openedAt[id] = nextSerial
        openings.append(Opening(time: time, serial: nextSerial, id: id))
        nextSerial += 1
        return true
    }

    /// Closes `id`; returns whether it was open.
    @discardableResult
    public mutating func close(id: String) -> Bool {
        guard openedAt.removeValue(forKey: id) != nil else { return false }
        if openings.count > 2 * openedAt.count + 16 { compact() }
        return true
    }

    /// Drops the ids open longer than `maxAge` at `now`.
    public mutating func expire(at now: Date) {
        let cutoff = ConditionTime.milliseconds(now) - maxAgeMilliseconds
        while let first = openings.first, first.time < cutoff {
            openings.removeFirst()
            if openedAt[first.id] == first.serial { openedAt[first.id] = nil }
        }
        dropStaleHead()
    }

    /// The open count at `now`, leaving out ids that have passed `maxAge` since the last `expire`.
    public func value(at now: Date) -> Double {
        let cutoff = ConditionTime.milliseconds(now) - maxAgeMilliseconds
        var tooOld = 0
        var position = 0
        while position < openings.count, openings[position].time < cutoff {
            if isLive(openings[position]) { tooOld += 1 }
            position += 1
        }
        return Double(openedAt.count - tooOld)
    }

    /// When the oldest open id passes `maxAge` (`t + maxAge + 1ms`), the next change with no new event; nil with
    /// nothing open.
    public func nextChange(after now: Date) -> Date? {
        let cutoff = ConditionTime.milliseconds(now) - maxAgeMilliseconds
        var position = 0
        while position < openings.count {
            let opening = openings[position]
            if opening.time >= cutoff, isLive(opening) {
                return ConditionTime.date(opening.time + maxAgeMilliseconds + 1)
            }
            position += 1
        }
        return nil
    }

    @inline(__always)
    private func isLive(_ opening: Opening) -> Bool { openedAt[opening.id] == opening.serial }

    /// Removes stale entries at the front of the queue, so its first entry is the oldest open id.
    private mutating func dropStaleHead() {
        while let first = openings.first, !isLive(first) { openings.removeFirst() }
    }

    /// Rebuilds the queue from its live entries, in order.
    private mutating func compact() {
        var live = ConditionRing<Opening>()
        for position in 0..<openings.count where isLive(openings[position]) {
            live.append(openings[position])
        }
        openings = live
    }
}
