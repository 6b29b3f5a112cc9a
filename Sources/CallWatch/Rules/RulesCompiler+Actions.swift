import Logging
import Yams

extension RulesCompiler {
    mutating func compileAction(_ node: Node, defaults: RuleSet.Defaults, context: String) -> ActionSpec? {
        let kinds = RulesLoader.actionKinds
        guard let entries = reader.mapping(node, allowed: kinds, what: "an action", context: context) else {
            return nil
        }
        guard entries.entries.count == 1, let (kind, _, value) = entries.entries.first else {
            reader.error(node, "an action is exactly one of \(kinds.joined(separator: ", "))\(context)")
            return nil
        }
        switch kind {
        case "log": return compileLog(value, context: context).map(ActionSpec.log)
        case "exec": return compileExec(value, defaults: defaults, context: context).map(ActionSpec.exec)
        case "slack": return compileSlack(value, defaults: defaults, context: context).map(ActionSpec.http)
        case "pagerduty": return compilePagerDuty(value, defaults: defaults, context: context).map(ActionSpec.http)
        case "alertmanager":
            return compileAlertmanager(value, defaults: defaults, context: context).map(ActionSpec.http)
        default: return compileHTTP(value, defaults: defaults, context: context).map(ActionSpec.http)
        }
    }

    mutating func compileLog(_ node: Node, context: String) -> LogAction? {
        if node.scalar != nil {
            return reader.template(node, what: "log", context: context).map { LogAction(level: .warning, message: $0) }
        }
        guard let entries = reader.mapping(node, allowed: ["level", "message"], what: "log", context: context) else {
            return nil
        }
        var level = Logger.Level.warning
        if let value = entries["level"], let text = reader.string(value, what: "log.level", context: context) {
            if let parsed = Logger.Level(rawValue: text.lowercased()) {
                level = parsed
            } else {
                reader.error(
                    value,
                    "unknown log level '\(text)'\(context)" + Suggestion.hint(for: text, in: RulesLoader.logLevels)
                )
            }
        }
        let message: Template?
        if let value = entries["message"] {
            message = reader.template(value, what: "log.message", context: context)
        } else {
            message = try? Template("{{rule.name}} fired for {{alert.key}} ({{alert.count}} events)")
        }
        return message.map { LogAction(level: level, message: $0) }
    }

    mutating func compileExec(_ node: Node, defaults: RuleSet.Defaults, context: String) -> ExecAction? {
        let keys = ["command", "env", "stdin", "timeout", "retries", "workdir"]
        guard let entries = reader.mapping(node, allowed: keys, what: "exec", context: context) else { return nil }
        guard let commandNode = entries["command"] else {
            reader.error(node, "exec needs a command (an argv list)\(context)")
            return nil
        }
        guard let list = commandNode.sequence, !list.isEmpty else {
            reader.error(
                commandNode,
                "exec.command must be a non-empty list: argv, never run through a shell\(context)"
            )
            return nil
        }
        let command = list.compactMap { reader.template($0, what: "exec.command", context: context) }
        if let program = command.first, program.isConstant, program.source.isEmpty || program.source.contains("\0") {
            reader.error(list[0], "exec.command's program is empty or holds a NUL: it could never start\(context)")
        }
        var env: [(String, Template)] = []
        if let value = entries["env"],
            let vars = reader.mapping(value, allowed: nil, what: "exec.env", context: context)
        {
            for (name, nameNode, valueNode) in vars.entries {
                if name.isEmpty || name.contains("=") || name.contains("\0") {
                    reader.error(nameNode, "exec.env name '\(name)' must be non-empty, without '=' or NUL\(context)")
                }
                if let template = reader.template(valueNode, what: "exec.env.\(name)", context: context) {
                    env.append((name, template))
                }
            }
        }
        var stdin = ExecAction.Stdin.alert
        if let value = entries["stdin"], let text = reader.string(value, what: "exec.stdin", context: context) {
            if let parsed = ExecAction.Stdin(rawValue: text) {
                stdin = parsed
            } else {
                reader.error(value, "exec.stdin is 'alert' or 'none'\(context)")
            }
        }
        let timeout = entries["timeout"].flatMap { reader.duration($0, what: "exec.timeout", context: context) }
        let retries = entries["retries"].flatMap {
            reader.int($0, what: "exec.retries", range: 0...100, context: context)
        }
        let workdir = entries["workdir"].flatMap { reader.string($0, what: "exec.workdir", context: context) }
        guard command.count == list.count else { return nil }
        return ExecAction(
            command: command,
            env: env,
            stdin: stdin,
            timeout: timeout ?? defaults.execTimeout,
            retries: retries ?? defaults.execRetries,
            workdir: workdir
        )
    }

