import Foundation
import Metrics
import Prometheus
import Synchronization

/// The process-wide Prometheus registry behind swift-metrics (bootstrapped once per process).
public enum MetricsSetup {
    private static let bootstrapped = Mutex(false)
    public static let registry = PrometheusCollectorRegistry()

    public static func bootstrap() {
        let first = bootstrapped.withLock { done in
            defer { done = true }
            return !done
        }
        guard first else { return }
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
            .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
            .seconds(30),
        ]
        MetricsSystem.bootstrap(factory)
        Gauge(label: "process_start_time_seconds").record(Date().timeIntervalSince1970)
    }

    public static func render() -> [UInt8] {
        registry.emitToBuffer()
    }
}
