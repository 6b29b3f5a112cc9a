import Foundation

/// The PagerDuty Events API v2 event for an alert: `trigger` while it fires (and at each repeat), `resolve` when it
/// resolves, under one `dedup_key` for its whole life, so PagerDuty opens one incident and closes it.
enum PagerDutyEvent {
    /// PagerDuty keeps at most this many characters of a summary.
    static let summaryLimit = 1024

    /// The `dedup_key`: a condition alert's firing id (rule, key and when it began firing), which its repeats share
    /// and from which its resolution is derived; any other alert's own id.
    static func dedupKey(for alert: Alert) -> String {
        guard alert.isCondition else { return alert.id }
        return ConditionAlertID.make(
            rule: alert.rule,
            key: alert.key.map(\.value),
            status: .firing,
            startsAt: alert.startsAt
        )
    }

    static func body(for alert: Alert, routingKey: String, severity: String, summary: String?) -> JSONValue {
        let text = summary.flatMap { $0.isEmpty ? nil : $0 } ?? alert.headline
        return .object(
            JSONObject([
                ("routing_key", .string(routingKey)),
                ("event_action", .string(alert.status == .resolved ? "resolve" : "trigger")),
                ("dedup_key", .string(dedupKey(for: alert))),
                (
                    "payload",
                    .object(
                        JSONObject([
                            ("summary", .string(String(text.prefix(summaryLimit)))),
                            ("source", .string("callwatch")),
                            ("severity", .string(severity)),
                            ("timestamp", .string(Timestamp.format(alert.firedAt))),
                            ("custom_details", alert.json),
                        ])
                    )
                ),
            ])
        )
    }
}

extension Alert {
    /// Whether the alert comes from a condition over time (it has a measure, or it resolved).
    public var isCondition: Bool { value != nil || status == .resolved }

    /// One line for people: `[FIRING] low-asr destinationCountryCode=ID value=0.31 — under 40% …` (no key, value or
    /// description when the alert has none). The default Slack text and PagerDuty summary.
    public var headline: String {
        var parts = ["[\(status.rawValue.uppercased())]", rule]
        if !key.isEmpty { parts.append(keyText) }
        if let value { parts.append("value=\(JSONValue.format(value))") }
        var line = parts.joined(separator: " ")
        if !description.isEmpty { line += " — " + description }
        return line
    }
}
