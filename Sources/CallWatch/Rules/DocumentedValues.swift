/// What 8x8's webhook documentation says about the values of some fields: which fields take one of a listed set of
/// values, and which hold numbers. The loader uses it to catch a comparison that loads but can never hold; nothing
/// here is consulted per event.
enum DocumentedValues {
    /// Fields for which 8x8 lists every value (Call Status, Call Action, Session Summary, Recording Status and Virtual
    /// Number Updated webhooks). Session summaries spell no-answer both `NO_ANSWER` and, in older pages, `NO ANSWER`.
    static let listed: [String: [String]] = [
        "callStatus": [
            "CALL_INITIATED", "CALL_RECEIVED", "CALL_CONNECTED", "CALL_DISCONNECTED", "CALL_UPDATED", "DTMF_RECEIVED",
            "ACTION_COMPLETED",
        ],
        "callDirection": ["INBOUND", "OUTBOUND"],
        "callType": ["PSTN", "VOIP"],
        "eventType": [
            "CALL_STATUS", "SESSION_SUMMARY", "CALL_ACTION", "CALL_RECORDING_STATUS", "VIRTUAL_NUMBER_UPDATE",
        ],
        "sessionStatus": [
            "COMPLETED", "NO_ANSWER", "NO ANSWER", "BUSY", "CANCELED", "FAILED", "ERROR", "COMPLETED_UNSUBSCRIBED",
            "COMPLETED_UNSUB_ERROR", "UNSUBSCRIBED_CONTACT",
        ],
    ]

    /// Fields 8x8 documents as numbers (or sends as numbers, like `callDuration`).
    static let numeric: Set<String> = [
        "sipCode", "callDuration", "callCount", "callQuality.mos", "callQuality.packetLossRate", "callQuality.jitter",
        "errorDetails.errorCode",
    ]

    /// The documented name a rule's field stands for: a call leg's fields inside a session summary
    /// (`details.callA.callDirection`, `details.CallB.errorDetails.errorCode`) are those of a call.
    static func documentedName(of field: String) -> String {
        let components = field.split(separator: ".", omittingEmptySubsequences: false)
        guard components.count >= 3, components[0] == "details" else { return field }
        return components.dropFirst(2).joined(separator: ".")
    }

    /// The values 8x8 lists for `field`, if it lists them.
    static func values(of field: String) -> [String]? { listed[documentedName(of: field)] }

    static func isNumeric(_ field: String) -> Bool { numeric.contains(documentedName(of: field)) }
}
