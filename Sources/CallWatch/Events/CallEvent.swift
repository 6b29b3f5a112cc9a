import Foundation

/// One 8x8 event, decoded once: known fields in fixed slots for cheap rule evaluation, the payload kept whole
/// (extra fields included) for dotted paths, templates and the alert JSON.
public struct CallEvent: Sendable {
    /// The envelope's members other than `payload` (empty for a bare payload).
    public var envelope: JSONObject
    public var payload: JSONObject
    /// Indexed by `EventField.rawValue`; `nil` means absent.
    @usableFromInline var slots: [JSONValue?]
    /// What de-duplication keys on: `eventType:eventId`, `SESSION_SUMMARY:sessionId`, else `eventType:` + the
    /// payload's canonical hash (`EventIdentity`).
    public let identity: String
    /// The parsed `timestamp` (or `endTime` of a session summary), when present and valid.
    public let timestamp: Date?

    public enum DecodingError: Error, Equatable, CustomStringConvertible {
        case malformedJSON(JSONParser.Error)
        case notAnObject
        case missingPayload

        public var description: String {
            switch self {
            case .malformedJSON(let error):
                "malformed JSON at line \(error.line), column \(error.column): \(error.message)"
            case .notAnObject: "the body is not a JSON object"
            case .missingPayload: "no 'payload' object"
            }
        }
    }

    /// Decodes a body straight from its bytes. `allowBare` accepts a bare payload (replay/test files).
    public static func decode(
        _ bytes: UnsafeRawBufferPointer,
        allowBare: Bool = false
    ) throws(DecodingError) -> CallEvent {
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes)
        } catch {
            throw .malformedJSON(error)
        }
        return try CallEvent(json: value, allowBare: allowBare)
    }

    public static func decode(_ string: String, allowBare: Bool = false) throws(DecodingError) -> CallEvent {
        var string = string
        return try string.withUTF8 { buffer in
            Result { () throws(DecodingError) in try decode(UnsafeRawBufferPointer(buffer), allowBare: allowBare) }
        }.get()
    }

    public init(json: JSONValue, allowBare: Bool = false) throws(DecodingError) {
        guard case .object(let top) = json else { throw .notAnObject }
        var envelope = JSONObject()
        var payload: JSONObject?
        for member in top.members {
            if member.key == "payload" {
                guard case .object(let object) = member.value else { throw .missingPayload }
                payload = object
            } else {
                envelope.members.append(member)
            }
        }
        if payload == nil {
            guard allowBare, top["eventId"] != nil || top["sessionId"] != nil else { throw .missingPayload }
            payload = top
            envelope = JSONObject()
        }
        self.init(envelope: envelope, payload: payload!)
    }

    public init(envelope: JSONObject, payload: JSONObject) {
        var slots = [JSONValue?](repeating: nil, count: EventField.allCases.count)
        for member in envelope.members {
            switch member.key {
            case "namespace": slots[EventField.namespace.rawValue] = member.value
            case "eventType": slots[EventField.eventType.rawValue] = member.value
            case "description": slots[EventField.description.rawValue] = member.value
            default: break
            }
        }
        var payloadDTMF: JSONValue?
        var payloadEventType: JSONValue?
        for member in payload.members {
            if let field = EventField.payloadByName[member.key] {
                slots[field.rawValue] = member.value
            } else if member.key == "dtmf" {
                payloadDTMF = member.value
            } else if member.key == "eventType" {
                payloadEventType = member.value
            }
        }
        let envelopeEventType = slots[EventField.eventType.rawValue]
        let eventType = EventIdentity.eventType(
            envelope: envelopeEventType,
            payload: payloadEventType,
            hasSessionStatus: slots[EventField.sessionStatus.rawValue] != nil,
            hasEventId: slots[EventField.eventId.rawValue] != nil
        )
        if envelopeEventType == nil {
            // A bare payload from a test file may carry its envelope's eventType.
            slots[EventField.eventType.rawValue] = payloadEventType ?? .string(eventType)
        }
        slots[EventField.dtmf.rawValue] = Self.dtmf(
            payload: payloadDTMF,
            eventData: slots[EventField.eventData.rawValue],
            callStatus: slots[EventField.callStatus.rawValue]
        )
        identity = EventIdentity.identity(
            eventType: eventType,
            eventId: slots[EventField.eventId.rawValue],
            sessionId: slots[EventField.sessionId.rawValue],
            payload: payload
        )
        var timestamp: Date?
        for field in [EventField.timestamp, .endTime] where timestamp == nil {
            if case .string(let text) = slots[field.rawValue] { timestamp = Timestamp.parse(text) }
        }
        self.timestamp = timestamp
        self.envelope = envelope
        self.payload = payload
        self.slots = slots
    }

    /// The digits an event carries, whatever its callStatus, first found of: `payload.dtmf` (a string, or a number
    /// written as digits), `eventData.dtmf`, then, for DTMF_RECEIVED only, the trimmed `eventData` string.
    static func dtmf(payload: JSONValue?, eventData: JSONValue?, callStatus: JSONValue?) -> JSONValue? {
        if let digits = digits(payload) { return digits }
        switch eventData {
        case .object(let object):
            if let digits = digits(object["dtmf"]) { return digits }
        case .string, .number:
            if case .string("DTMF_RECEIVED") = callStatus { return digits(eventData) }
        default:
            break
        }
        return nil
    }

    /// A string trimmed of blanks, or a number as digits; nil when that leaves nothing.
    static func digits(_ value: JSONValue?) -> JSONValue? {
        switch value {
        case .string(let text):
            guard let first = text.utf8.first, let last = text.utf8.last else { return nil }
            if !JSONParser.isWhitespace(first), !JSONParser.isWhitespace(last) { return value }
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            return trimmed.isEmpty ? nil : .string(trimmed)
        case .number(let number):
            return .string(JSONValue.format(number))
        default:
            return nil
        }
    }

    @inlinable
    public subscript(field: EventField) -> JSONValue? {
        slots[field.rawValue]
    }

    /// Reads a field: a known slot, or a dotted path through the payload's members, then the envelope's.
    @inlinable
    public subscript(path: FieldPath) -> JSONValue? {
        switch path {
        case .known(let field): return slots[field.rawValue]
        case .path(let components): return lookup(components)
        }
    }

    /// Calls `body` with the value at `path`, lent rather than copied (what the rule index reads per event).
    @inlinable
    public func withValue<R>(at path: FieldPath, _ body: (borrowing JSONValue?) -> R) -> R {
        switch path {
        case .known(let field): return body(slots[field.rawValue])
        case .path(let components): return body(lookup(components))
        }
    }

    @usableFromInline
    func lookup(_ components: [String]) -> JSONValue? {
        if let known = EventField.byName[components[0]], let value = slots[known.rawValue] {
            return Self.descend(value, components.dropFirst())
        }
        if let value = payload[components[0]] { return Self.descend(value, components.dropFirst()) }
        if let value = envelope[components[0]] { return Self.descend(value, components.dropFirst()) }
        return nil
    }

    static func descend(_ value: JSONValue, _ rest: ArraySlice<String>) -> JSONValue? {
        var current = value
        for component in rest {
            switch current {
            case .object(let object):
                guard let next = object[component] else { return nil }
                current = next
            case .array(let elements):
                guard let index = Int(component), elements.indices.contains(index) else { return nil }
                current = elements[index]
            default:
                return nil
            }
        }
        return current
    }

    /// The payload as JSON, as alerts carry it.
    public var payloadJSON: JSONValue { .object(payload) }
}
