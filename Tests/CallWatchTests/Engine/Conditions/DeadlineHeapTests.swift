import CallWatchTestSupport
import Foundation
import Testing

@testable import CallWatch

/// The deadline heap: one deadline per key, earliest first with ties in schedule order, and a tick that looks only
/// at what is due.
@Suite struct DeadlineHeapTests {
    static func at(_ seconds: Double) -> Date { ConditionTestTime.at(seconds) }

    @Test func popsDueKeysEarliestFirstWithTiesInScheduleOrder() {
        var heap = DeadlineHeap<String>()
        heap.schedule("c", at: Self.at(30))
        heap.schedule("a", at: Self.at(10))
        heap.schedule("b", at: Self.at(10))
        heap.schedule("d", at: Self.at(40))
        #expect(heap.nextDeadline == Self.at(10))
        #expect(heap.popDue(at: Self.at(9.999)) == [])
        #expect(heap.popDue(at: Self.at(30)) == ["a", "b", "c"])
        #expect(heap.count == 1)
        #expect(heap.nextDeadline == Self.at(40))
    }

    @Test func schedulingAgainReplacesTheDeadline() {
        var heap = DeadlineHeap<String>()
        heap.schedule("a", at: Self.at(10))
        heap.schedule("b", at: Self.at(20))
        heap.schedule("a", at: Self.at(30))
        #expect(heap.count == 2)
        #expect(heap.deadline(for: "a") == Self.at(30))
        #expect(heap.popDue(at: Self.at(25)) == ["b"])
        heap.schedule("a", at: Self.at(5))
        #expect(heap.popDue(at: Self.at(25)) == ["a"])
        #expect(heap.isEmpty)
    }

    @Test func cancelRemovesTheKey() {
        var heap = DeadlineHeap<Int>()
        for key in 0..<10 { heap.schedule(key, at: Self.at(Double(key))) }
        let cancelled = heap.cancel(3)
        let cancelledAgain = heap.cancel(3)
        #expect(cancelled && !cancelledAgain)
        #expect(heap.deadline(for: 3) == nil)
        let due = heap.popDue(at: Self.at(5))
        #expect(due == [0, 1, 2, 4, 5])
    }

    /// Seeded random schedules, cancels and ticks (in milliseconds) against a plain dictionary of deadlines.
    @Test func agreesWithADictionary() {
        var generator = SeededGenerator(seed: 7)
        var heap = DeadlineHeap<Int>()
        var reference: [Int: Int64] = [:]
        var now: Int64 = 0
        func at(_ milliseconds: Int64) -> Date { Self.at(Double(milliseconds) / 1000) }
        for _ in 0..<20_000 {
            let key = Int.random(in: 0..<500, using: &generator)
            switch Int.random(in: 0..<10, using: &generator) {
            case 0..<6:
                let deadline = now + Int64.random(in: 0...50_000, using: &generator)
                heap.schedule(key, at: at(deadline))
                reference[key] = deadline
            case 6:
                let cancelled = heap.cancel(key)
                #expect(cancelled == (reference.removeValue(forKey: key) != nil))
            default:
                now += Int64.random(in: 0...10_000, using: &generator)
                let due = heap.popDue(at: at(now))
                let expected = reference.filter { $0.value <= now }
                #expect(Set(due) == Set(expected.keys))
                #expect(due.count == expected.count)
                #expect(zip(due, due.dropFirst()).allSatisfy { reference[$0]! <= reference[$1]! })
                for key in due { reference[key] = nil }
            }
            #expect(heap.count == reference.count)
        }
        #expect(heap.nextDeadline == reference.values.min().map(at))
    }

    /// A million idle keys behind 100 due ones: the tick looks at the 100 and at the first key not due, nothing more.
    @Test func aTickVisitsOnlyTheDueKeys() {
        var generator = SeededGenerator(seed: 1_000_000)
        var heap = DeadlineHeap<Int>()
        let dueKeys = Set((0..<100).map { $0 * 10_000 + 17 })
        for key in 0..<1_000_000 {
            let deadline =
                dueKeys.contains(key)
                ? Double(key % 1000) / 1000 : 3600 + Double(Int.random(in: 0..<86_400_000, using: &generator)) / 1000
            heap.schedule(key, at: Self.at(deadline))
        }
        let before = heap.visited
        let due = heap.popDue(at: Self.at(60))
        #expect(Set(due) == dueKeys)
        #expect(due.count == 100)
        #expect(heap.visited - before == 101)
        #expect(heap.count == 999_900)
        #expect(heap.popDue(at: Self.at(60)) == [])
        #expect(heap.visited - before == 102)
    }
}
