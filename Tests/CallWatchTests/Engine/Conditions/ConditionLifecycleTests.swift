import Foundation
import Testing

@testable import CallWatch

/// The condition lifecycle as sequences of evaluations with the exact instants of each transition, plus the strict
/// bound and the alert id.
@Suite struct ConditionLifecycleTests {
    typealias Transition = ConditionLifecycle.Transition

    static func at(_ seconds: Double) -> Date { ConditionTestTime.at(seconds) }

    struct Step: Sendable, CustomStringConvertible {
        var second: Double
        var holds: Bool
        var expected: Transition?
        var deadline: Double?

        var description: String { "\(second)s holds=\(holds)" }
    }

    static func fire(_ startsAt: Double) -> Transition { .fire(startsAt: at(startsAt)) }
    static func repeated(_ startsAt: Double) -> Transition { .repeatFiring(startsAt: at(startsAt)) }
    static func resolve(_ startsAt: Double, _ endsAt: Double) -> Transition {
        .resolve(startsAt: at(startsAt), endsAt: at(endsAt))
    }

    /// Runs `steps`, checking each transition and the deadline after it.
    static func run(_ lifecycle: inout ConditionLifecycle, _ steps: [Step]) {
        for step in steps {
            let transition = lifecycle.evaluate(holds: step.holds, value: 1, at: at(step.second))
            #expect(transition == step.expected, "\(step)")
            #expect(lifecycle.nextDeadline(after: at(step.second)) == step.deadline.map(at), "deadline after \(step)")
        }
    }

    @Test func withNoForNorKeepItFiresAndResolvesAtOnce() {
        var lifecycle = ConditionLifecycle()
        Self.run(
            &lifecycle,
            [
                Step(second: 0, holds: false, expected: nil, deadline: nil),
                Step(second: 10, holds: true, expected: Self.fire(10), deadline: nil),
                Step(second: 20, holds: true, expected: nil, deadline: nil),
                Step(second: 30, holds: false, expected: Self.resolve(10, 30), deadline: nil),
                Step(second: 40, holds: false, expected: nil, deadline: nil),
                Step(second: 50, holds: true, expected: Self.fire(50), deadline: nil),
            ]
        )
        #expect(lifecycle.everFired)
        #expect(lifecycle.resolvedAt == nil)
        #expect(lifecycle.state == .firing(startsAt: Self.at(50)))
    }

    @Test func forMustHoldThroughItsLastInstant() {
        var lifecycle = ConditionLifecycle(for: .seconds(120))
        Self.run(
            &lifecycle,
            [
                Step(second: 0, holds: true, expected: nil, deadline: 120),
                Step(second: 119.999, holds: true, expected: nil, deadline: 120),
                Step(second: 120, holds: true, expected: Self.fire(120), deadline: nil),
            ]
        )
    }

    @Test func goingFalseWhilePendingStartsForAgain() {
        var lifecycle = ConditionLifecycle(for: .seconds(120))
        Self.run(
            &lifecycle,
            [
                Step(second: 0, holds: true, expected: nil, deadline: 120),
                Step(second: 60, holds: false, expected: nil, deadline: nil),
                Step(second: 70, holds: true, expected: nil, deadline: 190),
                Step(second: 189.999, holds: true, expected: nil, deadline: 190),
                Step(second: 190, holds: true, expected: Self.fire(190), deadline: nil),
            ]
        )
        #expect(lifecycle.state == .firing(startsAt: Self.at(190)))
    }

    /// A tick after the deadline reports the deadline's instants, so the alert id does not depend on tick timing.
    @Test func aLateEvaluationUsesTheDeadlineInstants() {
        var lifecycle = ConditionLifecycle(for: .seconds(120), keepFiringFor: .seconds(300))
        Self.run(
            &lifecycle,
            [
                Step(second: 0, holds: true, expected: nil, deadline: 120),
                Step(second: 150.5, holds: true, expected: Self.fire(120), deadline: nil),
                Step(second: 200, holds: false, expected: nil, deadline: 500),
                Step(second: 611, holds: false, expected: Self.resolve(120, 500), deadline: nil),
            ]
        )
    }

    @Test func keepFiringForResolvesAfterFalseThatLong() {
        var lifecycle = ConditionLifecycle(keepFiringFor: .seconds(300))
        Self.run(
            &lifecycle,
            [
                Step(second: 0, holds: true, expected: Self.fire(0), deadline: nil),
                Step(second: 10, holds: false, expected: nil, deadline: 310),
                Step(second: 100, holds: true, expected: nil, deadline: nil),
                Step(second: 200, holds: false, expected: nil, deadline: 500),
                Step(second: 300, holds: false, expected: nil, deadline: 500),
                Step(second: 499.999, holds: false, expected: nil, deadline: 500),
                Step(second: 500, holds: false, expected: Self.resolve(0, 500), deadline: nil),
            ]
        )
        #expect(lifecycle.resolvedAt == Self.at(500))
        #expect(lifecycle.state == .inactive)
    }

