import Foundation

/// The keys waiting for time to pass, by deadline: a 4-ary min-heap with at most one deadline per key, so
/// scheduling replaces a key's deadline in place and cancelling removes it (no stale entries). `popDue` looks only
/// at the due entries (O(log n) each), so a tick costs nothing for the millions of idle keys behind them.
/// Deadlines are kept in whole milliseconds, as the conditions keep time; keys due in the same millisecond come out
/// in the order they were scheduled, so replay and live serving take them in the same order.
///
/// Each key gets a small integer handle when first scheduled (reused once it leaves): heap entries carry the
/// handle, and the key and heap slot of each handle are in two arrays. Moving an entry while sifting is then two
/// array writes, not a hash of the key; only `schedule`, `cancel` and each popped key hash it once. Four children
/// per node halve the levels a sift walks (their entries share one or two cache lines).
public struct DeadlineHeap<Key: Hashable> {
    struct Entry {
        var deadline: Int64
        /// Schedule order, breaking ties between equal deadlines.
        var sequence: UInt64
        var handle: Int32
    }

    private static var arity: Int { 4 }

    private var heap: [Entry] = []
    private var handles: [Key: Int32] = [:]
    /// By handle: the key, nil while the handle is free.
    private var keys: [Key?] = []
    /// By handle: the key's slot in `heap`.
    private var positions: [Int32] = []
    private var freeHandles: [Int32] = []
    private var nextSequence: UInt64 = 0
    /// Entries `popDue` has looked at, in all: each due one and the first not-due root per call.
    private(set) var visited = 0

    public init() {}

    public var count: Int { heap.count }
    public var isEmpty: Bool { heap.isEmpty }

    /// The earliest deadline.
    public var nextDeadline: Date? { heap.first.map { ConditionTime.date($0.deadline) } }

    public func deadline(for key: Key) -> Date? {
        handles[key].map { ConditionTime.date(heap[Int(positions[Int($0)])].deadline) }
    }

    /// Sets `key`'s deadline, replacing the one it had.
    public mutating func schedule(_ key: Key, at deadline: Date) {
        let milliseconds = ConditionTime.milliseconds(deadline)
        let sequence = nextSequence
        nextSequence &+= 1
        if let handle = handles[key] {
            let slot = Int(positions[Int(handle)])
            let entry = Entry(deadline: milliseconds, sequence: sequence, handle: handle)
            if Self.precedes(entry, heap[slot]) { siftUp(entry, from: slot) } else { siftDown(entry, from: slot) }
        } else {
            let handle: Int32
            if let free = freeHandles.popLast() {
                handle = free
                keys[Int(handle)] = key
            } else {
                handle = Int32(keys.count)
                keys.append(key)
                positions.append(0)
            }
            handles[key] = handle
            let entry = Entry(deadline: milliseconds, sequence: sequence, handle: handle)
            heap.append(entry)
            siftUp(entry, from: heap.count - 1)
        }
    }

    /// Removes `key`'s deadline; returns whether it had one.
    @discardableResult
    public mutating func cancel(_ key: Key) -> Bool {
        guard let handle = handles.removeValue(forKey: key) else { return false }
        remove(at: Int(positions[Int(handle)]))
        return true
    }

    /// Removes and returns the keys whose deadline is at or before `now`, earliest first.
    public mutating func popDue(at now: Date) -> [Key] {
        let now = ConditionTime.milliseconds(now)
        var due: [Key] = []
        while let root = heap.first {
            visited += 1
            guard root.deadline <= now else { break }
            let key = keys[Int(root.handle)]!
            handles[key] = nil
            due.append(key)
            remove(at: 0)
        }
        return due
    }

    private static func precedes(_ a: Entry, _ b: Entry) -> Bool {
        a.deadline < b.deadline || (a.deadline == b.deadline && a.sequence < b.sequence)
    }

    /// Removes the entry at `slot` and frees its handle (the caller has taken the key out of `handles`).
    private mutating func remove(at slot: Int) {
        let removed = heap[slot]
        keys[Int(removed.handle)] = nil
        freeHandles.append(removed.handle)
        let last = heap.removeLast()
        if slot < heap.count {
            if Self.precedes(last, removed) { siftUp(last, from: slot) } else { siftDown(last, from: slot) }
        }
        if heap.isEmpty, keys.capacity > 64 {
            // Every key has left: give the handle tables back (small ones are kept, so a rule whose one key is
            // scheduled and popped over and over allocates nothing).
            keys = []
            positions = []
            freeHandles = []
        }
    }

    @inline(__always)
    private mutating func place(_ entry: Entry, at slot: Int) {
        heap[slot] = entry
        positions[Int(entry.handle)] = Int32(slot)
    }

    /// Moves `entry` from `start` towards the root past every parent it precedes, shifting those down.
    private mutating func siftUp(_ entry: Entry, from start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / Self.arity
            guard Self.precedes(entry, heap[parent]) else { break }
            place(heap[parent], at: child)
            child = parent
        }
        place(entry, at: child)
    }

    /// Moves `entry` from `start` towards the leaves past every child that precedes it, shifting those up.
    private mutating func siftDown(_ entry: Entry, from start: Int) {
        var parent = start
        let count = heap.count
        while true {
            let first = Self.arity * parent + 1
            guard first < count else { break }
            var best = first
            var child = first + 1
            let end = Swift.min(first + Self.arity, count)
            while child < end {
                if Self.precedes(heap[child], heap[best]) { best = child }
                child += 1
            }
            guard Self.precedes(heap[best], entry) else { break }
            place(heap[best], at: parent)
            parent = best
        }
        place(entry, at: parent)
    }
}

extension DeadlineHeap: Sendable where Key: Sendable {}
extension DeadlineHeap.Entry: Sendable {}
