import Foundation

/// The keys waiting for time to pass, by deadline: a binary min-heap with at most one deadline per key and an
/// index from key to heap slot, so scheduling replaces a key's deadline in place and cancelling removes it (no
/// stale entries). `popDue` looks only at the due entries (O(log n) each), so a tick costs nothing for the
/// millions of idle keys behind them. Deadlines are kept in whole milliseconds, as the conditions keep time; keys
/// due in the same millisecond come out in the order they were scheduled, so replay and live serving take them in
/// the same order.
public struct DeadlineHeap<Key: Hashable> {
    struct Entry {
        var deadline: Int64
        /// Schedule order, breaking ties between equal deadlines.
        var sequence: UInt64
        var key: Key
    }

    private var heap: [Entry] = []
    private var slots: [Key: Int] = [:]
    private var nextSequence: UInt64 = 0
    /// Entries `popDue` has looked at, in all: each due one and the first not-due root per call.
    private(set) var visited = 0

    public init() {}

    public var count: Int { heap.count }
    public var isEmpty: Bool { heap.isEmpty }

    /// The earliest deadline.
    public var nextDeadline: Date? { heap.first.map { ConditionTime.date($0.deadline) } }

    public func deadline(for key: Key) -> Date? { slots[key].map { ConditionTime.date(heap[$0].deadline) } }

    /// Sets `key`'s deadline, replacing the one it had.
    public mutating func schedule(_ key: Key, at deadline: Date) {
        let entry = Entry(deadline: ConditionTime.milliseconds(deadline), sequence: nextSequence, key: key)
        nextSequence &+= 1
        if let slot = slots[key] {
            let earlier = Self.precedes(entry, heap[slot])
            heap[slot] = entry
            if earlier { siftUp(slot) } else { siftDown(slot) }
        } else {
            heap.append(entry)
            slots[key] = heap.count - 1
            siftUp(heap.count - 1)
        }
    }

    /// Removes `key`'s deadline; returns whether it had one.
    @discardableResult
    public mutating func cancel(_ key: Key) -> Bool {
        guard let slot = slots[key] else { return false }
        remove(at: slot)
        return true
    }

    /// Removes and returns the keys whose deadline is at or before `now`, earliest first.
    public mutating func popDue(at now: Date) -> [Key] {
        let now = ConditionTime.milliseconds(now)
        var due: [Key] = []
        while let root = heap.first {
            visited += 1
            guard root.deadline <= now else { break }
            due.append(root.key)
            remove(at: 0)
        }
        return due
    }

    private static func precedes(_ a: Entry, _ b: Entry) -> Bool {
        a.deadline < b.deadline || (a.deadline == b.deadline && a.sequence < b.sequence)
    }

    private mutating func remove(at slot: Int) {
        let removed = heap[slot]
        slots[removed.key] = nil
        let last = heap.removeLast()
        guard slot < heap.count else { return }
        heap[slot] = last
        slots[last.key] = slot
        if Self.precedes(last, removed) { siftUp(slot) } else { siftDown(slot) }
    }

    private mutating func swapAt(_ i: Int, _ j: Int) {
        heap.swapAt(i, j)
        slots[heap[i].key] = i
        slots[heap[j].key] = j
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard Self.precedes(heap[child], heap[parent]) else { return }
            swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            guard left < heap.count else { return }
            let right = left + 1
            let child = right < heap.count && Self.precedes(heap[right], heap[left]) ? right : left
            guard Self.precedes(heap[child], heap[parent]) else { return }
            swapAt(parent, child)
            parent = child
        }
    }
}

extension DeadlineHeap: Sendable where Key: Sendable {}
extension DeadlineHeap.Entry: Sendable where Key: Sendable {}
