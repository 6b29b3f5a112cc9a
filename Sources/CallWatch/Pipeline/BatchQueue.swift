import Foundation

/// Many producers, one consumer thread that takes everything waiting at once: what makes group commit work.
/// The consumer blocks in `next()`, so it belongs on a thread of its own (the pipeline's writer), never on Swift's
/// cooperative pool.
final class BatchQueue<Item: Sendable>: @unchecked Sendable {
    // Guarded by `condition`.
    private var items: [Item] = []
    private var finished = false
    private var consumerWaiting = false
    private let condition = NSCondition()

    /// False once the queue is finished.
    @discardableResult
    func append(_ item: Item) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !finished else { return false }
        items.append(item)
        if consumerWaiting { condition.signal() }
        return true
    }

    /// Everything waiting, or (if nothing is) the next item to arrive, blocking until it does; nil once finished
    /// and drained.
    func next() -> [Item]? {
        condition.lock()
        defer { condition.unlock() }
        while items.isEmpty && !finished {
            consumerWaiting = true
            condition.wait()
            consumerWaiting = false
        }
        guard !items.isEmpty else { return nil }
        var batch: [Item] = []
        batch.reserveCapacity(items.count)
        swap(&batch, &items)
        return batch
    }

    func finish() {
        condition.lock()
        defer { condition.unlock() }
        finished = true
        condition.signal()
    }
}
