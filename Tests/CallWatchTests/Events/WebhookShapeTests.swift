import CallWatchTestSupport
import Foundation
import Testing

@testable import CallWatch

/// Events in each shape 8x8's documentation shows (Fixtures/8x8): decoded, identified, their DTMF digits found and
/// their documented fields known, and a rule on each fires.
@Suite struct WebhookShapeTests {
    static func fixture(_ name: String) throws -> String {
        try EventDecodingTests.fixture("8x8/" + name)
    }

    static func event(_ name: String) throws -> CallEvent {
        try CallEvent.decode(try fixture(name))
    }

    struct Shape: Sendable, CustomTestStringConvertible {
        var file: String
        var eventType: String
        var identity: String?
        var testDescription: String { file }
    }

    static let shapes: [Shape] = [
        Shape(
            file: "vcs-dtmf-received.json",
            eventType: "CALL_STATUS",
            identity: "CALL_STATUS:3c9e1f20-7a41-11f1-a0b2-0242ac130003"
        ),
        Shape(
            file: "vca-action-completed.json",
            eventType: "CALL_ACTION",
            identity: "CALL_ACTION:91d2c6e8-7a41-11f1-8e11-0242ac130003"
        ),
        Shape(
            file: "vss-ivr.json",
            eventType: "SESSION_SUMMARY",
            identity: "SESSION_SUMMARY:d5e4f0c2-7a41-11f1-b3c7-0242ac130003"
        ),
        Shape(
            file: "vss-voice-messaging.json",
            eventType: "SESSION_SUMMARY",
            identity: "SESSION_SUMMARY:e8f1a3b4-7a41-11f1-94aa-0242ac130003"
        ),
        Shape(file: "recording-status-uploaded.json", eventType: "CALL_RECORDING_STATUS", identity: nil),
        Shape(file: "recording-status-upload-failed.json", eventType: "CALL_RECORDING_STATUS", identity: nil),
        Shape(file: "virtual-number-update.json", eventType: "VIRTUAL_NUMBER_UPDATE", identity: nil),
    ]

    @Test(arguments: shapes)
    func decodesEachShape(_ shape: Shape) throws {
        let event = try Self.event(shape.file)
        #expect(event[.eventType] == .string(shape.eventType))
        #expect(event[.namespace] == .string("VOICE"))
        if let identity = shape.identity {
            #expect(event.identity == identity)
        } else {
            // No eventId and no session summary: the event type and the hash of the payload's canonical JSON.
            let hash = event.identity.dropFirst(shape.eventType.count + 1)
            #expect(event.identity.hasPrefix(shape.eventType + ":"))
            #expect(hash.count == 32 && hash.allSatisfy(\.isHexDigit), "identity was \(event.identity)")
        }
    }

    @Test func documentedFieldsOfEachShapeAreReachable() throws {
        let ivr = try Self.event("vss-ivr.json")
        #expect(ivr[FieldPath("errorDetails.errorCode")] == .number(-3001))
        #expect(ivr[FieldPath("errorDetails.errorMsg")] == .string("Callflow response timed out"))
        #expect(ivr[FieldPath("callQuality.mos")] == .number(3.2))
        #expect(ivr[FieldPath("version")] == .number(1), "the envelope's version")
        #expect(ivr[FieldPath("details.callA.connectedTimestamp")] == .string("2026-03-02T09:30:01.410Z"))
        let messaging = try Self.event("vss-voice-messaging.json")
        #expect(messaging[FieldPath("details.CallA.sipCode")] == .number(480))
        #expect(messaging[FieldPath("clientRequestId")] == .string("reminder-2026-03-02-0042"))
        #expect(messaging.timestamp == Timestamp.parse("2026-03-02T10:00:31.000Z"), "endTime stands in")
        let action = try Self.event("vca-action-completed.json")
        #expect(action[FieldPath("clientActionId")] == .string("menu_main"))
        let recording = try Self.event("recording-status-upload-failed.json")
        #expect(recording[FieldPath("recordingId")] == .string("rec-f2a7c1d0-0002"))
        #expect(recording[FieldPath("status")] == .string("UPLOAD_FAILED"))
        let numbers = try Self.event("virtual-number-update.json")
        #expect(numbers[FieldPath("virtualNumbers.1.health")] == .string("DEGRADED"))
        #expect(numbers.timestamp == nil)
    }

    static let documented = [
        "errorDetails.errorCode", "errorDetails.errorMsg", "callQuality.mos", "callQuality.packetLossRate",
        "callQuality.jitter", "clientActionId", "clientRequestId", "version", "recordingId", "status", "lastAction",
        "initiatedTimestamp", "connectedTimestamp", "disconnectedTimestamp", "details.callA.sipCode",
        "details.callB.errorDetails.errorCode", "details.CallA.callDuration", "details.CallB.callStatus",
    ]

