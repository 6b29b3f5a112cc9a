import Metrics

/// Metric handles resolved once (per rules load), so the request path does no label lookups.
struct PipelineMetrics: Sendable {
    let accepted = Counter(label: "callwatch_events_total", dimensions: [("outcome", "accepted")])
    let duplicate = Counter(label: "callwatch_events_total", dimensions: [("outcome", "duplicate")])
    let rejected = Counter(label: "callwatch_events_total", dimensions: [("outcome", "rejected")])
    let outboxPending = Gauge(label: "callwatch_outbox_pending")
    var matches: [Counter] = []
    var fired: [Counter] = []
    var suppressed: [Counter] = []

    init(rules: [Rule]) {
        setRules(rules)
    }

    mutating func setRules(_ rules: [Rule]) {
        matches = rules.map { Counter(label: "callwatch_rule_matches_total", dimensions: [("rule", $0.name)]) }
        fired = rules.map {
            Counter(label: "callwatch_alerts_total", dimensions: [("rule", $0.name), ("state", "fired")])
        }
        suppressed = rules.map {
            Counter(label: "callwatch_alerts_total", dimensions: [("rule", $0.name), ("state", "suppressed")])
        }
    }
}
