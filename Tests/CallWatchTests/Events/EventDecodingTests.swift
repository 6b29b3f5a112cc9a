import Foundation
import Testing

@testable import CallWatch

/// Lenient decoding of 8x8 Call Status and Session Summary events, and the JSON reader/writer under it.
@Suite struct EventDecodingTests {
    // MARK: Fixtures

    static func fixture(_ name: String) throws -> String {
        let url = try #require(
            Bundle.module.url(forResource: "Fixtures/" + name, withExtension: nil)
                ?? Bundle.module.resourceURL?.appendingPathComponent("Fixtures/" + name),
            "fixture \(name) is not in the test bundle"
        )
        return try String(contentsOf: url, encoding: .utf8)
    }

    static func fixtureLines() throws -> [String] {
        try fixture("vcs-call-status.jsonl").split(separator: "\n").map(String.init)
    }

    @Test func decodesEveryFixtureEnvelope() throws {
        let lines = try Self.fixtureLines()
        #expect(lines.count == 8)
        for (number, line) in lines.enumerated() {
            let event = try CallEvent.decode(line)
            #expect(event[.namespace] == .string("VOICE"), "line \(number + 1)")
            #expect(event[.eventType] == .string("CALL_STATUS"), "line \(number + 1)")
            #expect(event.envelope["payload"] == nil, "the envelope must not keep the payload")
        }
    }

    @Test func envelopeFieldsLandInTheirSlots() throws {
        let event = try CallEvent.decode(try Self.fixtureLines()[0])
        #expect(event.identity == "CALL_STATUS:e1f0a001-4f1d-11f1-8a01-0242ac120002")
        #expect(event[.eventId] == .string("e1f0a001-4f1d-11f1-8a01-0242ac120002"))
        #expect(event[.callStatus] == .string("CALL_RECEIVED"))
        #expect(event[.callDirection] == .string("INBOUND"))
        #expect(event[.callType] == .string("PSTN"))
        #expect(event[.source] == .string("+6583891703"))
        #expect(event[.sipCode] == .number(200))
        #expect(event[.callDuration] == .number(0))
        #expect(event[.description] == .string("Status update of a call"))
        #expect(event.envelope["namespace"] == .string("VOICE"))
        #expect(event.payload["eventId"] == event[.eventId])
    }

    @Test func bareTopLevelPayloadIsAcceptedOnlyWhenAllowed() throws {
        let body = #"{"eventId": "bare-1", "callStatus": "CALL_CONNECTED", "sipCode": 200}"#
        let event = try CallEvent.decode(body, allowBare: true)
        #expect(event.identity == "CALL_STATUS:bare-1")
        #expect(event[.callStatus] == .string("CALL_CONNECTED"))
        #expect(event.envelope.members.isEmpty)
        #expect(event[.eventType] == .string("CALL_STATUS"), "a bare payload defaults to CALL_STATUS")
        #expect(throws: CallEvent.DecodingError.missingPayload) { try CallEvent.decode(body) }
    }

    @Test func bareTestPayloadMayCarryItsEventType() throws {
        let event = try CallEvent.decode(
            #"{"eventType": "SESSION_SUMMARY", "sessionId": "s1", "sessionStatus": "FAILED"}"#,
            allowBare: true
        )
        #expect(event[.eventType] == .string("SESSION_SUMMARY"))
        #expect(event.identity == "SESSION_SUMMARY:s1")
    }

    @Test func numbersArriveAsNumbersOrNumericStrings() throws {
        let lines = try Self.fixtureLines()
        let number = try CallEvent.decode(lines[4])
        let string = try CallEvent.decode(lines[5])
        #expect(number[.callDuration] == .number(83))
        #expect(string[.callDuration] == .string("88"))
        #expect(number[.callDuration]?.numberValue == 83)
        #expect(string[.callDuration]?.numberValue == 88)
        let event = try CallEvent.decode(
            #"{"eventId": "n", "sipCode": " 486 ", "callDuration": "1.5", "callCount": "two"}"#,
            allowBare: true
        )
        #expect(event[.sipCode]?.numberValue == 486)
        #expect(event[.callDuration]?.numberValue == 1.5)
        #expect(event[.callCount]?.numberValue == nil)
        #expect(JSONValue.string("").numberValue == nil)
        #expect(JSONValue.string("inf").numberValue == nil)
    }

    @Test func nullAndAbsentFieldsAreKeptApart() throws {
        let event = try CallEvent.decode(try Self.fixtureLines()[6])
        #expect(event[.destinationCountryCode] == .null)
        #expect(event[.sourceRefId] == .null)
        #expect(event[.sourceCountryCode] == .string("ID"))
        #expect(event[.sessionStatus] == nil)
        #expect(event[FieldPath("noSuchField")] == nil)
    }

    // MARK: Timestamps

    static let timestamps: [(String, Double?)] = [
        ("2019-10-16T08:12:01Z", 1_571_213_521),
        ("2026-01-06T10:17:19.375Z", 1_767_694_639.375),
        ("2026-01-06T10:17:19.5z", 1_767_694_639.5),
        ("2019-10-16T15:12:01+07:00", 1_571_213_521),
        ("2019-10-16T03:42:01.250-04:30", 1_571_213_521.25),
        ("2019-10-16T08:12:01+0000", 1_571_213_521),
        ("2019-10-16T10:12:01+02", 1_571_213_521),
        ("2024-02-29T00:00:00Z", 1_709_164_800),
        ("2019-10-16T08:12:01", nil),
        ("2019-10-16", nil),
        ("2019-13-16T08:12:01Z", nil),
        ("2019-10-16T24:00:00Z", nil),
        ("2019-10-16T08:12:01.Z", nil),
        ("2019-10-16T08:12:01Z trailing", nil),
        ("yesterday", nil),
        ("", nil),
    ]

    @Test(arguments: timestamps)
    func parsesTimestampsExactly(text: String, seconds: Double?) {
        #expect(Timestamp.parse(text) == seconds.map { Date(timeIntervalSince1970: $0) })
    }

    @Test func eventTimestampComesFromThePayload() throws {
        let lines = try Self.fixtureLines()
        #expect(try CallEvent.decode(lines[0]).timestamp == Date(timeIntervalSince1970: 1_767_694_639.375))
        #expect(try CallEvent.decode(lines[6]).timestamp == Date(timeIntervalSince1970: 1_571_213_521))
        let unparsable = try CallEvent.decode(#"{"eventId": "t", "timestamp": "soon"}"#, allowBare: true)
        #expect(unparsable.timestamp == nil, "a bad timestamp is not a reason to reject the event")
        #expect(unparsable[.timestamp] == .string("soon"))
    }

    @Test func formatsTimestampsAsUTCMilliseconds() {
        #expect(Timestamp.format(Date(timeIntervalSince1970: 1_767_694_639.375)) == "2026-01-06T10:17:19.375Z")
        #expect(Timestamp.format(Date(timeIntervalSince1970: 1_571_213_521)) == "2019-10-16T08:12:01.000Z")
        #expect(Timestamp.format(Date(timeIntervalSince1970: -0.5)) == "1969-12-31T23:59:59.500Z")
    }

    // MARK: eventData and dtmf

    @Test func dtmfComesFromStringOrObjectEventData() throws {
        func dtmf(_ eventData: String, status: String = "DTMF_RECEIVED") throws -> JSONValue? {
            let body = #"{"eventId": "d", "callStatus": "\#(status)", "eventData": \#(eventData)}"#
            return try CallEvent.decode(body, allowBare: true)[.dtmf]
        }
        #expect(try dtmf(#"" 5 ""#) == .string("5"))
        #expect(try dtmf(#"{"dtmf": "*"}"#) == .string("*"))
        #expect(try dtmf(#"{"dtmf": " # "}"#) == .string("#"))
        #expect(try dtmf(#"{"dtmf": 7}"#) == .string("7"))
        #expect(try dtmf("9") == .string("9"))
        #expect(try dtmf(#"" ""#) == nil, "a blank eventData carries no digit")
        #expect(try dtmf(#"{"other": "1"}"#) == nil)
        #expect(try dtmf("null") == nil)
        #expect(
            try dtmf(#"{"dtmf": "1"}"#, status: "ACTION_COMPLETED") == .string("1"),
            "eventData.dtmf whatever the status"
        )
        #expect(
            try dtmf(#"" 5 ""#, status: "CALL_CONNECTED") == nil,
            "a bare eventData string counts for DTMF_RECEIVED only"
        )
        let fixture = try CallEvent.decode(try Self.fixtureLines()[3])
        #expect(fixture[.dtmf] == .string("1"))
        #expect(fixture[.eventData] == .object(JSONObject([("dtmf", .string("1"))])))
        #expect(fixture[FieldPath("eventData.dtmf")] == .string("1"))
    }

    // MARK: Extra fields

    @Test func extraFieldsAreKeptAndReachableByDottedPath() throws {
        let body = #"""
            {"namespace": "VOICE", "meta": {"region": "eu"},
             "payload": {"eventId": "x1", "callStatus": "CALL_UPDATED",
                         "extra": {"nested": {"deep": [10, {"tier": "gold"}]}, "flag": true}}}
            """#
        let event = try CallEvent.decode(body)
        #expect(event[FieldPath("extra.nested")]?.objectValue?["deep"] != nil)
        #expect(event[FieldPath("extra.nested.deep.0")] == .number(10))
        #expect(event[FieldPath("extra.nested.deep.1.tier")] == .string("gold"))
        #expect(event[FieldPath("extra.flag")] == .bool(true))
        #expect(event[FieldPath("extra.nested.deep.2")] == nil)
        #expect(event[FieldPath("extra.nested.deep.x")] == nil)
        #expect(event[FieldPath("extra.flag.deeper")] == nil)
        #expect(event[FieldPath("extra.missing")] == nil)
        #expect(event[FieldPath("meta.region")] == .string("eu"), "extra envelope members are reachable too")
        guard case .object(let payload) = event.payloadJSON else {
            Issue.record("payloadJSON is not an object")
            return
        }
        #expect(payload.members.map(\.key) == ["eventId", "callStatus", "extra"], "member order is kept")

        let fixture = try CallEvent.decode(try Self.fixtureLines()[5])
        #expect(fixture[FieldPath("extraParam.region")] == .string("ap-southeast-1"))
    }

    @Test func fieldPathsResolveKnownFieldsToSlots() {
        #expect(FieldPath("sipCode") == .known(.sipCode))
        #expect(FieldPath("eventType") == .known(.eventType))
        #expect(FieldPath("extra.nested") == .path(["extra", "nested"]))
        #expect(FieldPath("details.callA").isDocumented)
        #expect(!FieldPath("extra.nested").isDocumented)
        #expect(FieldPath("extra.nested").description == "extra.nested")
    }

    // MARK: Session summaries

    @Test func sessionSummaryIsIdentifiedBySessionId() throws {
        let event = try CallEvent.decode(try Self.fixture("vss-session-summary.json"))
        #expect(event.identity == "SESSION_SUMMARY:a1d6a5e2-efec-11e9-b999-efc71013a78f")
        #expect(event[.eventType] == .string("SESSION_SUMMARY"))
        #expect(event[.sessionStatus] == .string("FAILED"))
        #expect(event[.callCount] == .number(2))
        #expect(event[FieldPath("details.callB.errorDetails.errorCode")] == .number(-2003))
        #expect(event[FieldPath("details.callA.callDuration")] == .number(8))
        #expect(event.timestamp == Date(timeIntervalSince1970: 1_571_213_530), "timestamp wins over endTime")
    }

    @Test func sessionSummaryWithoutTimestampUsesEndTime() throws {
        let event = try CallEvent.decode(
            #"{"eventType": "SESSION_SUMMARY", "payload": {"sessionId": "s9", "endTime": "2019-10-16T08:12:09Z"}}"#
        )
        #expect(event.identity == "SESSION_SUMMARY:s9")
        #expect(event.timestamp == Date(timeIntervalSince1970: 1_571_213_529))
    }

    @Test func bareSessionSummaryIsRecognisedBySessionStatus() throws {
        let event = try CallEvent.decode(
            #"{"sessionId": "s2", "sessionStatus": "COMPLETED", "callCount": 2}"#,
            allowBare: true
        )
        #expect(event[.eventType] == .string("SESSION_SUMMARY"))
        #expect(event.identity == "SESSION_SUMMARY:s2")
    }

    @Test func eventIdWinsOverSessionIdForIdentity() throws {
        let event = try CallEvent.decode(
            #"{"eventType": "SESSION_SUMMARY", "payload": {"eventId": "ev", "sessionId": "s"}}"#
        )
        #expect(event.identity == "SESSION_SUMMARY:ev")
    }

    // MARK: Rejections

    static let rejected: [(String, Bool, CallEvent.DecodingError)] = [
        (#"{"namespace": "VOICE", "eventType": "CALL_STATUS"}"#, false, .missingPayload),
        (#"{"payload": "not an object"}"#, false, .missingPayload),
        (#"{"payload": null}"#, true, .missingPayload),
        (#"{"callStatus": "CALL_CONNECTED"}"#, true, .missingPayload),
        (#"{"eventId": "only-bare"}"#, false, .missingPayload),
        ("[]", true, .notAnObject),
        (#""a string""#, true, .notAnObject),
        ("42", true, .notAnObject),
    ]

    @Test(arguments: rejected)
    func rejectsBodiesWithoutAPayloadObject(body: String, allowBare: Bool, error: CallEvent.DecodingError) {
        #expect(throws: error) { try CallEvent.decode(body, allowBare: allowBare) }
    }

    @Test(arguments: ["", "not json", "{", #"{"payload": {"eventId": "x"}"#, #"{"payload": {}} trailing"#, "{'a': 1}"])
    func rejectsMalformedJSON(body: String) {
        do {
            _ = try CallEvent.decode(body, allowBare: true)
            Issue.record("accepted malformed JSON: \(body)")
        } catch {
            guard case .malformedJSON = error else {
                Issue.record("expected malformedJSON, got \(error)")
                return
            }
        }
    }

    @Test func decodesFromRawBytes() throws {
        let bytes = Array(#"{"payload": {"eventId": "raw", "sipCode": 503}}"#.utf8)
        let event = try bytes.withUnsafeBytes { try CallEvent.decode($0) }
        #expect(event.identity == "CALL_STATUS:raw")
        #expect(event[.sipCode] == .number(503))
    }

    // MARK: JSON parser

    @Test func parsesEscapes() throws {
        let parsed = try JSONParser.parse(#""q\" b\\ s\/ \b\f\n\r\t""#)
        #expect(parsed == .string("q\" b\\ s/ \u{08}\u{0C}\n\r\t"))
    }

    @Test func parsesUnicodeEscapesAndSurrogatePairs() throws {
        #expect(try JSONParser.parse(#""caf\u00e9 \u4E2D""#) == .string("café 中"))
        #expect(try JSONParser.parse(#""\ud83d\ude00""#) == .string("😀"))
        #expect(try JSONParser.parse(#""raw é 中 😀""#) == .string("raw é 中 😀"))
        #expect(try JSONParser.parse(#""\u0000""#) == .string("\u{0}"))
    }

    @Test(arguments: [
        #""\ud83d""#, #""\ud83dx""#, #""\ude00""#, #""\ud83d\u0041""#, #""\u12""#, #""\uZZZZ""#, #""\x""#,
        "\"tab\there\"", "\"unterminated", "\"\\",
    ])
    func rejectsBadStrings(text: String) {
        #expect(throws: JSONParser.Error.self) { try JSONParser.parse(text) }
    }

    @Test func rejectsInvalidUTF8() {
        #expect(throws: JSONParser.Error.self) { try JSONParser.parse([0x22, 0xFF, 0xFE, 0x22]) }
        #expect(throws: JSONParser.Error.self) { try JSONParser.parse([0x22, 0x5C, 0x6E, 0xC3, 0x22]) }
    }

    @Test func parsesNumbers() throws {
        #expect(try JSONParser.parse("0") == .number(0))
        #expect(try JSONParser.parse("-0") == .number(0))
        #expect(try JSONParser.parse("-2003") == .number(-2003))
        #expect(try JSONParser.parse("1.5e3") == .number(1500))
        #expect(try JSONParser.parse("2.5E-1") == .number(0.25))
        #expect(try JSONParser.parse("123456789012345678901") == .number(123_456_789_012_345_678_901.0))
        for bad in ["01", "-", "1.", ".5", "1e", "1e+", "+1", "1e400", "0x10", "NaN"] {
            #expect(throws: JSONParser.Error.self, "\(bad)") { try JSONParser.parse(bad) }
        }
    }

    @Test func parsesStructureAndKeepsMemberOrder() throws {
        let value = try JSONParser.parse(" {\"z\": [true, false, null], \"a\": {}, \"m\": []}\n")
        guard case .object(let object) = value else {
            Issue.record("not an object")
            return
        }
        #expect(object.members.map(\.key) == ["z", "a", "m"])
        #expect(object["z"] == .array([.bool(true), .bool(false), .null]))
        #expect(object["a"] == .object(JSONObject()))
        #expect(object["m"] == .array([]))
        for bad in ["", "   ", "[1,]", "{\"a\" 1}", "{\"a\":1,}", "{1: 2}", "[1 2]", "tru", "nul", "[] []"] {
            #expect(throws: JSONParser.Error.self, "\(bad)") { try JSONParser.parse(bad) }
        }
    }

    @Test func reportsWhereParsingFailed() {
        #expect(throws: JSONParser.Error(message: "unexpected character", offset: 3, line: 1, column: 4)) {
            try JSONParser.parse("[1,]")
        }
        let error = JSONParser.Error(message: "unexpected character", offset: 3, line: 1, column: 4)
        #expect(error.description == "unexpected character at line 1, column 4")
    }

    @Test func limitsNestingDepth() throws {
        let limit = JSONParser.maximumDepth
        let deepest = String(repeating: "[", count: limit) + String(repeating: "]", count: limit)
        #expect(throws: Never.self) { try JSONParser.parse(deepest) }
        let tooDeep = String(repeating: "[", count: limit + 1) + String(repeating: "]", count: limit + 1)
        #expect(throws: JSONParser.Error.self) { try JSONParser.parse(tooDeep) }
        let objects = String(repeating: #"{"a":"#, count: limit + 1) + "1" + String(repeating: "}", count: limit + 1)
        #expect(throws: JSONParser.Error.self) { try JSONParser.parse(objects) }
        // A hostile body far past the limit is rejected, not a stack overflow.
        let hostile = String(repeating: "[", count: 200_000)
        #expect(throws: JSONParser.Error.self) { try JSONParser.parse(hostile) }
        #expect(throws: CallEvent.DecodingError.self) {
            try CallEvent.decode(#"{"payload": {"eventId": "x", "deep": "# + tooDeep + "}}")
        }
    }

    // MARK: JSON writer

    @Test func writerEscapesWhatJSONRequires() {
        let text = "say \"hi\"\\ \n\r\t\u{01}\u{1F} é 中 😀 /"
        #expect(JSONWriter.string(.string(text)) == #""say \"hi\"\\ \n\r\t\u0001\u001f é 中 😀 /""#)
    }

    @Test func writerRoundTripsThroughTheParser() throws {
        let value = JSONValue.object(
            JSONObject([
                ("z-first", .string("quote \" backslash \\ newline \n tab \t bell \u{07}")),
                ("unicode", .string("Jürgen 東京 👩‍💻 \u{2028}")),
                ("numbers", .array([.number(486), .number(-1.5), .number(0), .number(1e20), .number(0.001)])),
                ("literals", .array([.bool(true), .bool(false), .null])),
                ("nested", .object(JSONObject([("key with \"quotes\"", .object(JSONObject())), ("a", .array([]))]))),
            ])
        )
        let written = JSONWriter.string(value)
        #expect(!written.contains("\n"), "one JSON value per line")
        #expect(written.hasPrefix(#"{"z-first":"#), "members are written in order")
        #expect(try JSONParser.parse(written) == value)
        let parsedByFoundation = try JSONSerialization.jsonObject(with: Data(written.utf8)) as? [String: Any]
        #expect(parsedByFoundation?["unicode"] as? String == "Jürgen 東京 👩‍💻 \u{2028}")
    }

    @Test func writerFormatsNumbersAsTheyArrived() {
        #expect(JSONWriter.string(.number(486)) == "486")
        #expect(JSONWriter.string(.number(-2003)) == "-2003")
        #expect(JSONWriter.string(.number(1.5)) == "1.5")
        #expect(JSONWriter.string(.number(.infinity)) == "null")
        #expect(JSONWriter.string(.number(.nan)) == "null")
    }
}
