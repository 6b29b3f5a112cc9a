import Foundation
import Testing

@testable import CallWatch

/// Absence: holding at exactly `for`, per key and for the single key watched from the start, and forgetting.
@Suite struct AbsenceTrackerTests {
    static func at(_ seconds: Double) -> Date { ConditionTestTime.at(seconds) }

    /// Seen at 100 with `for: 10m`: holds from 700 on, that instant included.
    @Test(arguments: [(699.999, false, 599.999), (700, true, 600), (1000, true, 900)])
    func holdsAtExactlyForAfterTheLastEvent(probe: Double, holds: Bool, seconds: Double) {
        var absence = AbsenceTracker(for: .seconds(600), since: Self.at(0))
        absence.seen(at: Self.at(100))
        #expect(absence.holds(at: Self.at(probe)) == holds)
        #expect(absence.value(at: Self.at(probe)) == seconds)
    }

    @Test func nextChangeIsLastSeenPlusFor() {
        var absence = AbsenceTracker(for: .seconds(600), since: Self.at(0))
        absence.seen(at: Self.at(100))
        #expect(absence.nextChange(after: Self.at(100)) == Self.at(700))
        #expect(absence.nextChange(after: Self.at(699.999)) == Self.at(700))
        #expect(absence.nextChange(after: Self.at(700)) == nil)
        absence.seen(at: Self.at(800))
        #expect(!absence.holds(at: Self.at(800)))
        #expect(absence.nextChange(after: Self.at(800)) == Self.at(1400))
    }

    @Test func theSingleKeyCountsFromTheStart() {
        let absence = AbsenceTracker(for: .seconds(600), since: Self.at(0))
        #expect(absence.value(at: Self.at(0)) == 0)
        #expect(!absence.holds(at: Self.at(599.999)))
        #expect(absence.holds(at: Self.at(600)))
        #expect(absence.nextChange(after: Self.at(0)) == Self.at(600))
    }

    @Test func eachKeyHasItsOwnClock() {
        var keys: [String: AbsenceTracker] = [:]
        for (second, key) in [(0.0, "62"), (300.0, "65"), (400.0, "62")] {
            keys[key, default: AbsenceTracker(for: .seconds(600), since: Self.at(second))].seen(at: Self.at(second))
        }
        #expect(keys["62"]!.holds(at: Self.at(1000)))
        #expect(!keys["62"]!.holds(at: Self.at(999.999)))
        #expect(keys["65"]!.holds(at: Self.at(900)))
        #expect(keys["65"]!.value(at: Self.at(1000)) == 700)
    }

    @Test func anOlderEventChangesNothing() {
        var absence = AbsenceTracker(for: .seconds(60), since: Self.at(0))
        absence.seen(at: Self.at(50))
        absence.seen(at: Self.at(20))
        #expect(absence.lastSeen == Self.at(50))
        #expect(absence.value(at: Self.at(10)) == 0)
    }

    /// Last seen at 100, `forget: 1h`. Forgotten once absent longer than `forget` since the later of the last
    /// event and the resolution; never while firing.
    @Test(arguments: [
        (false, nil as Double?, 3700.0, false), (false, nil, 3700.001, true),
        (true, nil, 100_000, false),
        (true, 500, 4100, false), (true, 500, 4100.001, true),
        (true, 50, 3700.001, true),
    ])
    func forgetting(everFired: Bool, resolvedAt: Double?, probe: Double, forgettable: Bool) {
        var absence = AbsenceTracker(for: .seconds(60), forget: .seconds(3600), since: Self.at(0))
        absence.seen(at: Self.at(100))
        let resolved = resolvedAt.map(Self.at)
        #expect(absence.isForgettable(at: Self.at(probe), everFired: everFired, resolvedAt: resolved) == forgettable)
        if everFired, resolvedAt == nil {
            #expect(absence.forgetsAt(everFired: everFired, resolvedAt: resolved) == nil)
        }
    }

    @Test func forgetDefaultsToADay() {
        let absence = AbsenceTracker(for: .seconds(60), since: Self.at(0))
        #expect(absence.forgetsAt(everFired: false, resolvedAt: nil) == Self.at(86_400.001))
    }
}
