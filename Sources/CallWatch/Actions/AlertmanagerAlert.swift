import Foundation

/// The Alertmanager (API v2) alert for an alert: posted as a one-element array to `<url>/api/v2/alerts`.
///
/// Alertmanager identifies an alert by its label set, so the labels hold only what stays the same for the alert's
/// whole life (rule, key, the configured labels) and never the status or the value: a condition's firing, repeats
/// and resolution are one Alertmanager alert.
enum AlertmanagerAlert {
    /// The path Alertmanager takes alerts on, below its base URL.
    static let path = "/api/v2/alerts"

    /// `base` without its trailing slashes, then `/api/v2/alerts`.
    static func endpoint(_ base: String) -> String {
        var base = Substring(base)
        while base.hasSuffix("/") { base = base.dropLast() }
        return base + path
    }

    /// Whether `name` is a label name Alertmanager accepts: `[a-zA-Z_][a-zA-Z0-9_]*`.
    static func isValidLabelName(_ name: String) -> Bool {
        guard let first = name.utf8.first, !isDigit(first) else { return false }
        return name.utf8.allSatisfy { isLetter($0) || isDigit($0) || $0 == UInt8(ascii: "_") }
    }

    /// A key field as a label name: every character outside `[a-zA-Z0-9_]` becomes `_` (`details.callA.x` →
    /// `details_callA_x`), and a leading digit gets a `_` before it.
    static func labelName(forField field: String) -> String {
        let scalars = field.unicodeScalars.map { scalar -> Character in
            let ascii = scalar.isASCII ? UInt8(scalar.value) : 0
            return isLetter(ascii) || isDigit(ascii) || ascii == UInt8(ascii: "_") ? Character(scalar) : "_"
        }
        let name = String(scalars)
        guard let first = name.utf8.first, !isDigit(first) else { return "_" + name }
        return name
    }

    /// `{"labels", "annotations": {"summary", "description"}, "startsAt", "endsAt"}`. Labels are `alertname` (the
    /// rule), each key field, then `labels`; a later one replaces an earlier one of the same name. `endsAt` is a
    /// resolved condition's end, absent while a condition fires (Alertmanager keeps it active until its
    /// `resolve_timeout` passes without a repeat), and `firedAt + resolveAfter` for any other alert.
    static func body(for alert: Alert, labels: [(name: String, value: String)], resolveAfter: Duration) -> JSONValue {
        var labelObject = JSONObject([("alertname", .string(alert.rule))])
        for (field, value) in alert.key { labelObject[labelName(forField: field)] = .string(value) }
        for (name, value) in labels { labelObject[name] = .string(value) }
        var object = JSONObject([
            ("labels", .object(labelObject)),
            (
                "annotations",
                .object(
                    JSONObject([("summary", .string(alert.headline)), ("description", .string(alert.description))])
                )
            ),
            ("startsAt", .string(Timestamp.format(alert.startsAt))),
        ])
        if let endsAt = endsAt(for: alert, resolveAfter: resolveAfter) {
            object["endsAt"] = .string(Timestamp.format(endsAt))
        }
        return .array([.object(object)])
    }

    static func endsAt(for alert: Alert, resolveAfter: Duration) -> Date? {
        if alert.status == .resolved { return alert.endsAt ?? alert.firedAt }
        if alert.isCondition { return nil }
        return alert.firedAt.addingTimeInterval(resolveAfter.seconds)
    }

    private static func isLetter(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
    }

    private static func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }
}
