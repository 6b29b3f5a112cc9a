import Logging
import Yams

/// Compiles a rules document node by node. Keeps going after an error so one run reports every problem.
struct RulesCompiler {
    var reader: DiagnosingNodeReader
    /// The receivers defined so far, by name: the actions `notify` adds to a rule.
    var receivers: [String: [ActionSpec]] = [:]
    let path: String

    init(reader: DiagnosingNodeReader, path: String) {
        self.reader = reader
        self.path = path
    }

    mutating func compile(_ root: Node) -> RuleSet? {
        guard let top = reader.mapping(root, allowed: RulesLoader.topKeys, what: "the top level") else {
            return nil
        }
        if let version = top["version"] {
            if reader.string(version, what: "version") != "1" {
                reader.error(version, "unsupported version; this callwatch reads version 1")
            }
        } else {
            reader.warning(root, "no 'version'; assuming version 1 (add 'version: 1')")
        }
        var server = ServerConfig()
        if let node = top["server"] { compileServer(node, into: &server) }
        var state = RuleSet.StateConfig(path: "./callwatch.db", retention: .seconds(7 * 86400))
        if let node = top["state"], let entries = reader.mapping(node, allowed: ["path", "retention"], what: "state") {
            if let value = entries["path"], let text = reader.string(value, what: "state.path") { state.path = text }
            if let value = entries["retention"], let duration = reader.duration(value, what: "state.retention") {
                state.retention = duration
            }
        }
        var defaults = RuleSet.Defaults()
        if let node = top["defaults"] { compileDefaults(node, into: &defaults) }
        if let node = top["receivers"] { compileReceivers(node, defaults: defaults) }
        var rules: [Rule] = []
        if let node = top["rules"] {
            if let sequence = node.sequence {
                var seen: [String: Int] = [:]
                for element in sequence {
                    guard let rule = compileRule(element, defaults: defaults) else { continue }
                    if let line = seen[rule.name] {
                        reader.error(element, "duplicate rule name '\(rule.name)' (first defined on line \(line))")
                    }
                    seen[rule.name] = rule.line
                    rules.append(rule)
                }
                if sequence.isEmpty { reader.warning(node, "no rules: nothing will ever fire") }
            } else {
                reader.error(node, "rules must be a list of rules")
            }
        } else {
            reader.warning(root, "no 'rules': nothing will ever fire")
        }
        return RuleSet(path: path, server: server, state: state, defaults: defaults, rules: rules, warnings: [])
    }

    mutating func compileServer(_ node: Node, into server: inout ServerConfig) {
        guard let entries = reader.mapping(node, allowed: RulesLoader.serverKeys, what: "server") else { return }
        if let value = entries["listen"], let text = reader.string(value, what: "server.listen") {
            if let (host, port) = ServerConfig.parseListen(text) {
                server.host = host
                server.port = port
            } else {
                reader.error(value, "invalid listen address '\(text)'; use HOST:PORT, e.g. 127.0.0.1:8080")
            }
        }
        if let value = entries["path"], let text = reader.string(value, what: "server.path") {
            if text.hasPrefix("/") {
                server.path = text
            } else {
                reader.error(value, "server.path must start with '/'")
            }
        }
        if let value = entries["max_body"], let size = reader.size(value, what: "server.max_body") {
            server.maxBody = size
        }
        if let value = entries["idle_timeout"], let timeout = reader.duration(value, what: "server.idle_timeout") {
            if timeout < .seconds(1) || timeout > .seconds(3600) {
                reader.error(value, "server.idle_timeout must be between 1s and 1h")
            } else {
                server.idleTimeout = timeout
            }
        }
        if let value = entries["trust_forwarded"], let flag = reader.bool(value, what: "server.trust_forwarded") {
            server.trustForwarded = flag
        }
        if let value = entries["allow"], let blocks = reader.strings(value, what: "server.allow") {
            for (text, element) in blocks {
                if let cidr = CIDR(text) {
                    server.allow.append(cidr)
                } else {
                    reader.error(element, "invalid address block '\(text)' in server.allow; use CIDR, e.g. 10.0.0.0/8")
                }
            }
        }
        if let value = entries["auth"] { server.auth = compileAuth(value) }
    }

