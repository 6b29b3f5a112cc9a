/// Everything the actions of one alert render from, built once when the alert is submitted and shared (one
/// instance) by each of its `PendingAction`s: the template context, the alert JSON and the exec environment.
public final class AlertRendering: Sendable {
    /// The template context.
    public let context: AlertContext
    /// `CALLWATCH_*` variables of every `exec` action (before the action's own `env`).
    public let environment: [String: String]
    /// A group's default Slack text (one alert's is its `headline`).
    public let groupHeadline: String?

    /// The alert JSON: the `{{alert.json}}` value, the exec stdin and the default HTTP body.
    public var json: String { context.alertJSON }

    public init(alert: Alert) {
        self.context = AlertContext(alert: alert)
        self.environment = AlertContext.environment(for: alert)
        self.groupHeadline = nil
    }

    /// A group's notification: the first alert's fields as for one alert, with the list `alerts` in the context,
    /// `{"alerts": [...]}` as the JSON, and `CALLWATCH_ALERT_ID` the group's id (its Idempotency-Key).
    public init(group id: String, alerts: [Alert]) {
        self.context = AlertContext(group: id, alerts: alerts)
        var environment = alerts.first.map(AlertContext.environment(for:)) ?? [:]
        environment["CALLWATCH_ALERT_ID"] = id
        environment["CALLWATCH_ALERT_COUNT"] = String(alerts.count)
        self.environment = environment
        self.groupHeadline = Self.headline(of: alerts)
    }

    /// Lines listed in a group's headline before `… and N more`.
    static let headlineLimit = 50

    /// `[FIRING] rule: 3 alerts`, then each alert's headline on a line of its own (the first `headlineLimit`).
    static func headline(of alerts: [Alert]) -> String {
        let rule = alerts.first?.rule ?? ""
        let statuses = AlertStatus.allCases.compactMap { status in
            let count = alerts.count { $0.status == status }
            return count == 0 ? nil : (status, count)
        }
        let status =
            statuses.count == 1
            ? statuses[0].0.rawValue.uppercased()
            : statuses.map { "\($0.0.rawValue.uppercased()) \($0.1)" }.joined(separator: ", ")
        var lines = ["[\(status)] \(rule): \(alerts.count) alert\(alerts.count == 1 ? "" : "s")"]
        lines += alerts.prefix(headlineLimit).map { "• " + $0.headline }
        if alerts.count > headlineLimit { lines.append("… and \(alerts.count - headlineLimit) more") }
        return lines.joined(separator: "\n")
    }
}