    @Test func repeatNotifiesAgainEachPeriodWhileFiring() {
        var lifecycle = ConditionLifecycle(repeat: .seconds(3600))
        Self.run(
            &lifecycle,
            [
                Step(second: 0, holds: true, expected: Self.fire(0), deadline: 3600),
                Step(second: 3599.999, holds: true, expected: nil, deadline: 3600),
                Step(second: 3600, holds: true, expected: Self.repeated(0), deadline: 7200),
                Step(second: 7000, holds: true, expected: nil, deadline: 7200),
                // Evaluated late, past two instants: one repeat, and the next one is still on the hour.
                Step(second: 11_000, holds: true, expected: Self.repeated(0), deadline: 14_400),
                Step(second: 12_000, holds: false, expected: Self.resolve(0, 12_000), deadline: nil),
            ]
        )
    }

    @Test func repeatContinuesWhileKeptFiringAndResolvingWinsATie() {
        var lifecycle = ConditionLifecycle(keepFiringFor: .seconds(120), repeat: .seconds(60))
        Self.run(
            &lifecycle,
            [
                Step(second: 0, holds: true, expected: Self.fire(0), deadline: 60),
                Step(second: 0.5, holds: false, expected: nil, deadline: 60),
                Step(second: 60, holds: false, expected: Self.repeated(0), deadline: 120),
                Step(second: 90, holds: true, expected: nil, deadline: 120),
                Step(second: 100, holds: false, expected: nil, deadline: 120),
                Step(second: 120, holds: false, expected: Self.repeated(0), deadline: 180),
                Step(second: 180, holds: false, expected: Self.repeated(0), deadline: 220),
                Step(second: 220, holds: false, expected: Self.resolve(0, 220), deadline: nil),
            ]
        )
        var tie = ConditionLifecycle(keepFiringFor: .seconds(60), repeat: .seconds(60))
        Self.run(
            &tie,
            [
                Step(second: 0, holds: true, expected: Self.fire(0), deadline: 60),
                Step(second: 0, holds: false, expected: nil, deadline: 60),
                Step(second: 60, holds: false, expected: Self.resolve(0, 60), deadline: nil),
            ]
        )
    }

    @Test func aMeasureWithNoValueDoesNotHold() {
        var lifecycle = ConditionLifecycle()
        #expect(lifecycle.evaluate(holds: true, value: nil, at: Self.at(0)) == nil)
        #expect(lifecycle.state == .inactive)
        #expect(!lifecycle.everFired)
    }

    @Test(arguments: [
        (ConditionBound.below(0.4), 0.39, true), (.below(0.4), 0.4, false), (.below(0.4), 0.41, false),
        (.above(50), 50, false), (.above(50), 51, true), (.above(50), 49, false),
        (.below(0.4), .nan, false), (.above(0.4), .nan, false),
    ])
    func boundsAreStrict(bound: ConditionBound, value: Double, holds: Bool) {
        #expect(bound.holds(value) == holds)
        #expect(bound.holds(Optional(value)) == holds)
        #expect(!bound.holds(nil as Double?))
    }

    @Test func alertIDsDependOnRuleKeyStatusAndStart() {
        let id = ConditionAlertID.make(rule: "low-asr", key: ["62"], status: .firing, startsAt: Self.at(120))
        #expect(id == ConditionAlertID.make(rule: "low-asr", key: ["62"], status: .firing, startsAt: Self.at(120)))
        #expect(id.count == 36)
        #expect(id.split(separator: "-").map(\.count) == [8, 4, 4, 4, 12])
        let others = [
            ConditionAlertID.make(rule: "low-acd", key: ["62"], status: .firing, startsAt: Self.at(120)),
            ConditionAlertID.make(rule: "low-asr", key: ["65"], status: .firing, startsAt: Self.at(120)),
            ConditionAlertID.make(rule: "low-asr", key: [], status: .firing, startsAt: Self.at(120)),
            ConditionAlertID.make(rule: "low-asr", key: ["62"], status: .resolved, startsAt: Self.at(120)),
            ConditionAlertID.make(rule: "low-asr", key: ["62"], status: .firing, startsAt: Self.at(120.001)),
        ]
        #expect(Set(others + [id]).count == 6)
    }
}
