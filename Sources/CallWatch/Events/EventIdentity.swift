/// What de-duplication keys on. The journal's unique index holds these strings, and a journal written under an
/// older rule is migrated with this same one, so the rule below is a contract: change it only with a migration.
///
/// 1. eventType: the envelope's `eventType` string, else the payload's `eventType` string (a bare payload from a
///    test file), else `SESSION_SUMMARY` when the payload has `sessionStatus` and no `eventId` member, else
///    `CALL_STATUS`.
/// 2. A non-empty string `payload.eventId` → `eventType:eventId` (8x8's ids are unique per event, not across
///    event types); else a session summary with a non-empty string `sessionId` → `SESSION_SUMMARY:sessionId`;
///    else `eventType:` + `canonicalHash(payload)`, so an identical redelivery is a duplicate and two different
///    events of one session (two recordings' statuses) are not.
public enum EventIdentity {
    public static func eventType(
        envelope: JSONValue?,
        payload: JSONValue?,
        hasSessionStatus: Bool,
        hasEventId: Bool
    ) -> String {
        if case .string(let type) = envelope { return type }
        if case .string(let type) = payload { return type }
        return hasSessionStatus && !hasEventId ? "SESSION_SUMMARY" : "CALL_STATUS"
    }

    public static func identity(
        eventType: String,
        eventId: JSONValue?,
        sessionId: JSONValue?,
        payload: JSONObject
    ) -> String {
        if case .string(let id) = eventId, !id.isEmpty { return eventType + ":" + id }
        if eventType == "SESSION_SUMMARY", case .string(let id) = sessionId, !id.isEmpty {
            return "SESSION_SUMMARY:" + id
        }
        return eventType + ":" + canonicalHash(payload)
    }

    /// FNV-1a over the payload's canonical JSON (`JSONWriter.canonical`: members sorted by the UTF-8 bytes of their
    /// names at every level, no whitespace, numbers as `JSONValue.format` writes them), in two 64-bit lanes as
    /// `Alert`'s ids are made: 32 lowercase hex digits.
    public static func canonicalHash(_ payload: JSONObject) -> String {
        var writer = JSONWriter()
        writer.writeCanonical(.object(payload))
        var hasher = FNV1a128()
        hasher.combine(writer.bytes)
        return hasher.hex
    }
}