    @Test(arguments: documented)
    func documentedPathsAreKnown(_ path: String) {
        #expect(FieldPath(path).isDocumented)
    }

    @Test func undocumentedPathsStayUnknown() {
        for path in ["errorDetail.errorCode", "callQuality.mosScore", "clientActionID", "recording"] {
            #expect(!FieldPath(path).isDocumented, "\(path)")
        }
        #expect(FieldPath.documentedNames.contains("clientActionId"))
        #expect(FieldPath.documentedNames.contains("errorDetails"))
    }

    @Test func rulesOnDocumentedFieldsLoadWithoutWarnings() throws {
        let ruleSet = try EngineTests.ruleSet(
            """
              - name: documented
                when:
                  errorDetails.errorCode: {lt: 0}
                  errorDetails.errorMsg: {exists: true}
                  callQuality.mos: {lt: 3.5}
                  callQuality.packetLossRate: {gt: 0.01}
                  callQuality.jitter: {gt: 20}
                  clientActionId: {exists: true}
                  clientRequestId: {exists: true}
                  version: 1
                  recordingId: {exists: true}
                  status: UPLOAD_FAILED
                  initiatedTimestamp: {exists: true}
                  connectedTimestamp: {exists: true}
                  disconnectedTimestamp: {exists: true}
                  details.CallA.sipCode: 480
                  details.callB.errorDetails.errorCode: -2003
                actions: []

            """
        )
        #expect(ruleSet.warnings.map(\.description) == [])
    }

    // MARK: DTMF

