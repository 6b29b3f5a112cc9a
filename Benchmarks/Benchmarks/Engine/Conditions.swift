import Benchmark
import CallWatch
import EngineFixtures
import Foundation

// Condition rules (`ratio`, `aggregate`, `absent`, `gauge`) at scale: what a tick costs when a few of a million
// keys fall due, and what a key costs in memory.
// Goals: a tick with 1,000,000 idle keys and 100 due deadlines under 1 ms; under 200 bytes per key of a ratio
// rule with 200,000 keys.

/// Holds what a condition benchmark's setup builds (or what its closure keeps alive past the measurement).
final class ConditionSlot: @unchecked Sendable {
    var tick: ConditionFixtures.TickFixture?
    var kept: Any?
}

func conditionBenchmarks() {
    // One iteration = one `Engine.advance(to:)`, at the instant the next batch of 100 keys falls due. The batches
    // are built in setup (time only moves forward, so a batch cannot be re-armed behind the idle keys): 1,500 of
    // them cover the warm-up and the measured ticks.
    let ticks = 1_500
    let tickConfiguration = Benchmark.Configuration(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal],
        timeUnits: .microseconds,
        warmupIterations: 10,
        scalingFactor: .one,
        maxDuration: .seconds(10),
        maxIterations: 1_000
    )

    func tickBenchmark(_ name: String, rules: @escaping @Sendable () -> RuleSet, expectAlerts: Bool) {
        let slot = ConditionSlot()
        Benchmark(
            name,
            configuration: tickConfiguration,
            closure: { benchmark in
                let fixture = slot.tick!
                guard fixture.remaining > 0 else {
                    benchmark.error("all \(ticks) batches ticked: raise `ticks`")
                    return
                }
                let keys = fixture.engine.stateCount
                benchmark.startMeasurement()
                let alerts = fixture.tick()
                benchmark.stopMeasurement()
                // Exactly one batch fell due: 100 alerts (absent), or 100 keys dropped (ratio).
                let dropped = keys - fixture.engine.stateCount
                let asExpected =
                    expectAlerts ? alerts.count == fixture.duePerTick : alerts.isEmpty && dropped == fixture.duePerTick
                if !asExpected {
                    benchmark.error("a tick notified \(alerts.count) alerts and dropped \(dropped) keys")
                }
                blackHole(alerts)
            },
            setup: {
                let started = ContinuousClock.now
                let fixture = ConditionFixtures.TickFixture(
                    ruleSet: rules(),
                    idleKeys: 1_000_000,
                    duePerTick: 100,
                    ticks: ticks
                )
                FileHandle.standardError.write(
                    Data(
                        "\(name): \(fixture.engine.stateCount) keys built in \(ContinuousClock.now - started)\n".utf8
                    )
                )
                slot.tick = fixture
            },
            teardown: { slot.tick = nil }
        )
    }

    tickBenchmark(
        "tick: 100 of 1,000,000 absent keys fall due (each fires)",
        rules: { ConditionFixtures.absentRule },
        expectAlerts: true
    )
    tickBenchmark(
        "tick: 100 of 1,000,000 ratio keys fall due (each is dropped)",
        rules: { ConditionFixtures.ratioByCallRule },
        expectAlerts: false
    )

    // One iteration builds an engine (or, for the baselines, an array of the same events) and keeps it alive past
    // the measurement, so `mallocFreeDelta` is the allocations it holds and `memoryLeakedBytes` their requested
    // bytes. The per-key figures divide by the key count: heap bytes from glibc's `mallinfo2` (chunk headers and
    // rounding included, and the malloc interposer's 16-byte header per allocation: subtract 16 ×
    // `mallocFreeDelta` / keys for a process without it), RSS from /proc/self/statm, and the measures' own
    // buffers from `Engine.conditionMeasureBytes`.
    let heapPerKey = BenchmarkMetric.custom("heap bytes per key", polarity: .prefersSmaller, useScalingFactor: false)
    let residentPerKey = BenchmarkMetric.custom("RSS bytes per key", polarity: .prefersSmaller, useScalingFactor: false)
    let measurePerKey = BenchmarkMetric.custom(
        "measure bytes per key",
        polarity: .prefersSmaller,
        useScalingFactor: false
    )
    let memoryConfiguration = Benchmark.Configuration(
        metrics: [.wallClock, .mallocFreeDelta, .memoryLeakedBytes, heapPerKey, residentPerKey, measurePerKey],
        units: [heapPerKey: .count, residentPerKey: .count, measurePerKey: .count],
        warmupIterations: 0,
        scalingFactor: .one,
        maxDuration: .seconds(60),
        // One build: RSS only grows on the first (later builds reuse the pages the previous one freed).
        maxIterations: 1
    )
    let keys = 200_000

    func memoryBenchmark(_ name: String, eventsPerKey: Int, shape: ConditionFixtures.EventShape, engine: Bool) {
        let slot = ConditionSlot()
        Benchmark(
            name,
            configuration: memoryConfiguration,
            closure: { benchmark in
                slot.kept = nil
                let before = ConditionFixtures.MemoryReading.now
                var measureBytes = 0
                if engine {
                    let built = ConditionFixtures.keyedEngine(
                        ruleSet: ConditionFixtures.ratioByDestinationRule,
                        keys: keys,
                        eventsPerKey: eventsPerKey,
                        shape: shape
                    )
                    precondition(built.stateCount == keys, "expected \(keys) keys, got \(built.stateCount)")
                    measureBytes = built.conditionMeasureBytes
                    slot.kept = built
                } else {
                    slot.kept = ConditionFixtures.keptEvents(keys: keys, eventsPerKey: eventsPerKey, shape: shape)
                }
                let after = ConditionFixtures.MemoryReading.now
                benchmark.stopMeasurement()
                benchmark.measurement(heapPerKey, (after.heap - before.heap) / keys)
                benchmark.measurement(residentPerKey, (after.resident - before.resident) / keys)
                benchmark.measurement(measurePerKey, measureBytes / keys)
            },
            teardown: { slot.kept = nil }
        )
    }

    for shape in ConditionFixtures.EventShape.allCases {
        memoryBenchmark(
            "memory: 200,000 ratio keys, 1 event each (\(shape) events)",
            eventsPerKey: 1,
            shape: shape,
            engine: true
        )
        memoryBenchmark(
            "memory: 200,000 ratio keys, 5 events each (\(shape) events)",
            eventsPerKey: 5,
            shape: shape,
            engine: true
        )
        memoryBenchmark(
            "memory: the same 200,000 \(shape) events alone (no engine)",
            eventsPerKey: 1,
            shape: shape,
            engine: false
        )
    }
}
