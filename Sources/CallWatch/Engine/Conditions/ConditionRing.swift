/// A FIFO ring of plain values in one contiguous buffer: appends and removals at both ends are O(1) amortised and,
/// once the buffer has grown to the window's size, allocate nothing. The buffer is released when the ring empties
/// and shrinks when it is mostly unused, so an idle key keeps little memory.
struct ConditionRing<Element> {
    private var storage: ContiguousArray<Element> = []
    private var head = 0
    private(set) var count = 0

    var isEmpty: Bool { count == 0 }

    /// Heap bytes held: the array header (32 bytes on 64-bit) plus its capacity; 0 with no buffer.
    var heapBytes: Int {
        storage.capacity == 0 ? 0 : 32 + storage.capacity * MemoryLayout<Element>.stride
    }

    @inline(__always)
    private func slot(_ position: Int) -> Int {
        let index = head + position
        return index < storage.count ? index : index - storage.count
    }

    /// The element `position` places from the oldest.
    subscript(position: Int) -> Element {
        get { storage[slot(position)] }
        set { storage[slot(position)] = newValue }
    }

    var first: Element? { count == 0 ? nil : storage[head] }
    var last: Element? { count == 0 ? nil : storage[slot(count - 1)] }

    mutating func append(_ element: Element) {
        if count < storage.count {
            storage[slot(count)] = element
        } else if head == 0 {
            storage.append(element)
        } else {
            relayout(capacity: Swift.max(8, count * 2))
            storage.append(element)
        }
        count += 1
    }

    @discardableResult
    mutating func removeFirst() -> Element {
        let element = storage[head]
        head = head + 1 == storage.count ? 0 : head + 1
        count -= 1
        compactIfSparse()
        return element
    }

    @discardableResult
    mutating func removeLast() -> Element {
        let element = storage[slot(count - 1)]
        count -= 1
        compactIfSparse()
        return element
    }

    mutating func removeAll() {
        storage = []
        head = 0
        count = 0
    }

    /// Releases a buffer the ring no longer needs: all of it when empty (unless small), half when under a quarter
    /// used.
    private mutating func compactIfSparse() {
        if count == 0 {
            head = 0
            if storage.capacity > 16 { storage = [] }
        } else if storage.capacity > 32, count * 4 < storage.capacity {
            relayout(capacity: count * 2)
        }
    }

    /// Copies the live elements, oldest first, into a new buffer of `capacity`.
    private mutating func relayout(capacity: Int) {
        var fresh = ContiguousArray<Element>()
        fresh.reserveCapacity(capacity)
        for position in 0..<count { fresh.append(storage[slot(position)]) }
        storage = fresh
        head = 0
    }
}

extension ConditionRing: Sendable where Element: Sendable {}
