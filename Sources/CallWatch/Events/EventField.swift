/// The fields callwatch knows by name: 8x8's documented Call Status and Session Summary fields, the envelope's
/// fields and the derived `dtmf`. Each has a slot in `CallEvent`, so a rule reads it without a lookup.
public enum EventField: Int, CaseIterable, Sendable {
    case namespace, eventType, description
    case eventId, callId, sessionId, subAccountId, callStatus, callDirection, callType
    case source, destination, sourceFormat, destinationFormat, sourceCountryCode, destinationCountryCode
    case sourceRefId, destinationRefId, callDuration, eventData, sipCode, timestamp
    case sessionStatus, startTime, endTime, lastAction, callCount, details
    case dtmf

    public var name: String {
        switch self {
        case .namespace: "namespace"
        case .eventType: "eventType"
        case .description: "description"
        case .eventId: "eventId"
        case .callId: "callId"
        case .sessionId: "sessionId"
        case .subAccountId: "subAccountId"
        case .callStatus: "callStatus"
        case .callDirection: "callDirection"
        case .callType: "callType"
        case .source: "source"
        case .destination: "destination"
        case .sourceFormat: "sourceFormat"
        case .destinationFormat: "destinationFormat"
        case .sourceCountryCode: "sourceCountryCode"
        case .destinationCountryCode: "destinationCountryCode"
        case .sourceRefId: "sourceRefId"
        case .destinationRefId: "destinationRefId"
        case .callDuration: "callDuration"
        case .eventData: "eventData"
        case .sipCode: "sipCode"
        case .timestamp: "timestamp"
        case .sessionStatus: "sessionStatus"
        case .startTime: "startTime"
        case .endTime: "endTime"
        case .lastAction: "lastAction"
        case .callCount: "callCount"
        case .details: "details"
        case .dtmf: "dtmf"
        }
    }

    /// Envelope fields live outside `payload`.
    public var isEnvelope: Bool { self == .namespace || self == .eventType || self == .description }

    public static let byName: [String: EventField] = Dictionary(
        uniqueKeysWithValues: allCases.map { ($0.name, $0) }
    )

    /// Payload fields by name: the ones a payload member can fill.
    static let payloadByName: [String: EventField] = byName.filter { !$0.value.isEnvelope && $0.value != .dtmf }
}

/// Where a rule or template reads a value: a known slot, or a dotted path into the payload's (then the
/// envelope's) extra members. Resolved once when the rules load.
public enum FieldPath: Sendable, Hashable, CustomStringConvertible {
    case known(EventField)
    case path([String])

    public init(_ name: String) {
        if let field = EventField.byName[name] {
            self = .known(field)
        } else {
            self = .path(name.split(separator: ".", omittingEmptySubsequences: false).map(String.init))
        }
    }

    public var description: String {
        switch self {
        case .known(let field): field.name
        case .path(let components): components.joined(separator: ".")
        }
    }

    /// True when the path names something 8x8 documents: a known field or a path below one (`details.CallA.…`),
    /// or one of `documentedPaths` or a path below it.
    public var isDocumented: Bool {
        switch self {
        case .known: return true
        case .path(let components):
            if EventField.byName[components[0]] != nil { return true }
            var prefix = ""
            for component in components {
                prefix = prefix.isEmpty ? component : prefix + "." + component
                if Self.documentedPaths.contains(prefix) { return true }
            }
            return false
        }
    }

    /// Fields in 8x8's published examples that have no slot of their own: the envelope's `version`, the recording
    /// status and Call Action fields, the IVR and Voice Messaging summaries' timestamps, and the error and
    /// call-quality objects at the payload's top level. Read through the payload (then the envelope) by name.
    public static let documentedPaths: Set<String> = [
        "version", "recordingId", "status", "clientActionId", "clientRequestId",
        "initiatedTimestamp", "connectedTimestamp", "disconnectedTimestamp",
        "errorDetails.errorCode", "errorDetails.errorMsg",
        "callQuality.mos", "callQuality.packetLossRate", "callQuality.jitter",
    ]

    /// Every documented top-level name (known fields first), for did-you-mean hints.
    public static let documentedNames: [String] =
        EventField.allCases.map(\.name)
        + documentedPaths.compactMap { $0.contains(".") ? nil : $0 }.sorted()
        + ["errorDetails", "callQuality"]
}
