import Metrics

/// The pipeline's metrics that do not depend on the rules: shared by the request path and the writer, each handle
/// resolved once.
struct IngestCounters: Sendable {
    let accepted: Counter
    let duplicate: Counter
    let rejected: Counter
    let outboxPending: Gauge

    init(factory: any MetricsFactory) {
        accepted = Counter(label: "callwatch_events_total", dimensions: [("outcome", "accepted")], factory: factory)
        duplicate = Counter(label: "callwatch_events_total", dimensions: [("outcome", "duplicate")], factory: factory)
        rejected = Counter(label: "callwatch_events_total", dimensions: [("outcome", "rejected")], factory: factory)
        outboxPending = Gauge(label: "callwatch_outbox_pending", factory: factory)
    }
}