    @Test func dtmfFromEachPlace() throws {
        #expect(try Self.event("vcs-dtmf-received.json")[.dtmf] == .string("9"), "payload.dtmf")
        #expect(
            try Self.event("vca-action-completed.json")[.dtmf] == .string("2"),
            "eventData.dtmf at ACTION_COMPLETED"
        )
        let number = try CallEvent.decode(
            #"{"eventId": "n", "callStatus": "DTMF_RECEIVED", "dtmf": 5}"#,
            allowBare: true
        )
        #expect(number[.dtmf] == .string("5"), "a number renders as digits")
        let both = try CallEvent.decode(
            ##"{"eventId": "b", "callStatus": "DTMF_RECEIVED", "dtmf": "#", "eventData": {"dtmf": "1"}}"##,
            allowBare: true
        )
        #expect(both[.dtmf] == .string("#"), "payload.dtmf comes first")
        let blank = try CallEvent.decode(
            #"{"eventId": "e", "callStatus": "DTMF_RECEIVED", "dtmf": " ", "eventData": "7"}"#,
            allowBare: true
        )
        #expect(blank[.dtmf] == .string("7"), "a blank payload.dtmf carries no digit")
        #expect(blank.payload["dtmf"] == .string(" "), "the payload keeps what arrived")
    }

    static let sequenceRule = """
          - name: agent
            when: {callStatus: {in: [DTMF_RECEIVED, ACTION_COMPLETED]}}
            by: [callId]
            sequence: {field: dtmf, pattern: '\\*9#', within: 30s}
            actions: []

        """

    @Test func digitsFromTheThreePlacesDriveOneSequence() throws {
        var engine = try EngineTests.engine(Self.sequenceRule)
        let events = [
            #"{"eventId": "s1", "callId": "c", "callStatus": "DTMF_RECEIVED", "dtmf": "*"}"#,
            #"{"eventId": "s2", "callId": "c", "callStatus": "ACTION_COMPLETED", "eventData": {"dtmf": 9}}"#,
            ##"{"eventId": "s3", "callId": "c", "callStatus": "DTMF_RECEIVED", "eventData": " # "}"##,
        ]
        var fired: [Alert] = []
        for (offset, body) in events.enumerated() {
            let event = try CallEvent.decode(body, allowBare: true)
            fired += engine.evaluate(event, at: EngineTests.at(Double(offset))).fired
        }
        #expect(fired.map(\.match) == ["*9#"])
    }

    @Test func aRuleOnDtmfReadsPayloadDtmf() throws {
        var engine = try EngineTests.engine(
            """
              - name: pressed-nine
                when: {dtmf: "9"}
                actions: []

            """
        )
        let fired = engine.evaluate(try Self.event("vcs-dtmf-received.json"), at: EngineTests.origin).fired
        #expect(fired.map(\.rule) == ["pressed-nine"])
    }

    // MARK: A rule per shape

    static let perShapeRules = WebhookShapes.rulesYAML { _ in "[]" }

    static let firedBy = WebhookShapes.rules.map { ($0.file, $0.rule) }

    @Test(arguments: firedBy)
    func aRuleMatchingEachShapeFires(file: String, rule: String) throws {
        var engine = try EngineTests.engine(Self.perShapeRules)
        let fired = engine.evaluate(try Self.event(file), at: EngineTests.origin).fired
        #expect(fired.map(\.rule) == [rule])
    }

    // MARK: Identity

    @Test func twoRecordingStatusesOfOneSessionAreTwoEvents() throws {
        let uploaded = try Self.event("recording-status-uploaded.json")
        let failed = try Self.event("recording-status-upload-failed.json")
        #expect(uploaded[.sessionId] == failed[.sessionId])
        #expect(uploaded.identity != failed.identity)
    }

    @Test func aRedeliveryHasTheSameIdentityHoweverItIsWritten() throws {
        let pretty = try Self.event("recording-status-uploaded.json")
        let compact = try CallEvent.decode(
            #"{"eventType":"CALL_RECORDING_STATUS","payload":{"timestamp":"2026-03-02T10:12:00.500Z","#
                + #""status":"UPLOADED","recordingId":"rec-f2a7c1d0-0001","subAccountId":"acme_masking","#
                + #""sessionId":"f2a7c1d0-7a41-11f1-8b5e-0242ac130003"}}"#
        )
        #expect(compact.identity == pretty.identity, "member order and whitespace do not change the identity")
        let changed = try CallEvent.decode(
            #"{"eventType":"CALL_RECORDING_STATUS","payload":{"sessionId":"f2a7c1d0-7a41-11f1-8b5e-0242ac130003","#
                + #""recordingId":"rec-f2a7c1d0-0001","status":"UPLOADED","timestamp":"2026-03-02T10:12:00.501Z"}}"#
        )
        #expect(changed.identity != pretty.identity)
    }

    @Test func eventIdsAreUniquePerEventType() throws {
        let status = try CallEvent.decode(#"{"eventType": "CALL_STATUS", "payload": {"eventId": "same"}}"#)
        let action = try CallEvent.decode(#"{"eventType": "CALL_ACTION", "payload": {"eventId": "same"}}"#)
        #expect(status.identity == "CALL_STATUS:same")
        #expect(action.identity == "CALL_ACTION:same")
    }

    @Test func identityRuleCases() throws {
        func identity(_ body: String, bare: Bool = false) throws -> String {
            try CallEvent.decode(body, allowBare: bare).identity
        }
        #expect(try identity(#"{"payload": {"eventId": "e"}}"#) == "CALL_STATUS:e", "no eventType: CALL_STATUS")
        #expect(
            try identity(#"{"eventType": "CALL_ACTION", "sessionId": "s", "x": 1}"#, bare: true).hasPrefix(
                "CALL_ACTION:"
            )
        )
        #expect(try identity(#"{"payload": {"sessionId": "s", "sessionStatus": "FAILED"}}"#) == "SESSION_SUMMARY:s")
        #expect(
            try identity(#"{"payload": {"sessionId": "s", "sessionStatus": "FAILED", "eventId": ""}}"#)
                .hasPrefix("CALL_STATUS:"),
            "an eventId member, even empty, means it is not a session summary by default"
        )
        #expect(
            try identity(#"{"eventType": "CALL_RECORDING_STATUS", "payload": {"sessionId": "s"}}"#)
                != "CALL_RECORDING_STATUS:s"
        )
        #expect(
            try identity(#"{"payload": {"eventId": 42}}"#).hasPrefix("CALL_STATUS:"),
            "a non-string eventId is hashed"
        )
        #expect(try identity(#"{"payload": {}}"#) == "CALL_STATUS:" + EventIdentity.canonicalHash(JSONObject()))
    }

    @Test func canonicalJSONSortsMembersAtEveryLevel() throws {
        var writer = JSONWriter()
        writer.writeCanonical(try JSONParser.parse(#"{"b": [ {"z": 1, "a": 2.5} ], "a": null, "B": "x\n"}"#))
        #expect(writer.output == #"{"B":"x\n","a":null,"b":[{"a":2.5,"z":1}]}"#)
    }

    @Test func aNonObjectPayloadIsRefused() {
        #expect(throws: CallEvent.DecodingError.missingPayload) { try CallEvent.decode(#"{"payload": []}"#) }
        #expect(throws: CallEvent.DecodingError.missingPayload) { try CallEvent.decode(#"{"eventType": "X"}"#) }
    }

    // MARK: JSON errors

    @Test func aMalformedBodyNamesLineAndColumn() throws {
        let body = try Self.fixture("vca-call-received-commented.json")
        #expect(throws: CallEvent.DecodingError.self) { try CallEvent.decode(body) }
        do {
            _ = try CallEvent.decode(body)
        } catch {
            #expect(error.description == "malformed JSON at line 21, column 21: expected a member name")
        }
        do {
            _ = try JSONParser.parse("{\"a\": \"é\",\n  \"b\": 1 \"c\"}")
        } catch {
            #expect((error.line, error.column) == (2, 10), "columns count characters, not bytes")
            #expect(error.message == "expected ',' or '}'")
        }
    }
}
