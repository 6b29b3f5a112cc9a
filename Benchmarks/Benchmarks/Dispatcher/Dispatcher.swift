import Benchmark
import CallWatch
import DispatcherFixtures
import Foundation

// Action dispatcher throughput and memory: alerts per second through ActionDispatcher for
// `exec /bin/true` (execConcurrency 8, the default) and for HTTP POSTs of the alert JSON to a local sink
// (httpConcurrency 32, the default), and peak RSS while a burst of 10,000 alerts drains.
// Goal: beat adnanh/webhook's rate of running `/bin/true` hooks with flat memory (BENCHMARKS.md has the figures).

final class SinkSlot: @unchecked Sendable {
    var sink: HTTPSink?
    var actions: (exec: [ActionSpec], http: [ActionSpec], slack: [ActionSpec])?
}

let benchmarks: @Sendable () -> Void = {
    let slot = SinkSlot()
    let setup: () async throws -> Void = {
        // The plugin preloads its malloc interposer through LD_PRELOAD, and exec actions inherit the environment:
        // every /bin/true would load it (and the Swift runtime) too. It is already loaded here; keep it from children.
        unsetenv("LD_PRELOAD")
        if slot.sink == nil {
            let sink = HTTPSink()
            slot.sink = sink
            slot.actions = DispatcherFixtures.actions(sinkURL: "http://127.0.0.1:\(sink.port)")
        }
    }
    let alertsPerSecond = BenchmarkMetric.custom("Alerts/s", polarity: .prefersLarger, useScalingFactor: false)
    let throughput = Benchmark.Configuration(
        metrics: [alertsPerSecond, .wallClock, .cpuTotal, .peakMemoryResident, .mallocCountTotal],
        units: [alertsPerSecond: .count],
        warmupIterations: 1,
        scalingFactor: .kilo,  // 1,000 alerts per iteration: throughput reads as alerts/s, mallocs as per alert
        maxDuration: .seconds(15),
        maxIterations: 10
    )
    let burstGrowth = BenchmarkMetric.custom(
        "RSS growth during burst (MiB)",
        polarity: .prefersSmaller,
        useScalingFactor: false
    )
    let burstConfiguration = Benchmark.Configuration(
        metrics: [.wallClock, .peakMemoryResident, .mallocCountTotal, alertsPerSecond, burstGrowth],
        units: [alertsPerSecond: .count, burstGrowth: .count],
        warmupIterations: 0,
        scalingFactor: .one,  // one iteration = one burst of 10,000 alerts
        maxDuration: .seconds(30),
        maxIterations: 3
    )

    func dispatcherBenchmark(_ name: String, kind: String, configuration: Benchmark.Configuration, alerts count: Int?) {
        Benchmark(
            name,
            configuration: configuration,
            closure: { benchmark in
                let count = count ?? benchmark.scaledIterations.count
                // Built before the measured region; for the 10,000-alert bursts ~30 MB of fixtures that
                // `peakMemoryResident` includes and "RSS growth during burst" does not.
                let alerts = DispatcherFixtures.alerts(count: count, rule: "bench-\(kind)")
                let actions =
                    switch kind {
                    case "exec": slot.actions!.exec
                    case "slack": slot.actions!.slack
                    default: slot.actions!.http
                    }
                ResidentMemory.resetPeak()
                let before = ResidentMemory.currentKiB
                let start = ContinuousClock.now
                benchmark.startMeasurement()
                await burst(alerts, actions: actions, label: benchmark.name)
                benchmark.stopMeasurement()
                let elapsed = (ContinuousClock.now - start).components
                let seconds = Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
                benchmark.measurement(alertsPerSecond, Int(Double(count) / seconds))
                if configuration.metrics.contains(burstGrowth) {
                    benchmark.measurement(burstGrowth, max(0, ResidentMemory.peakKiB - before) / 1024)
                }
            },
            setup: setup
        )
    }

    dispatcherBenchmark("exec /bin/true (1,000-alert bursts)", kind: "exec", configuration: throughput, alerts: nil)
    dispatcherBenchmark("http to local sink (1,000-alert bursts)", kind: "http", configuration: throughput, alerts: nil)
    dispatcherBenchmark(
        "exec /bin/true burst of 10,000 alerts",
        kind: "exec",
        configuration: burstConfiguration,
        alerts: 10_000
    )
    dispatcherBenchmark("http burst of 10,000 alerts", kind: "http", configuration: burstConfiguration, alerts: 10_000)
    dispatcherBenchmark(
        "slack receiver burst of 10,000 alerts",
        kind: "slack",
        configuration: burstConfiguration,
        alerts: 10_000
    )
}
