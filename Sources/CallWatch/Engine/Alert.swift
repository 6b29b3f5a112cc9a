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
    /// `firing` when a condition began (and at each repeat), `resolved` when it stopped; always `firing` for rules
    /// without a condition over time.
    public var status: AlertStatus
    /// The measure when the alert changed (a ratio, an aggregate, seconds absent, an open count); nil for rules
    /// without a condition over time.
    public var value: Double?
    /// When the condition began firing; `firedAt` for rules without a condition over time.
    public var startsAt: Date
    /// When the condition resolved; nil while it fires.
    public var endsAt: Date?
    public var events: [CallEvent]
    /// 0 for an alert's first notification; k for the k-th `repeat` of a firing condition, which keeps the id.
    public var repetition = 0

    /// The id this notification is stored and delivered under (the outbox row, the HTTP `Idempotency-Key`): the
    /// alert's id, with `+k` for its k-th repeat, so a receiver that de-duplicates retries still gets each repeat.
    public var deliveryID: String {
        get { storedDeliveryID ?? (repetition == 0 ? id : "\(id)+\(repetition)") }
        set { storedDeliveryID = newValue }
    }

    /// Set when the notification is not the fire or a repeat (a firing alert notified when its silence ended), or
    /// read back from the store.
    private var storedDeliveryID: String?

    /// The repeat number a `deliveryID` carries.
    static func repetition(ofDeliveryID deliveryID: String) -> Int {
        guard let plus = deliveryID.lastIndex(of: "+") else { return 0 }
        return Int(deliveryID[deliveryID.index(after: plus)...]) ?? 0
    }

    /// `startsAt` nil means `firedAt`: the defaults describe an alert of a rule without a condition over time.
    public init(
        id: String,
        rule: String,
        description: String,
        key: [(field: String, value: String)],
        count: Int,
        match: String?,
        firstAt: Date,
        lastAt: Date,
        firedAt: Date,
        status: AlertStatus = .firing,
        value: Double? = nil,
        startsAt: Date? = nil,
        endsAt: Date? = nil,
        events: [CallEvent]
    ) {
        self.id = id
        self.rule = rule
        self.description = description
        self.key = key
        self.count = count
        self.match = match
        self.firstAt = firstAt
        self.lastAt = lastAt
        self.firedAt = firedAt
        self.status = status
        self.value = value
        self.startsAt = startsAt ?? firedAt
        self.endsAt = endsAt
        self.events = events
    }

    /// `destination=+62…`, fields joined with `,`.
    public var keyText: String {
        key.map { "\($0.field)=\($0.value)" }.joined(separator: ",")
    }

    /// The alert JSON (the default HTTP body, exec's stdin, `replay --json`), fields in a stable order:
    /// id, rule, description, key, count, match, firstAt, lastAt, firedAt, status, value, startsAt, endsAt, events
    /// (their payloads).
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
                ("status", .string(status.rawValue)),
                ("value", value.map(JSONValue.number) ?? .null),
                ("startsAt", .string(Timestamp.format(startsAt))),
                ("endsAt", endsAt.map { .string(Timestamp.format($0)) } ?? .null),
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
        var hasher = FNV1a128()
        hasher.combine("\(rule)\u{0}\(key)\u{0}\(eventIdentity)".utf8)
        let hex = hasher.hex
        let chars = Array(hex)
        return String(chars[0..<8]) + "-" + String(chars[8..<12]) + "-" + String(chars[12..<16]) + "-"
            + String(chars[16..<20]) + "-" + String(chars[20..<32])
    }
}

extension Alert {
    /// Reads back the alert JSON this type writes and, when given, the events' envelopes (`envelopesJSON`): the
    /// outbox keeps alerts this way. Alerts written before `status`, `value`, `startsAt` and `endsAt` existed read as
    /// `firing`, no value, `startsAt` = `firedAt` and no end.
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
        self.status = object["status"]?.stringValue.flatMap(AlertStatus.init(rawValue:)) ?? .firing
        self.value = object["value"]?.numberValue
        self.startsAt = object["startsAt"]?.stringValue.flatMap(Timestamp.parse) ?? firedAt
        self.endsAt = object["endsAt"]?.stringValue.flatMap(Timestamp.parse)
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
