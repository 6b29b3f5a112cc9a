import Metrics

/// Per-rule metric handles, indexed like the engine's rules. Owned by the journal's writer together with the
/// engine, and replaced with it on reload, so an index always names the same rule in both.
struct RuleMetrics {
    let matches: [Counter]
    let fired: [Counter]
    let suppressed: [Counter]

    init(rules: [Rule], factory: any MetricsFactory) {
        matches = rules.map {
            Counter(label: "callwatch_rule_matches_total", dimensions: [("rule", $0.name)], factory: factory)
        }
        fired = rules.map {
            Counter(
                label: "callwatch_alerts_total",
                dimensions: [("rule", $0.name), ("state", "fired")],
                factory: factory
            )
        }
        suppressed = rules.map {
            Counter(
                label: "callwatch_alerts_total",
                dimensions: [("rule", $0.name), ("state", "suppressed")],
                factory: factory
            )
        }
    }
}
