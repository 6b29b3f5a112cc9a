import Synchronization

/// Everything the actions of one alert render from, shared (one instance) by each of its `PendingAction`s: the
/// template context, the alert JSON and the exec environment. Built on first use, when one of the actions starts,
/// so actions waiting in the dispatcher's queue hold only their alert: a burst queued behind the concurrency
/// limits does not hold a rendered context per alert.
public final class AlertRendering: Sendable {
    private enum Source {
        case alert(Alert)
        case group(id: String, alerts: [Alert])
    }

    private struct Contents {
        var context: AlertContext
        var environment: [String: String]
        var groupHeadline: String?
    }

    private let source: Source
    private let built = Mutex<Contents?>(nil)

    /// The template context.
    public var context: AlertContext { contents.context }
    /// `CALLWATCH_*` variables of every `exec` action (before the action's own `env`).
    public var environment: [String: String] { contents.environment }
    /// A group's default Slack text (one alert's is its `headline`).
    public var groupHeadline: String? { contents.groupHeadline }

    /// The alert JSON: the `{{alert.json}}` value, the exec stdin and the default HTTP body.
    public var json: String { context.alertJSON }

    public init(alert: Alert) {
        self.source = .alert(alert)
    }

    /// A group's notification: the first alert's fields as for one alert, with the list `alerts` in the context,
    /// `{"alerts": [...]}` as the JSON, and `CALLWATCH_ALERT_ID` the group's id (its Idempotency-Key).
    public init(group id: String, alerts: [Alert]) {
        self.source = .group(id: id, alerts: alerts)
    }

    private var contents: Contents {
        built.withLock { built in
            if let built { return built }
            let contents = Self.build(source)
            built = contents
            return contents
        }
    }

    private static func build(_ source: Source) -> Contents {
        switch source {
        case .alert(let alert):
            return Contents(
                context: AlertContext(alert: alert),
                environment: AlertContext.environment(for: alert),
                groupHeadline: nil
            )
        case .group(let id, let alerts):
            var environment = alerts.first.map(AlertContext.environment(for:)) ?? [:]
            environment["CALLWATCH_ALERT_ID"] = id
            environment["CALLWATCH_ALERT_COUNT"] = String(alerts.count)
            return Contents(
                context: AlertContext(group: id, alerts: alerts),
                environment: environment,
                groupHeadline: headline(of: alerts)
            )
        }
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
