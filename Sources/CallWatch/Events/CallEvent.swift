import Foundation

/// One 8x8 event, decoded once: known fields in fixed slots for cheap rule evaluation, the payload kept whole
/// (extra fields included) for dotted paths, templates and the alert JSON.
public struct CallEvent: Sendable {
    /// The envelope's members other than `payload` (empty for a bare payload).
    public var envelope: JSONObject
    public var payload: JSONObject
    /// Indexed by `EventField.rawValue`; `nil` means absent.
    @usableFromInline var slots: [JSONValue?]
    /// `payload.eventId`, else `eventType` + `payload.sessionId`: what de-duplication keys on.
    public let identity: String
    /// The parsed `timestamp` (or `endTime` of a session summary), when present and valid.
    public let timestamp: Date?

    public enum DecodingError: Error, Equatable, CustomStringConvertible {
        case malformedJSON(String)
        case notAnObject
        case missingPayload
        case missingIdentity

        public var description: String {
            switch self {
            case .malformedJSON(let detail): "malformed JSON: \(detail)"
            case .notAnObject: "the body is not a JSON object"
            case .missingPayload: "no 'payload' object"
            case .missingIdentity: "no non-empty string 'payload.eventId' (or 'sessionId' for a session summary)"
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
            throw .malformedJSON(error.description)
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
        try self.init(envelope: envelope, payload: payload!)
    }

    public init(envelope: JSONObject, payload: JSONObject) throws(DecodingError) {
        var slots = [JSONValue?](repeating: nil, count: EventField.allCases.count)
        for member in envelope.members {
            switch member.key {
            case "namespace": slots[EventField.namespace.rawValue] = member.value
            case "eventType": slots[EventField.eventType.rawValue] = member.value
            case "description": slots[EventField.description.rawValue] = member.value
            default: break
            }
        }
        for member in payload.members {
            if let field = EventField.payloadByName[member.key] {
                slots[field.rawValue] = member.value
            } else if member.key == "eventType", slots[EventField.eventType.rawValue] == nil {
                // A bare payload from a test file may carry its envelope's eventType.
                slots[EventField.eventType.rawValue] = member.value
            }
        }
        if slots[EventField.eventType.rawValue] == nil {
            slots[EventField.eventType.rawValue] = .string(
                slots[EventField.sessionStatus.rawValue] != nil && slots[EventField.eventId.rawValue] == nil
                    ? "SESSION_SUMMARY" : "CALL_STATUS"
            )
        }
        if case .string(let status) = slots[EventField.callStatus.rawValue], status == "DTMF_RECEIVED" {
            slots[EventField.dtmf.rawValue] = Self.dtmf(from: slots[EventField.eventData.rawValue])
        }
        if case .string(let eventId) = slots[EventField.eventId.rawValue], !eventId.isEmpty {
            identity = eventId
        } else if case .string(let sessionId) = slots[EventField.sessionId.rawValue], !sessionId.isEmpty,
            case .string(let eventType) = slots[EventField.eventType.rawValue]
        {
            identity = eventType + ":" + sessionId
        } else {
            throw .missingIdentity
        }
        var timestamp: Date?
        for field in [EventField.timestamp, .endTime] where timestamp == nil {
            if case .string(let text) = slots[field.rawValue] { timestamp = Timestamp.parse(text) }
        }
        self.timestamp = timestamp
        self.envelope = envelope
        self.payload = payload
        self.slots = slots
    }

    /// The digits of a DTMF event: `eventData.dtmf`, else the trimmed `eventData` string.
    static func dtmf(from eventData: JSONValue?) -> JSONValue? {
        switch eventData {
        case .string(let text):
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            return trimmed.isEmpty ? nil : .string(trimmed)
        case .object(let object):
            guard let digits = object["dtmf"] else { return nil }
            if case .string(let text) = digits { return .string(text.trimmingCharacters(in: .whitespacesAndNewlines)) }
            return digits.stringValue.map { .string($0) }
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