    mutating func compileAuth(_ node: Node) -> ServerConfig.Auth? {
        let modes = ["authorization", "basic", "header"]
        guard let entries = reader.mapping(node, allowed: modes, what: "server.auth") else { return nil }
        guard entries.entries.count == 1, let (mode, _, value) = entries.entries.first else {
            reader.error(node, "server.auth takes exactly one of authorization, basic or header")
            return nil
        }
        switch mode {
        case "authorization":
            guard let text = reader.string(value, what: "server.auth.authorization") else { return nil }
            if text.isEmpty { reader.error(value, "server.auth.authorization is empty") }
            checkFieldValue(text, at: value, what: "server.auth.authorization")
            return .authorization(text)
        case "basic":
            guard let fields = reader.mapping(value, allowed: ["username", "password"], what: "server.auth.basic"),
                let userNode = fields["username"], let passwordNode = fields["password"]
            else {
                reader.error(value, "server.auth.basic needs username and password")
                return nil
            }
            guard let username = reader.string(userNode, what: "username"),
                let password = reader.string(passwordNode, what: "password")
            else { return nil }
            if username.isEmpty || username.contains(":") {
                reader.error(userNode, "server.auth.basic.username must be non-empty and hold no ':' (RFC 7617)")
            }
            checkFieldValue(username, at: userNode, what: "server.auth.basic.username")
            checkFieldValue(password, at: passwordNode, what: "server.auth.basic.password")
            return .basic(username: username, password: password)
        default:
            guard let fields = reader.mapping(value, allowed: ["name", "value"], what: "server.auth.header"),
                let nameNode = fields["name"], let valueNode = fields["value"]
            else {
                reader.error(value, "server.auth.header needs name and value")
                return nil
            }
            guard let name = reader.string(nameNode, what: "header name"),
                let secret = reader.string(valueNode, what: "header value")
            else { return nil }
            if !HTTPFieldSyntax.isToken(name) {
                reader.error(
                    nameNode,
                    "server.auth.header.name '\(name)' is not an HTTP field name (letters, digits and !#$%&'*+-.^_`|~, "
                        + "no spaces or ':'): no request could carry it, so the credential could not be checked"
                )
            }
            if secret.isEmpty { reader.error(valueNode, "server.auth.header.value is empty") }
            checkFieldValue(secret, at: valueNode, what: "server.auth.header.value")
            return .header(name: name, value: secret)
        }
    }

    /// A credential holding CR, LF or NUL can never arrive in a request: an error, without echoing the secret.
    mutating func checkFieldValue(_ text: String, at node: Node, what: String) {
        if !HTTPFieldSyntax.isFieldValue(text) {
            reader.error(node, "\(what) holds a line break or NUL, which no HTTP request can carry")
        }
    }

    mutating func compileDefaults(_ node: Node, into defaults: inout RuleSet.Defaults) {
        let keys = ["cooldown", "http", "exec", "evaluation_interval"]
        guard let entries = reader.mapping(node, allowed: keys, what: "defaults") else { return }
        if let value = entries["evaluation_interval"],
            let interval = reader.duration(value, what: "defaults.evaluation_interval")
        {
            if interval < .milliseconds(100) || interval > .seconds(60) {
                reader.error(value, "defaults.evaluation_interval must be between 100ms and 60s")
            } else {
                defaults.evaluationInterval = interval
            }
        }
        if let value = entries["cooldown"], let duration = reader.duration(value, what: "defaults.cooldown") {
            defaults.cooldown = duration
        }
        let kinds = ["timeout", "retries", "concurrency"]
        if let value = entries["http"], let http = reader.mapping(value, allowed: kinds, what: "defaults.http") {
            if let node = http["timeout"], let d = reader.duration(node, what: "timeout") { defaults.httpTimeout = d }
            if let node = http["retries"], let n = reader.int(node, what: "retries", range: 0...100) {
                defaults.httpRetries = n
            }
            if let node = http["concurrency"], let n = reader.int(node, what: "concurrency", range: 1...10000) {
                defaults.httpConcurrency = n
            }
        }
        if let value = entries["exec"], let exec = reader.mapping(value, allowed: kinds, what: "defaults.exec") {
            if let node = exec["timeout"], let d = reader.duration(node, what: "timeout") { defaults.execTimeout = d }
            if let node = exec["retries"], let n = reader.int(node, what: "retries", range: 0...100) {
                defaults.execRetries = n
            }
            if let node = exec["concurrency"], let n = reader.int(node, what: "concurrency", range: 1...1000) {
                defaults.execConcurrency = n
            }
        }
    }

