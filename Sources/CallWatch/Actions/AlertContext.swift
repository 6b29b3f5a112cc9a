/// What an action's templates see: the fields of the alert's last event (envelope and payload) at the top level,
/// `dtmf`, `rule.name` and `rule.description`, `alert.*` (`alert.json` among them) and the list `alert.events`.
/// Built once per fired alert, in its `AlertRendering`.
///
/// `@unchecked Sendable`: `values` holds only strings, booleans and arrays and dictionaries of them (see
/// `mustacheValue`), all values, and nothing changes it after `init`.
public struct AlertContext: @unchecked Sendable {
    public let values: [String: Any]
    /// The alert JSON, written once: it is the `{{alert.json}}` value, the exec stdin and the default HTTP body.
    public let alertJSON: String

    public init(alert: Alert, ruleDescription: String? = nil) {
        var values: [String: Any] = [:]
        if let last = alert.events.last {
            for member in last.envelope.members { values[member.key] = Self.mustacheValue(member.value) }
            for member in last.payload.members { values[member.key] = Self.mustacheValue(member.value) }
            if let dtmf = last[.dtmf] { values["dtmf"] = Self.mustacheValue(dtmf) }
        }
        values["rule"] = ["name": alert.rule, "description": ruleDescription ?? alert.description]
        let alertJSON = alert.jsonString
        self.alertJSON = alertJSON
        values["alert"] = Self.alertValues(alert, json: alertJSON)
        self.values = values
    }

    /// A group's context: the first alert's, plus `alerts` (each element the `alert.*` values of one alert) and
    /// `group.id`, `group.count`; its JSON is `{"alerts": [...]}`.
    public init(group id: String, alerts: [Alert]) {
        let members = alerts.map { Self.alertValues($0, json: $0.jsonString) }
        var values = alerts.first.map { AlertContext(alert: $0).values } ?? [:]
        values["alerts"] = members
        let json = JSONWriter.string(.object(JSONObject([("alerts", .array(alerts.map(\.json)))])))
        values["group"] = ["id": id, "count": String(alerts.count), "json": json]
        self.values = values
        self.alertJSON = json
    }

    /// The `alert.*` values of one alert, `json` its alert JSON.
    static func alertValues(_ alert: Alert, json alertJSON: String) -> [String: Any] {
        var alertValues: [String: Any] = [
            "id": alert.id,
            "rule": alert.rule,
            "count": String(alert.count),
            "key": alert.keyText,
            "firstAt": Timestamp.format(alert.firstAt),
            "lastAt": Timestamp.format(alert.lastAt),
            "firedAt": Timestamp.format(alert.firedAt),
            "status": alert.status.rawValue,
            "value": alert.value.map(JSONValue.format) ?? "",
            "startsAt": Timestamp.format(alert.startsAt),
            "endsAt": alert.endsAt.map(Timestamp.format) ?? "",
            "headline": alert.headline,
            "json": alertJSON,
            "events": alert.events.map { event in
                Dictionary(event.payload.members.map { ($0.key, Self.mustacheValue($0.value)) }) { first, _ in first }
            },
        ]
        if let match = alert.match { alertValues["match"] = match }
        return alertValues
    }

    /// Numbers render as they arrived (`486`, not `486.0`); null renders empty.
    static func mustacheValue(_ value: JSONValue) -> Any {
        switch value {
        case .null: return ""
        case .bool(let bool): return bool
        case .number(let number): return JSONValue.format(number)
        case .string(let string): return string
        case .array(let elements): return elements.map(mustacheValue)
        case .object(let object):
            return Dictionary(object.members.map { ($0.key, mustacheValue($0.value)) }) { first, _ in first }
        }
    }

    public func render(_ template: Template) -> String { template.render(values) }

    /// Renders a `json:` body: string leaves through their templates, then encoded, so data cannot break it.
    public func render(_ template: JSONTemplate) -> JSONValue {
        switch template {
        case .literal(let value): return value
        case .string(let leaf): return .string(leaf.render(values))
        case .array(let elements): return .array(elements.map(render))
        case .object(let members): return .object(JSONObject(members.map { ($0.key, render($0.value)) }))
        }
    }

    /// `CALLWATCH_ALERT_ID`, `CALLWATCH_RULE`, `CALLWATCH_ALERT_STATUS`, `CALLWATCH_ALERT_VALUE` (empty without a
    /// value) and every payload field as `CALLWATCH_<UPPER_SNAKE>`; the first four win over a payload field whose
    /// name maps to the same variable.
    public static func environment(for alert: Alert) -> [String: String] {
        var environment: [String: String] = [:]
        if let last = alert.events.last {
            for member in last.payload.members {
                let value: String
                switch member.value {
                case .null: value = ""
                case .array, .object: value = JSONWriter.string(member.value)
                default: value = member.value.stringValue ?? ""
                }
                environment["CALLWATCH_" + upperSnake(member.key)] = value
            }
            if let dtmf = last[.dtmf]?.stringValue { environment["CALLWATCH_DTMF"] = dtmf }
        }
        // Set last: a payload field named `alertId` or `rule` cannot replace the hook's own variables.
        environment["CALLWATCH_ALERT_ID"] = alert.id
        environment["CALLWATCH_RULE"] = alert.rule
        environment["CALLWATCH_ALERT_STATUS"] = alert.status.rawValue
        environment["CALLWATCH_ALERT_VALUE"] = alert.value.map(JSONValue.format) ?? ""
        return environment
    }

    /// `sipCode` → `SIP_CODE`, `sourceRefId` → `SOURCE_REF_ID`; anything not alphanumeric becomes `_`.
    public static func upperSnake(_ name: String) -> String {
        var result: [UInt8] = []
        result.reserveCapacity(name.utf8.count + 4)
        var previousWasLower = false
        for byte in name.utf8 {
            let isUpper = byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z")
            let isLower = byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")
            let isDigit = byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
            if isUpper, previousWasLower { result.append(UInt8(ascii: "_")) }
            if isLower {
                result.append(byte - 32)
            } else if isUpper || isDigit {
                result.append(byte)
            } else if byte < 0x80 || byte >= 0xC0 {
                // One `_` per non-alphanumeric character (continuation bytes of UTF-8 are skipped).
                result.append(UInt8(ascii: "_"))
            }
            previousWasLower = isLower || isDigit
        }
        return String(decoding: result, as: UTF8.self)
    }
}
