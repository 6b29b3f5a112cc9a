import Logging

/// What a rule does when it fires, compiled: templates parsed, defaults applied.
public enum ActionSpec: Sendable {
    case log(LogAction)
    case exec(ExecAction)
    case http(HTTPAction)

    public var kind: String {
        switch self {
        case .log: "log"
        case .exec: "exec"
        case .http(let action): action.service.kind
        }
    }

    /// Whether the action sends a rule's group of alerts as one notification. PagerDuty and Alertmanager group
    /// alerts themselves: they stay one event per alert.
    public var takesGroup: Bool {
        switch self {
        case .log, .exec: true
        case .http(let action):
            switch action.service {
            case .webhook, .slack: true
            case .pagerduty, .alertmanager: false
            }
        }
    }
}

public struct LogAction: Sendable {
    public var level: Logger.Level
    public var message: Template
}

public struct ExecAction: Sendable {
    public enum Stdin: String, Sendable {
        case alert, none
    }

    public var command: [Template]
    public var env: [(name: String, value: Template)]
    public var stdin: Stdin
    public var timeout: Duration
    public var retries: Int
    public var workdir: String?
}

public struct HTTPAction: Sendable {
    /// Who is on the other end: a plain webhook (`http`), or a service whose request callwatch builds itself.
    public enum Service: Sendable {
        case webhook
        /// A Slack incoming webhook: `{"text": …}`, the text from `text` or the alert's headline.
        case slack(text: Template?)
        /// PagerDuty's Events API v2: trigger on firing, resolve on resolved, one `dedup_key` for an alert's life.
        case pagerduty(routingKey: Template, severity: String, summary: Template?)
        /// Alertmanager's API v2 (`POST <url>/api/v2/alerts`): labels `alertname`, the key fields and `labels`; a
        /// condition's resolution ends the alert, any other alert ends `resolveAfter` after it fired. A firing
        /// condition alert is sent again every `resend`, so Alertmanager does not time it out.
        case alertmanager(labels: [(name: String, value: String)], resolveAfter: Duration, resend: Duration)

        public var kind: String {
            switch self {
            case .webhook: "http"
            case .slack: "slack"
            case .pagerduty: "pagerduty"
            case .alertmanager: "alertmanager"
            }
        }
    }

    public enum Body: Sendable {
        /// The alert JSON.
        case alert
        /// A YAML value whose string leaves are templates, encoded as JSON.
        case json(JSONTemplate)
        /// A raw template.
        case raw(Template)
    }

    public var url: Template
    public var method: String
    public var headers: [(name: String, value: Template)]
    public var body: Body
    public var timeout: Duration
    public var retries: Int
    public var service: Service = .webhook
}

/// A JSON-shaped value whose string leaves are templates: rendered leaf by leaf and then encoded, so data can
/// never break the JSON.
public indirect enum JSONTemplate: Sendable {
    case literal(JSONValue)
    case string(Template)
    case array([JSONTemplate])
    case object([(key: String, value: JSONTemplate)])

    public var templates: [Template] {
        switch self {
        case .literal: []
        case .string(let template): [template]
        case .array(let elements): elements.flatMap(\.templates)
        case .object(let members): members.flatMap(\.value.templates)
        }
    }
}