    mutating func compileRule(_ node: Node, defaults: RuleSet.Defaults) -> Rule? {
        let nameNode = node.mapping?["name"]
        let name = nameNode.flatMap { reader.string($0, what: "name") } ?? ""
        let context = name.isEmpty ? "" : " in rule '\(name)'"
        // `unknown key 'cooldwn' in rule 'r1'`, not `… in a rule in rule 'r1'`.
        let what = name.isEmpty ? "a rule" : "rule '\(name)'"
        guard let entries = reader.mapping(node, allowed: RulesLoader.ruleKeys, what: what) else {
            return nil
        }
        if nameNode == nil { reader.error(node, "a rule needs a 'name'") }
        let errorsBefore = reader.diagnostics.filter { $0.severity == .error }.count
        let description = entries["description"].flatMap { reader.string($0, what: "description") } ?? ""
        var predicate = Predicate.always
        if let when = entries["when"] {
            predicate = compilePredicate(when, context: context) ?? .always
        } else if !entries.has("gauge") {
            reader.warning(node, "no 'when': the rule matches every event\(context)")
        }
        var by: [FieldPath] = []
        if let value = entries["by"], let fields = reader.strings(value, what: "by", context: context) {
            for (field, fieldNode) in fields {
                by.append(byFieldPath(field, fieldNode, rule: name, context: context))
            }
        }
        var window: Rule.Window?
        if let value = entries["window"],
            let fields = reader.mapping(value, allowed: ["count", "within"], what: "window", context: context)
        {
            let count = fields["count"].flatMap {
                reader.int($0, what: "window.count", range: 1...100_000, context: context)
            }
            let within = fields["within"].flatMap { reader.duration($0, what: "window.within", context: context) }
            if fields["count"] == nil || fields["within"] == nil {
                reader.error(value, "window needs count and within\(context)")
            } else if let count, let within {
                if within <= .zero { reader.error(fields["within"], "window.within must be longer than 0\(context)") }
                window = Rule.Window(count: count, within: within)
            }
        }
        var sequence: Rule.Sequence?
        if let value = entries["sequence"],
            let fields = reader.mapping(
                value,
                allowed: ["field", "pattern", "within"],
                what: "sequence",
                context: context
            )
        {
            let field =
                fields["field"].flatMap { node in
                    reader.string(node, what: "sequence.field", context: context).map {
                        fieldPath($0, node, context: context)
                    }
                } ?? .known(.dtmf)
            let within = fields["within"].flatMap { reader.duration($0, what: "sequence.within", context: context) }
            if let patternNode = fields["pattern"], let within,
                let pattern = reader.string(patternNode, what: "sequence.pattern", context: context)
            {
                if let regex = compileRegex(pattern, patternNode, context: context) {
                    sequence = Rule.Sequence(field: field, pattern: regex, within: within)
                }
            } else if fields["pattern"] == nil || fields["within"] == nil {
                reader.error(value, "sequence needs pattern and within\(context)")
            }
        }
        let kinds = RulesLoader.kindKeys.filter(entries.has)
        if kinds.count > 1 {
            reader.error(
                entries.keyNode(kinds[1]),
                "a rule takes one of \(RulesLoader.kindKeys.map { "'\($0)'" }.joined(separator: ", "))"
                    + ", not both \(kinds.map { "'\($0)'" }.joined(separator: " and "))\(context)"
            )
        }
        let condition = compileCondition(entries, context: context)
        let isCondition = condition != nil || kinds.contains(where: RulesLoader.conditionKeys.contains)
        let timing = compileTiming(entries, isCondition: isCondition, context: context)
        if case .gauge(let open, let close, _, _, _) = condition {
            // A gauge sees the events that open or close an id, among those `when` selects (default: all).
            let changes = Predicate.any([open, close])
            predicate = entries.has("when") ? .all([predicate, changes]) : changes
        }
        var cooldown = condition == nil ? defaults.cooldown : .zero
        if let value = entries["cooldown"], let duration = reader.duration(value, what: "cooldown", context: context) {
            cooldown = duration
        }
        var actions: [ActionSpec] = []
        var notify: [String] = []
        var notified: [ActionSpec] = []
        if let value = entries["notify"], let names = reader.strings(value, what: "notify", context: context) {
            for (receiver, nameNode) in names {
                guard let receiverActions = receivers[receiver] else {
                    reader.error(
                        nameNode,
                        "unknown receiver '\(receiver)' in notify\(context)"
                            + Suggestion.hint(for: receiver, in: receivers.keys.sorted())
                            + (receivers.isEmpty ? " (define it under the top-level 'receivers')" : "")
                    )
                    continue
                }
                notify.append(receiver)
                notified += receiverActions
            }
        }
        if let value = entries["actions"] {
            if let list = value.sequence {
                for element in list {
                    if let action = compileAction(element, defaults: defaults, context: context) {
                        actions.append(action)
                    }
                }
            } else {
                reader.error(value, "actions must be a list\(context)")
            }
        } else if notify.isEmpty {
            reader.warning(node, "no 'actions' or 'notify': alerts are only counted and listed\(context)")
        }
        actions += notified
        let group = entries["group"].flatMap { compileGroup($0, actions: actions, context: context) }
        let errorsAfter = reader.diagnostics.filter { $0.severity == .error }.count
        guard errorsAfter == errorsBefore, !name.isEmpty else { return nil }
        return Rule(
            name: name,
            description: description,
            predicate: predicate,
            by: by,
            window: window,
            sequence: sequence,
            cooldown: cooldown,
            condition: condition,
            timing: timing,
            notify: notify,
            actions: actions,
            group: group,
            line: node.mark?.line ?? 1
        )
    }

