import Benchmark
import CallWatch
import EngineFixtures
import Foundation

// Rule engine throughput: events per second through decode+evaluate and through evaluate alone, with the
// shipped rules.yaml and with 1,000 generated rules, and mallocs per event. Each iteration handles 1,000 events
// (`scalingFactor: .kilo`), so throughput reads as events/s and mallocCountTotal as mallocs per event.
// Goals: ≥ 2,000,000 events/s evaluating the shipped rules, ≥ 500,000 with 1,000 rules, and 0 mallocs per event
// on the evaluate path where no rule fires (the "non-matching" benchmarks).

/// Holds the harness a benchmark's setup creates, so only the benchmarks that run pay for their fixtures.
final class HarnessSlot: @unchecked Sendable {
    var harness: EngineHarness?
}

let benchmarks: @Sendable () -> Void = {
    let configuration = Benchmark.Configuration(
        metrics: [.throughput, .wallClock, .cpuTotal, .mallocCountTotal],
        timeUnits: .nanoseconds,
        warmupIterations: 20,
        scalingFactor: .kilo,
        maxDuration: .seconds(3),
        maxIterations: 1_000_000
    )

    func engineBenchmark(
        _ name: String,
        rules: @escaping @Sendable () -> RuleSet,
        corpus: @escaping @Sendable () -> EventCorpus,
        decode: Bool
    ) {
        let slot = HarnessSlot()
        Benchmark(
            name,
            configuration: configuration,
            closure: { benchmark in
                let harness = slot.harness!
                var fired = 0
                if decode {
                    for _ in benchmark.scaledIterations { fired &+= harness.decodeAndEvaluateNext() }
                } else {
                    for _ in benchmark.scaledIterations { fired &+= harness.evaluateNext() }
                }
                blackHole(fired)
            },
            setup: {
                let harness = EngineHarness(ruleSet: rules(), corpus: corpus())
                // One untimed pass: warms the state maps and prints what the corpus does to these rules.
                harness.dryRun(label: name)
                slot.harness = harness
            },
            teardown: { slot.harness = nil }
        )
    }

    Benchmark("decode (realistic events)", configuration: configuration) { benchmark in
        // The decoder alone, for attributing the decode+evaluate figures.
        let bodies = Fixtures.realistic.bodies
        var index = 0
        for _ in benchmark.scaledIterations {
            let event = bodies[index].withUnsafeBytes { bytes in try? CallEvent.decode(bytes) }
            blackHole(event)
            index = index + 1 == bodies.count ? 0 : index + 1
        }
    }

    engineBenchmark(
        "decode+evaluate shipped rules (realistic events)",
        rules: { Fixtures.shippedRules },
        corpus: { Fixtures.realistic },
        decode: true
    )
    engineBenchmark(
        "evaluate shipped rules (realistic events)",
        rules: { Fixtures.shippedRules },
        corpus: { Fixtures.realistic },
        decode: false
    )
    engineBenchmark(
        "evaluate shipped rules (non-matching events)",
        rules: { Fixtures.shippedRules },
        corpus: { Fixtures.nonMatching },
        decode: false
    )
    engineBenchmark(
        "decode+evaluate 1000 rules (realistic events)",
        rules: { Fixtures.generatedRules },
        corpus: { Fixtures.realistic },
        decode: true
    )
    engineBenchmark(
        "evaluate 1000 rules (realistic events)",
        rules: { Fixtures.generatedRules },
        corpus: { Fixtures.realistic },
        decode: false
    )
    engineBenchmark(
        "evaluate 1000 rules (non-matching events)",
        rules: { Fixtures.generatedRules },
        corpus: { Fixtures.nonMatching },
        decode: false
    )

    // Ticks over a million condition keys, and memory per key (Conditions.swift).
    conditionBenchmarks()
}
