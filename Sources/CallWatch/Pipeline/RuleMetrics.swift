import Metrics

/// Per-rule metric handles, indexed like the engine's rules. Owned by the journal's writer together with the
/// engine, and replaced with it on reload, so an index always names the same rule in both.
struct RuleMetrics {
    let matches: [Counter]
    let fired: [Counter]
    let suppressed: [Counter]
    let resolved: [Counter]
    let silenced: [Counter]

    init(rules: [Rule], factory: any MetricsFactory) {
        matches = rules.map {
            Counter(label: "callwatch_rule_matches_total", dimensions: [("rule", $0.name)], factory: factory)
        }
        func alerts(_ state: String) -> [Counter] {
            rules.map {
                Counter(
                    label: "callwatch_alerts_total",
                    dimensions: [("rule", $0.name), ("state", state)],
                    factory: factory
                )
            }
        }
        fired = alerts("fired")
        suppressed = alerts("suppressed")
        resolved = alerts("resolved")
        silenced = alerts("silenced")
    }
}