    /// `group: {wait, interval}` (defaults 30s and 5m). A group no action takes is only a warning.
    mutating func compileGroup(_ node: Node, actions: [ActionSpec], context: String) -> Rule.Group? {
        guard let fields = reader.mapping(node, allowed: ["wait", "interval"], what: "group", context: context) else {
            return nil
        }
        var group = Rule.Group()
        if let value = fields["wait"], let wait = reader.duration(value, what: "group.wait", context: context) {
            group.wait = wait
        }
        if let value = fields["interval"],
            let interval = reader.duration(value, what: "group.interval", context: context)
        {
            if interval <= .zero { reader.error(value, "group.interval must be longer than 0\(context)") }
            group.interval = interval
        }
        if !actions.contains(where: \.takesGroup) {
            reader.warning(
                node,
                "group has no effect\(context): only log, exec, http and slack actions send a group "
                    + "(pagerduty and alertmanager stay one event per alert)"
            )
        }
        return group
    }

    /// `receivers`: named lists of actions that rules name in `notify`.
    mutating func compileReceivers(_ node: Node, defaults: RuleSet.Defaults) {
        guard let entries = reader.mapping(node, allowed: nil, what: "receivers") else { return }
        for (name, _, value) in entries.entries {
            let context = " in receiver '\(name)'"
            guard let list = value.sequence else {
                reader.error(value, "a receiver is a list of actions\(context)")
                continue
            }
            if list.isEmpty { reader.warning(value, "receiver '\(name)' has no actions") }
            receivers[name] = list.compactMap { compileAction($0, defaults: defaults, context: context) }
        }
    }

    mutating func fieldPath(_ name: String, _ node: Node, context: String) -> FieldPath {
        let path = FieldPath(name)
        if !path.isDocumented {
            let first = name.split(separator: ".").first.map(String.init) ?? name
            reader.warning(
                node,
                "unknown event field '\(name)'\(context)"
                    + Suggestion.hint(for: first, in: FieldPath.documentedNames)
                    + " (8x8 may add fields; it matches only events that carry it)"
            )
        }
        return path
    }

    mutating func compileRegex(_ pattern: String, _ node: Node, context: String) -> CompiledRegex? {
        if let nested = CompiledRegex.nestedRepetition(in: pattern) {
            reader.warning(
                node,
                "regular expression '\(pattern)' repeats a group that itself repeats ('\(nested)')\(context): "
                    + "some values make that take exponential time, and a match that runs past its budget "
                    + "counts as no match; write it without the nesting (e.g. '(a+)+' is 'a+')"
            )
        }
        do {
            return try CompiledRegex(pattern)
        } catch {
            reader.error(node, "\(error)\(context)")
            return nil
        }
    }
}