    mutating func compileHTTP(_ node: Node, defaults: RuleSet.Defaults, context: String) -> HTTPAction? {
        let keys = ["url", "method", "headers", "json", "body", "timeout", "retries"]
        guard let entries = reader.mapping(node, allowed: keys, what: "http", context: context) else { return nil }
        guard let urlNode = entries["url"] else {
            reader.error(node, "http needs a url\(context)")
            return nil
        }
        let url = reader.template(urlNode, what: "http.url", context: context)
        if let url, url.isConstant, !(url.source.hasPrefix("http://") || url.source.hasPrefix("https://")) {
            reader.error(urlNode, "http.url must start with http:// or https://\(context)")
        }
        var method = "POST"
        if let value = entries["method"], let text = reader.string(value, what: "http.method", context: context) {
            method = text.uppercased()
            if !HTTPFieldSyntax.isToken(method) {
                reader.error(value, "http.method '\(text)' is not an HTTP method name\(context)")
            }
        }
        var headers: [(String, Template)] = []
        if let value = entries["headers"],
            let map = reader.mapping(value, allowed: nil, what: "http.headers", context: context)
        {
            for (name, nameNode, valueNode) in map.entries {
                if !HTTPFieldSyntax.isToken(name) {
                    reader.error(nameNode, "http.headers: '\(name)' is not an HTTP field name\(context)")
                }
                if let template = reader.template(valueNode, what: "http.headers.\(name)", context: context) {
                    headers.append((name, template))
                }
            }
        }
        var body = HTTPAction.Body.alert
        if entries.has("json"), entries.has("body") {
            reader.error(entries.keyNode("body"), "http takes 'json' or 'body', not both\(context)")
        } else if let value = entries["json"] {
            body = .json(jsonTemplate(value, context: context))
        } else if let value = entries["body"],
            let template = reader.template(value, what: "http.body", context: context)
        {
            body = .raw(template)
        }
        let timeout = entries["timeout"].flatMap { reader.duration($0, what: "http.timeout", context: context) }
        let retries = entries["retries"].flatMap {
            reader.int($0, what: "http.retries", range: 0...100, context: context)
        }
        guard let url else { return nil }
        return HTTPAction(
            url: url,
            method: method,
            headers: headers,
            body: body,
            timeout: timeout ?? defaults.httpTimeout,
            retries: retries ?? defaults.httpRetries
        )
    }

    /// `slack: {url, text, timeout, retries}`: an incoming webhook.
    mutating func compileSlack(_ node: Node, defaults: RuleSet.Defaults, context: String) -> HTTPAction? {
        let keys = ["url", "text", "timeout", "retries"]
        guard let entries = reader.mapping(node, allowed: keys, what: "slack", context: context) else { return nil }
        let url = serviceURL(entries, in: node, kind: "slack", fallback: nil, context: context)
        let text = entries["text"].flatMap { reader.template($0, what: "slack.text", context: context) }
        guard let url else { return nil }
        return serviceAction(url, .slack(text: text), entries, kind: "slack", defaults: defaults, context: context)
    }

    /// `pagerduty: {routing_key, severity, summary, url, timeout, retries}`: Events API v2.
    mutating func compilePagerDuty(_ node: Node, defaults: RuleSet.Defaults, context: String) -> HTTPAction? {
        let keys = ["routing_key", "severity", "summary", "url", "timeout", "retries"]
        guard let entries = reader.mapping(node, allowed: keys, what: "pagerduty", context: context) else {
            return nil
        }
        let url = serviceURL(
            entries,
            in: node,
            kind: "pagerduty",
            fallback: "https://events.pagerduty.com/v2/enqueue",
            context: context
        )
        var routingKey: Template?
        if let value = entries["routing_key"] {
            routingKey = reader.template(value, what: "pagerduty.routing_key", context: context)
        } else {
            reader.error(node, "pagerduty needs a routing_key (the integration key of a PagerDuty service)\(context)")
        }
        var severity = "error"
        if let value = entries["severity"],
            let text = reader.string(value, what: "pagerduty.severity", context: context)
        {
            if RulesLoader.pagerDutySeverities.contains(text) {
                severity = text
            } else {
                reader.error(
                    value,
                    "unknown pagerduty severity '\(text)'\(context)"
                        + Suggestion.hint(for: text, in: RulesLoader.pagerDutySeverities)
                        + " (one of \(RulesLoader.pagerDutySeverities.joined(separator: ", ")))"
                )
            }
        }
        let summary = entries["summary"].flatMap { reader.template($0, what: "pagerduty.summary", context: context) }
        guard let url, let routingKey else { return nil }
        return serviceAction(
            url,
            .pagerduty(routingKey: routingKey, severity: severity, summary: summary),
            entries,
            kind: "pagerduty",
            defaults: defaults,
            context: context
        )
    }

