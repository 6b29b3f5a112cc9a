import CallWatchTestSupport
import Foundation
import Testing

@testable import CallWatch

/// The ratio window: its edge at the exact millisecond, `min_events`, and what one key costs in memory.
@Suite struct RatioWindowTests {
    static func at(_ seconds: Double) -> Date { ConditionTestTime.at(seconds) }

    /// A 60s window holding a match at 0 and a miss at 10: the match is inside through 60 and gone at 60.001.
    @Test(arguments: [
        (59.0, 0.5), (60.0, 0.5), (60.000_4, 0.5), (60.001, 0.0), (70.0, 0.0),
    ])
    func edgeIsInsideThenLeavesOneMillisecondLater(probe: Double, expected: Double) {
        var window = RatioWindow(within: .seconds(60))
        window.add(at: Self.at(0), matchesOf: true)
        window.add(at: Self.at(10), matchesOf: false)
        #expect(window.value(at: Self.at(probe)) == expected)
        window.expire(at: Self.at(probe))
        #expect(window.value(at: Self.at(probe)) == expected)
        #expect(window.count == (probe < 60.001 ? 2 : 1))
    }

    /// An instant off the millisecond grid counts as the nearest millisecond.
    @Test(arguments: [(60.000_4, 0.5), (60.000_6, 0.0)])
    func instantsRoundToTheNearestMillisecond(offset: Double, expected: Double) {
        let origin = Date(timeIntervalSince1970: 1_795_514_400)
        var window = RatioWindow(within: .seconds(60))
        window.add(at: origin, matchesOf: true)
        window.add(at: origin.addingTimeInterval(10), matchesOf: false)
        #expect(window.value(at: origin.addingTimeInterval(offset)) == expected)
    }

    @Test func valueHasNoValueOnceTheWindowIsEmpty() {
        var window = RatioWindow(within: .seconds(60))
        window.add(at: Self.at(0), matchesOf: true)
        #expect(window.value(at: Self.at(60)) == 1)
        #expect(window.value(at: Self.at(60.001)) == nil)
        window.expire(at: Self.at(60.001))
        #expect(window.count == 0)
        #expect(window.matchedCount == 0)
    }

    @Test func nextChangeIsWhenTheOldestEntryLeaves() {
        var window = RatioWindow(within: .seconds(60))
        #expect(window.nextChange(after: Self.at(0)) == nil)
        window.add(at: Self.at(0), matchesOf: true)
        window.add(at: Self.at(10), matchesOf: false)
        #expect(window.nextChange(after: Self.at(10)) == Self.at(60.001))
        // Read past the first edge without expiring: the next change is the second entry's.
        #expect(window.nextChange(after: Self.at(60.001)) == Self.at(70.001))
        #expect(window.nextChange(after: Self.at(70.001)) == nil)
    }

    @Test func minEventsWithholdsTheValue() {
        var window = RatioWindow(within: .seconds(60), minEvents: 3)
        window.add(at: Self.at(0), matchesOf: true)
        window.add(at: Self.at(1), matchesOf: false)
        #expect(window.value(at: Self.at(1)) == nil)
        // Below min_events nothing that leaves can change the value.
        #expect(window.nextChange(after: Self.at(1)) == nil)
        window.add(at: Self.at(2), matchesOf: false)
        #expect(window.value(at: Self.at(2)) == 1.0 / 3.0)
        #expect(window.nextChange(after: Self.at(2)) == Self.at(60.001))
        #expect(window.value(at: Self.at(60.001)) == nil)
    }

    @Test func anOlderEventCountsAtTheNewestTime() {
        var window = RatioWindow(within: .seconds(60))
        window.add(at: Self.at(30), matchesOf: false)
        window.add(at: Self.at(5), matchesOf: true)
        #expect(window.value(at: Self.at(90)) == 0.5)
        #expect(window.value(at: Self.at(90.001)) == nil)
    }

    /// Agrees with counting the events kept in full, over seeded random traffic.
    @Test func agreesWithAFullList() {
        var generator = SeededGenerator(seed: 41)
        var window = RatioWindow(within: .seconds(30), minEvents: 2)
        var kept: [(time: Double, matched: Bool)] = []
        var now = 0.0
        for _ in 0..<3000 {
            now += Double(Int.random(in: 0...3000, using: &generator)) / 1000
            let matched = Bool.random(using: &generator)
            window.add(at: Self.at(now), matchesOf: matched)
            kept.append((now, matched))
            let probe = now + Double(Int.random(in: 0...40_000, using: &generator)) / 1000
            let inside = kept.filter { ($0.time * 1000).rounded() >= (probe * 1000).rounded() - 30_000 }
            let expected = inside.count < 2 ? nil : Double(inside.count { $0.matched }) / Double(inside.count)
            #expect(window.value(at: Self.at(probe)) == expected)
        }
    }

    /// One idle key with a handful of events: its inline size plus its ring's buffer (array header and capacity).
    @Test func aKeyWithAHandfulOfEventsTakesUnder200Bytes() {
        var window = RatioWindow(within: .seconds(900), minEvents: 20)
        for second in 0..<5 { window.add(at: Self.at(Double(second)), matchesOf: second % 2 == 0) }
        let bytes = MemoryLayout<RatioWindow>.size + window.heapBytes
        print("RatioWindow with 5 events: \(MemoryLayout<RatioWindow>.size) inline + \(window.heapBytes) heap bytes")
        #expect(bytes < 200)
    }

    @Test func anEmptiedWindowReleasesALargeBuffer() {
        var window = RatioWindow(within: .seconds(60))
        for step in 0..<1000 { window.add(at: Self.at(Double(step) / 100), matchesOf: true) }
        #expect(window.heapBytes > 1000 * 8)
        window.expire(at: Self.at(100))
        #expect(window.count == 0)
        #expect(window.heapBytes == 0)
    }
}
