import CallWatchTestSupport
import Foundation
import Testing

@testable import CallWatch

/// The aggregate window: every function at its window edges, `min_events`, skipped values, and percentiles against
/// a sorted reference.
@Suite struct AggregateWindowTests {
    typealias Function = AggregateWindow.Function

    static func at(_ seconds: Double) -> Date { ConditionTestTime.at(seconds) }

    /// 10 at 0s, 20 at 30s, 5 at 45s in a 60s window.
    static func filled(_ function: Function, minEvents: Int = 1) -> AggregateWindow {
        var window = AggregateWindow(function: function, within: .seconds(60), minEvents: minEvents)
        window.add(10, at: at(0))
        window.add(20, at: at(30))
        window.add(5, at: at(45))
        return window
    }

    /// Expected values at 60 (all three inside), 60.001 (10 gone), 105 (only 5 left) and 105.001 (empty).
    static let edges: [(Function, [Double?])] = [
        (.count, [3, 2, 1, 0]),
        (.sum, [35, 25, 5, nil]),
        (.avg, [35.0 / 3.0, 12.5, 5, nil]),
        (.min, [5, 5, 5, nil]),
        (.max, [20, 20, 5, nil]),
        (.p50, [10, 5, 5, nil]),
        (.p90, [20, 20, 5, nil]),
        (.p95, [20, 20, 5, nil]),
        (.p99, [20, 20, 5, nil]),
    ]

    @Test(arguments: edges)
    func valuesAtTheWindowEdges(function: Function, expected: [Double?]) {
        let probes = [60, 60.001, 105, 105.001]
        var expiring = Self.filled(function)
        for (probe, value) in zip(probes, expected) {
            // Read without expiring (entries that left are skipped), then after expiring.
            #expect(Self.filled(function).value(at: Self.at(probe)) == value, "\(function) at \(probe)")
            expiring.expire(at: Self.at(probe))
            #expect(expiring.value(at: Self.at(probe)) == value, "\(function) at \(probe) after expire")
        }
        #expect(expiring.count == 0)
    }

    /// When the value next changes with no event: the oldest value leaving, except that min and max only change
    /// when their extreme leaves.
    @Test(arguments: [
        (Function.count, 60.001), (.sum, 60.001), (.avg, 60.001), (.p50, 60.001), (.min, 105.001), (.max, 90.001),
    ])
    func nextChangeIsTheNextEdgeThatMatters(function: Function, expected: Double) {
        #expect(Self.filled(function).nextChange(after: Self.at(45)) == Self.at(expected))
    }

    @Test func nextChangeOfMinAlsoWatchesMinEvents() {
        // min is 5 (at 45) but with min_events 3 the value is gone as soon as 10 (at 0) leaves.
        #expect(Self.filled(.min, minEvents: 3).nextChange(after: Self.at(45)) == Self.at(60.001))
        #expect(Self.filled(.min, minEvents: 3).value(at: Self.at(60.001)) == nil)
        #expect(Self.filled(.min, minEvents: 4).nextChange(after: Self.at(45)) == nil)
    }

    @Test(arguments: [Function.sum, .avg, .min, .max, .p50, .p99])
    func minEventsWithholdsTheValue(function: Function) {
        let window = Self.filled(function, minEvents: 3)
        #expect(window.value(at: Self.at(60)) != nil)
        #expect(window.value(at: Self.at(60.001)) == nil)
        #expect(Self.filled(function, minEvents: 4).value(at: Self.at(50)) == nil)
    }

    @Test func countIgnoresMinEventsAndValues() {
        var window = AggregateWindow(function: .count, within: .seconds(10), minEvents: 5)
        #expect(window.value(at: Self.at(0)) == 0)
        window.add(nil, at: Self.at(0))
        window.add(.nan, at: Self.at(1))
        #expect(window.value(at: Self.at(1)) == 2)
        #expect(window.nextChange(after: Self.at(1)) == Self.at(10.001))
    }

    @Test(arguments: [Function.sum, .avg, .min, .max, .p90])
    func eventsWithoutAFiniteValueAreNotCounted(function: Function) {
        var window = AggregateWindow(function: function, within: .seconds(10))
        window.add(nil, at: Self.at(0))
        window.add(.infinity, at: Self.at(0))
        window.add(.nan, at: Self.at(0))
        #expect(window.count == 0)
        #expect(window.value(at: Self.at(0)) == nil)
        window.add(7, at: Self.at(1))
        #expect(window.count == 1)
        #expect(window.value(at: Self.at(1)) == 7)
    }

    /// Every function, at each step of seeded random traffic (duplicates, negatives, bursts), against the values kept
    /// in full and sorted; read both at the event (after its add expired the window) and at a later instant
    /// without expiring.
    @Test(arguments: Function.allCases)
    func agreesWithASortedReference(function: Function) {
        var generator = SeededGenerator(seed: 0x5EED + UInt64(function.rawValue.utf8.count))
        var window = AggregateWindow(function: function, within: .seconds(20), minEvents: 3)
        var kept: [(time: Int64, value: Double)] = []
        var now: Int64 = 0
        func reference(at milliseconds: Int64) -> Double? {
            let values = kept.filter { $0.time >= milliseconds - 20_000 }.map(\.value).sorted()
            if function == .count { return Double(values.count) }
            guard values.count >= 3 else { return nil }
            switch function {
            case .count: return nil
            case .sum: return values.reduce(0, +)
            case .avg: return values.reduce(0, +) / Double(values.count)
            case .min: return values.first
            case .max: return values.last
            case .p50, .p90, .p95, .p99:
                let rank = (Double(function.percentile! * values.count) / 100).rounded(.up)
                return values[Int(rank) - 1]
            }
        }
        for _ in 0..<2500 {
            now += Int64.random(in: 0...(Bool.random(using: &generator) ? 50 : 900), using: &generator)
            let value = Double(Int.random(in: -50...200, using: &generator))
            window.add(value, at: Self.at(Double(now) / 1000))
            kept.append((now, value))
            #expect(window.value(at: Self.at(Double(now) / 1000)) == reference(at: now))
            let later = now + Int64.random(in: 0...25_000, using: &generator)
            #expect(window.value(at: Self.at(Double(later) / 1000)) == reference(at: later))
        }
        #expect(window.count == kept.count { $0.time >= now - 20_000 })
    }

    /// Nearest rank: ceil(p/100 × n), 1-based, over 1…n.
    @Test(arguments: [
        (Function.p50, 1, 1.0), (.p50, 2, 1), (.p50, 3, 2), (.p50, 10, 5), (.p90, 10, 9), (.p95, 10, 10),
        (.p99, 100, 99), (.p99, 101, 100), (.p95, 20, 19),
    ])
    func nearestRank(function: Function, count: Int, expected: Double) {
        var window = AggregateWindow(function: function, within: .seconds(60))
        for value in (1...count).reversed() { window.add(Double(value), at: Self.at(0)) }
        #expect(window.value(at: Self.at(0)) == expected)
    }
}
