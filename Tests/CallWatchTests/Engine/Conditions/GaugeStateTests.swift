import Foundation
import Testing

@testable import CallWatch

/// The gauge: distinct open ids, closes with no open, and the age limit at its exact instant.
@Suite struct GaugeStateTests {
    static func at(_ seconds: Double) -> Date { ConditionTestTime.at(seconds) }

    @Test func aCloseWithNoOpenChangesNothing() {
        var gauge = GaugeState()
        let strayClose = gauge.close(id: "c1")
        #expect(!strayClose)
        #expect(gauge.value(at: Self.at(0)) == 0)
        let opened = gauge.open(id: "c1", at: Self.at(1))
        #expect(opened)
        #expect(gauge.value(at: Self.at(1)) == 1)
        let closed = gauge.close(id: "c1")
        let closedAgain = gauge.close(id: "c1")
        #expect(closed && !closedAgain)
        #expect(gauge.value(at: Self.at(2)) == 0)
    }

    @Test func anIdOpensOnce() {
        var gauge = GaugeState()
        let first = gauge.open(id: "c1", at: Self.at(0))
        let again = gauge.open(id: "c1", at: Self.at(10))
        let other = gauge.open(id: "c2", at: Self.at(10))
        #expect(first && !again && other)
        #expect(gauge.count == 2)
        // c1 keeps its first open time.
        #expect(gauge.nextChange(after: Self.at(10)) == Self.at(14_400.001))
    }

    /// Opened at 0 with the default `max_age` of 4h: counted at 4h, dropped at 4h + 1ms.
    @Test(arguments: [(14_400.0, 1.0), (14_400.001, 0)])
    func maxAgeDropsAnIdJustAfterIt(probe: Double, expected: Double) {
        var gauge = GaugeState()
        gauge.open(id: "c1", at: Self.at(0))
        #expect(gauge.value(at: Self.at(probe)) == expected)
        gauge.expire(at: Self.at(probe))
        #expect(gauge.count == Int(expected))
        #expect(gauge.value(at: Self.at(probe)) == expected)
    }

    @Test func nextChangeIsTheOldestOpenPlusMaxAge() {
        var gauge = GaugeState(maxAge: .seconds(60))
        #expect(gauge.nextChange(after: Self.at(0)) == nil)
        gauge.open(id: "a", at: Self.at(0))
        gauge.open(id: "b", at: Self.at(10))
        #expect(gauge.nextChange(after: Self.at(10)) == Self.at(60.001))
        gauge.close(id: "a")
        #expect(gauge.nextChange(after: Self.at(10)) == Self.at(70.001))
        #expect(gauge.nextChange(after: Self.at(70.001)) == nil)
    }

    /// Closed and opened again: the id's age starts again, and its first opening no longer counts.
    @Test(arguments: [0.0, 30])
    func aReopenedIdAgesFromItsNewOpening(reopenAt: Double) {
        var gauge = GaugeState(maxAge: .seconds(60))
        gauge.open(id: "a", at: Self.at(0))
        gauge.close(id: "a")
        gauge.open(id: "a", at: Self.at(reopenAt))
        #expect(gauge.value(at: Self.at(reopenAt + 60)) == 1)
        #expect(gauge.value(at: Self.at(reopenAt + 60.001)) == 0)
        gauge.expire(at: Self.at(60.001))
        #expect(gauge.count == (reopenAt > 0 ? 1 : 0))
    }

    @Test func closedOpeningsDoNotPileUp() {
        var gauge = GaugeState()
        gauge.open(id: "long", at: Self.at(0))
        for call in 0..<10_000 {
            gauge.open(id: "c\(call)", at: Self.at(Double(call)))
            gauge.close(id: "c\(call)")
        }
        #expect(gauge.count == 1)
        #expect(gauge.queuedCount <= 2 * gauge.count + 16)
        #expect(gauge.nextChange(after: Self.at(10_000)) == Self.at(14_400.001))
    }
}
