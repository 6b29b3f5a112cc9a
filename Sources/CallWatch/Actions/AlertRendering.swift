/// Everything the actions of one alert render from, built once when the alert is submitted and shared (one
/// instance) by each of its `PendingAction`s: the template context, the alert JSON and the exec environment.
public final class AlertRendering: Sendable {
    /// The template context.
    public let context: AlertContext
    /// `CALLWATCH_*` variables of every `exec` action (before the action's own `env`).
    public let environment: [String: String]

    /// The alert JSON: the `{{alert.json}}` value, the exec stdin and the default HTTP body.
    public var json: String { context.alertJSON }

    public init(alert: Alert) {
        self.context = AlertContext(alert: alert)
        self.environment = AlertContext.environment(for: alert)
    }
}