    /// `alertmanager: {url, labels, resolve_after, resend, timeout, retries}`: Alertmanager's API v2, `url` its base
    /// URL.
    mutating func compileAlertmanager(_ node: Node, defaults: RuleSet.Defaults, context: String) -> HTTPAction? {
        let keys = ["url", "labels", "resolve_after", "resend", "timeout", "retries"]
        guard let entries = reader.mapping(node, allowed: keys, what: "alertmanager", context: context) else {
            return nil
        }
        let url = serviceURL(entries, in: node, kind: "alertmanager", fallback: nil, context: context)
        if let url, url.isConstant, let urlNode = entries["url"] {
            var base = Substring(url.source)
            while base.hasSuffix("/") { base = base.dropLast() }
            if base.hasSuffix(AlertmanagerAlert.path) {
                reader.warning(
                    urlNode,
                    "alertmanager.url is Alertmanager's base URL: \(AlertmanagerAlert.path) is added to it, so this "
                        + "posts to \(AlertmanagerAlert.endpoint(url.source))\(context)"
                )
            }
        }
        var labels: [(name: String, value: String)] = []
        if let value = entries["labels"],
            let map = reader.mapping(value, allowed: nil, what: "alertmanager.labels", context: context)
        {
            for (name, keyNode, valueNode) in map.entries {
                if !AlertmanagerAlert.isValidLabelName(name) {
                    reader.error(
                        keyNode,
                        "invalid Alertmanager label name '\(name)'\(context): a label name is letters, digits and "
                            + "underscores, not starting with a digit ([a-zA-Z_][a-zA-Z0-9_]*)"
                    )
                }
                if let text = reader.string(valueNode, what: "alertmanager.labels.\(name)", context: context) {
                    labels.append((name, text))
                }
            }
        }
        let resolveAfter = positiveDuration(
            entries["resolve_after"],
            default: .seconds(300),
            what: "alertmanager.resolve_after",
            context
        )
        let resend = positiveDuration(entries["resend"], default: .seconds(60), what: "alertmanager.resend", context)
        guard let url else { return nil }
        return serviceAction(
            url,
            .alertmanager(labels: labels, resolveAfter: resolveAfter, resend: resend),
            entries,
            kind: "alertmanager",
            defaults: defaults,
            context: context
        )
    }

    /// A service's POST to `url`, with its own `timeout` and `retries` or the `defaults.http` ones.
    private mutating func serviceAction(
        _ url: Template,
        _ service: HTTPAction.Service,
        _ entries: DiagnosingNodeReader.Entries,
        kind: String,
        defaults: RuleSet.Defaults,
        context: String
    ) -> HTTPAction {
        let timeout = entries["timeout"].flatMap { reader.duration($0, what: "\(kind).timeout", context: context) }
        let retries = entries["retries"].flatMap {
            reader.int($0, what: "\(kind).retries", range: 0...100, context: context)
        }
        return HTTPAction(
            url: url,
            method: "POST",
            headers: [],
            body: .alert,
            timeout: timeout ?? defaults.httpTimeout,
            retries: retries ?? defaults.httpRetries,
            service: service
        )
    }

    /// A service's `url`: required unless it has a `fallback`, and http(s) when it is constant.
    private mutating func serviceURL(
        _ entries: DiagnosingNodeReader.Entries,
        in node: Node,
        kind: String,
        fallback: String?,
        context: String
    ) -> Template? {
        guard let urlNode = entries["url"] else {
            if let fallback { return try? Template(fallback) }
            reader.error(node, "\(kind) needs a url\(context)")
            return nil
        }
        let url = reader.template(urlNode, what: "\(kind).url", context: context)
        if let url, url.isConstant, !(url.source.hasPrefix("http://") || url.source.hasPrefix("https://")) {
            reader.error(urlNode, "\(kind).url must start with http:// or https://\(context)")
        }
        return url
    }

    mutating func jsonTemplate(_ node: Node, context: String) -> JSONTemplate {
        switch node {
        case .scalar(let scalar) where scalar.kind == .str:
            if scalar.string.contains("{{"), let template = reader.template(node, what: "http.json", context: context) {
                return .string(template)
            }
            return .literal(reader.json(node, context: context))
        case .sequence(let sequence):
            return .array(sequence.map { jsonTemplate($0, context: context) })
        case .mapping(let mapping):
            return .object(mapping.map { ($0.key.scalar?.string ?? "", jsonTemplate($0.value, context: context)) })
        default:
            return .literal(reader.json(node, context: context))
        }
    }

    /// A duration that must be longer than 0, or `fallback` when absent (or wrong, with its diagnostic).
    mutating func positiveDuration(
        _ node: Node?,
        default fallback: Duration,
        what: String,
        _ context: String
    )
        -> Duration
    {
        guard let node, let duration = reader.duration(node, what: what, context: context) else { return fallback }
        guard duration > .zero else {
            reader.error(node, "\(what) must be longer than 0\(context)")
            return fallback
        }
        return duration
    }
}
