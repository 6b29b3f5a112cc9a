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
        case .http: "http"
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
