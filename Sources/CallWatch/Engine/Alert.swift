import Foundation

/// A fired rule. Its `id` is derived from the rule, the key and the event that completed it, so
/// evaluating the same events again (replay, crash recovery) yields the same id: a natural idempotency key.
public struct Alert: Sendable {
    public var id: String
    public var rule: String
    public var description: String
    /// `by` field → value, in `by` order.
    public var key: [(field: String, value: String)]
    public var count: Int
    public var match: String?
    public var firstAt: Date
    public var lastAt: Date
    public var firedAt: Date
    public var events: [CallEvent]

    /// `destination=+62…`, fields joined with `,`.
    public var keyText: String {
        key.map { "\($0.field)=\($0.value)" }.joined(separator: ",")
    }

    /// The alert JSON (the default HTTP body, exec's stdin, `replay --json`), fields in a stable order:
    /// id, rule, description, key, count, match, firstAt, lastAt, firedAt, events (their payloads).
    public var json: JSONValue {
        .object(
            JSONObject([
                ("id", .string(id)),
                ("rule", .string(rule)),
                ("description", .string(description)),
                ("key", .object(JSONObject(key.map { ($0.field, .string($0.value)) }))),
                ("count", .number(Double(count))),
                ("match", match.map(JSONValue.string) ?? .null),
                ("firstAt", .string(Timestamp.format(firstAt))),
                ("lastAt", .string(Timestamp.format(lastAt))),
                ("firedAt", .string(Timestamp.format(firedAt))),
                ("events", .array(events.map(\.payloadJSON))),
            ])
        )
    }

    public var jsonString: String { JSONWriter.string(json) }

    /// Each event's envelope (`namespace`, `eventType`, …), which the alert JSON leaves out: kept beside it in the
    /// outbox so that a resumed action renders exactly as the live one would have.
    public var envelopesJSON: String {
        JSONWriter.string(.array(events.map { .object($0.envelope) }))
    }

    /// A stable id: FNV-1a (128 bits as two 64-bit lanes) over rule, key and the completing event's identity,
    /// printed in UUID form.
    static func makeID(rule: String, key: String, eventIdentity: String) -> String {
        var first: UInt64 = 0xcbf2_9ce4_8422_2325
        var second: UInt64 = 0x8422_2325_cbf2_9ce4
        for byte in "\(rule)\u{0}\(key)\u{0}\(eventIdentity)".utf8 {
            first = (first ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
            second = (second ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
            second = second ^ (second >> 29)
        }
        let hex = String(first, radix: 16).leftPadded(16) + String(second, radix: 16).leftPadded(16)
        let chars = Array(hex)
        return String(chars[0..<8]) + "-" + String(chars[8..<12]) + "-" + String(chars[12..<16]) + "-"
            + String(chars[16..<20]) + "-" + String(chars[20..<32])
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}

extension Alert {
    /// Reads back the alert JSON this type writes and, when given, the events' envelopes (`envelopesJSON`): the
    /// outbox keeps alerts this way.
    public init?(json text: String, envelopes: String? = nil) {
        guard case .object(let object) = try? JSONParser.parse(text),
            case .string(let id) = object["id"], case .string(let rule) = object["rule"]
        else { return nil }
        self.id = id
        self.rule = rule
        self.description = object["description"]?.stringValue ?? ""
        self.key = (object["key"]?.objectValue?.members ?? []).map { ($0.key, $0.value.stringValue ?? "") }
        self.count = Int(object["count"]?.numberValue ?? 0)
        self.match = object["match"].flatMap { $0.isNull ? nil : $0.stringValue }
        func date(_ name: String) -> Date { object[name]?.stringValue.flatMap(Timestamp.parse) ?? Date() }
        self.firstAt = date("firstAt")
        self.lastAt = date("lastAt")
        self.firedAt = date("firedAt")
        var envelopeObjects: [JSONObject] = []
        if let envelopes, case .array(let values) = try? JSONParser.parse(envelopes) {
            envelopeObjects = values.map { $0.objectValue ?? JSONObject() }
        }
        if case .array(let payloads) = object["events"] {
            self.events = payloads.enumerated().compactMap { position, payload in
                guard case .object(let members) = payload else { return nil }
                let envelope = position < envelopeObjects.count ? envelopeObjects[position] : JSONObject()
                return CallEvent(envelope: envelope, payload: members)
            }
        } else {
            self.events = []
        }
    }
}
