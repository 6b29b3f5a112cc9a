import Foundation

/// A time during which alerts of a rule, or whose key fields match, are recorded `silenced` and not notified:
/// maintenance of a carrier, a known outage. Matchers compare an alert's key fields (`destination`,
/// `destinationCountryCode`…) as Alertmanager's do: `=`, `!=`, `=~` and `!~`, the regular expressions anchored (a
/// whole-value match). A field the alert's key lacks reads as "".
public struct Silence: Sendable, Equatable {
    public struct Matcher: Sendable, Equatable {
        public enum Operator: String, Sendable, CaseIterable {
            case equal = "="
            case notEqual = "!="
            case matches = "=~"
            case notMatches = "!~"
        }

        public var field: String
        public var op: Operator
        public var value: String
        let regex: CompiledRegex?

        public init(field: String, op: Operator, value: String) throws(SilenceError) {
            guard !field.isEmpty else { throw SilenceError("a matcher needs a field") }
            self.field = field
            self.op = op
            self.value = value
            switch op {
            case .equal, .notEqual:
                regex = nil
            case .matches, .notMatches:
                do {
                    regex = try CompiledRegex("^(?:" + value + ")$")
                } catch {
                    throw SilenceError("invalid regular expression '\(value)' for \(field): \(error)")
                }
            }
        }

        /// `FIELD=VALUE`, `FIELD!=VALUE`, `FIELD=~RE`, `FIELD!~RE` (the CLI's form).
        public init(parsing text: String) throws(SilenceError) {
            for op in [Operator.notMatches, .matches, .notEqual, .equal] {
                if let range = text.range(of: op.rawValue) {
                    try self.init(
                        field: String(text[..<range.lowerBound]),
                        op: op,
                        value: String(text[range.upperBound...])
                    )
                    return
                }
            }
            throw SilenceError("a matcher is FIELD=VALUE, FIELD!=VALUE, FIELD=~RE or FIELD!~RE, not '\(text)'")
        }

        public func matches(_ value: String) -> Bool {
            switch op {
            case .equal: value == self.value
            case .notEqual: value != self.value
            case .matches: regex?.contains(in: value) ?? false
            case .notMatches: !(regex?.contains(in: value) ?? false)
            }
        }

        public var description: String { field + op.rawValue + value }

        public static func == (lhs: Matcher, rhs: Matcher) -> Bool {
            lhs.field == rhs.field && lhs.op == rhs.op && lhs.value == rhs.value
        }
    }

    public var id: String
    /// Only this rule's alerts, when set.
    public var rule: String?
    public var matchers: [Matcher]
    public var startsAt: Date
    public var endsAt: Date
    public var comment: String
    public var author: String
    public var createdAt: Date

    public init(
        id: String = UUID().uuidString.lowercased(),
        rule: String?,
        matchers: [Matcher],
        startsAt: Date,
        endsAt: Date,
        comment: String,
        author: String,
        createdAt: Date = Date()
    ) throws(SilenceError) {
        guard rule != nil || !matchers.isEmpty else {
            throw SilenceError("a silence needs a rule or at least one matcher (it would mute everything)")
        }
        guard endsAt > startsAt else { throw SilenceError("a silence must end after it starts") }
        guard !comment.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw SilenceError("a silence needs a comment (why it mutes)")
        }
        self.id = id
        self.rule = rule
        self.matchers = matchers
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.comment = comment
        self.author = author
        self.createdAt = createdAt
    }

    /// `pending` before it starts, `active` while in force, `expired` after.
    public func state(at now: Date) -> String {
        now < startsAt ? "pending" : now < endsAt ? "active" : "expired"
    }

    public func isActive(at now: Date) -> Bool { now >= startsAt && now < endsAt }

    /// Whether it mutes `alert` (whatever the time).
    public func matches(_ alert: Alert) -> Bool {
        if let rule, rule != alert.rule { return false }
        return matchers.allSatisfy { matcher in
            matcher.matches(alert.key.first { $0.field == matcher.field }?.value ?? "")
        }
    }

    // MARK: JSON (the API's shape, also how the store keeps it)

    public var json: JSONValue {
        .object(
            JSONObject([
                ("id", .string(id)),
                ("rule", rule.map(JSONValue.string) ?? .null),
                (
                    "matchers",
                    .array(
                        matchers.map {
                            .object(
                                JSONObject([
                                    ("field", .string($0.field)), ("op", .string($0.op.rawValue)),
                                    ("value", .string($0.value)),
                                ])
                            )
                        }
                    )
                ),
                ("startsAt", .string(Timestamp.format(startsAt))),
                ("endsAt", .string(Timestamp.format(endsAt))),
                ("comment", .string(comment)),
                ("author", .string(author)),
                ("createdAt", .string(Timestamp.format(createdAt))),
            ])
        )
    }

    /// Reads the API's `{"rule", "matchers": [{"field", "op", "value"}], "startsAt", "endsAt", "comment",
    /// "author"}` (`id` and `createdAt` kept when present); `startsAt` defaults to `now`.
    public init(json: JSONValue, now: Date = Date()) throws(SilenceError) {
        guard case .object(let object) = json else { throw SilenceError("a silence is a JSON object") }
        func text(_ name: String) throws(SilenceError) -> String? {
            switch object[name] {
            case nil, .null?: return nil
            case .string(let value)?: return value
            default: throw SilenceError("'\(name)' must be a string")
            }
        }
        func time(_ name: String) throws(SilenceError) -> Date? {
            guard let value = try text(name) else { return nil }
            guard let date = Timestamp.parse(value) else {
                throw SilenceError("'\(name)' must be an ISO 8601 time, not '\(value)'")
            }
            return date
        }
        var matchers: [Matcher] = []
        switch object["matchers"] {
        case nil, .null?: break
        case .array(let elements)?:
            for element in elements {
                guard case .object(let member) = element, case .string(let field) = member["field"],
                    case .string(let value) = member["value"]
                else { throw SilenceError("a matcher is {\"field\", \"op\", \"value\"} with string values") }
                let opText = member["op"]?.stringValue ?? "="
                guard let op = Matcher.Operator(rawValue: opText) else {
                    throw SilenceError("unknown matcher op '\(opText)': one of =, !=, =~, !~")
                }
                matchers.append(try Matcher(field: field, op: op, value: value))
            }
        default:
            throw SilenceError("'matchers' must be a list")
        }
        guard let endsAt = try time("endsAt") else { throw SilenceError("a silence needs 'endsAt'") }
        try self.init(
            id: try text("id") ?? UUID().uuidString.lowercased(),
            rule: try text("rule"),
            matchers: matchers,
            startsAt: try time("startsAt") ?? now,
            endsAt: endsAt,
            comment: try text("comment") ?? "",
            author: try text("author") ?? "",
            createdAt: try time("createdAt") ?? now
        )
    }
}

/// Why a silence was refused: the message the API and CLI show.
public struct SilenceError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
