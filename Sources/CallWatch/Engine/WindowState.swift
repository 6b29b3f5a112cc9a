import Foundation

/// A sliding count window for one key: fires when `count` matching events fall within `within`, then empties.
/// A value type with no I/O: the caller passes the time.
public struct WindowState: Sendable {
    public let count: Int
    public let within: Double
    public private(set) var entries: [(time: Date, event: CallEvent)] = []

    public init(count: Int, within: Duration) {
        self.count = count
        self.within = within.seconds
    }

    /// Adds a matching event; returns the events that complete the window, if they do.
    public mutating func append(_ event: CallEvent, at now: Date) -> [(time: Date, event: CallEvent)]? {
        expire(at: now)
        entries.append((now, event))
        if entries.count > count { entries.removeFirst(entries.count - count) }
        guard entries.count == count else { return nil }
        let fired = entries
        entries.removeAll()
        return fired
    }

    /// Adds an event that, as the journal shows, did not complete the window: at most `count - 1` are kept.
    /// Used when rebuilding state after a restart.
    public mutating func appendWithoutFiring(_ event: CallEvent, at now: Date) {
        expire(at: now)
        entries.append((now, event))
        if entries.count >= count { entries.removeFirst(entries.count - count + 1) }
    }

    /// Empties the window, as a fire does.
    public mutating func clear() {
        entries.removeAll()
    }

    /// Drops entries that can no longer be part of a window ending at `now` (the edge itself is inside).
    public mutating func expire(at now: Date) {
        let cutoff = now.timeIntervalSince1970 - within
        if let keep = entries.firstIndex(where: { $0.time.timeIntervalSince1970 >= cutoff }) {
            if keep > 0 { entries.removeFirst(keep) }
        } else {
            entries.removeAll()
        }
    }

    /// When the newest entry stops mattering.
    public var expiresAt: Date? { entries.last.map { $0.time.addingTimeInterval(within) } }
}
