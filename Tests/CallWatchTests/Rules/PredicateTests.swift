import Foundation
import Testing

@testable import CallWatch

/// Predicates: every operator, numeric-string coercion, null/absent, and all/any/not at depth.
@Suite struct PredicateTests {
    /// Compiles a one-rule file whose `when` is `when` (YAML, indented as a block under `when:`).
    static func predicate(
        _ when: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> CallWatch.Predicate {
        let body = when.split(separator: "\n", omittingEmptySubsequences: false).map { "      " + $0 }
            .joined(separator: "\n")
        let yaml = "version: 1\nrules:\n  - name: r\n    when:\n\(body)\n    actions: []\n"
        let ruleSet = try RulesLoader.load(yaml: yaml, path: "predicate.yaml", environment: [:])
        return try #require(ruleSet.rules.first, sourceLocation: sourceLocation).predicate
    }

    /// A bare payload made of the given JSON members (an eventId is added).
    static func event(_ members: String) throws -> CallEvent {
        let separator = members.isEmpty ? "" : ", "
        return try CallEvent.decode(#"{"eventId": "e1"\#(separator)\#(members)}"#, allowBare: true)
    }

    /// Checks `when` against each event: (JSON members, expected match).
    static func check(
        _ when: String,
        _ cases: [(String, Bool)],
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let compiled = try predicate(when, sourceLocation: sourceLocation)
        for (members, expected) in cases {
            let matched = compiled.matches(try event(members))
            #expect(matched == expected, "`\(when)` on {\(members)}", sourceLocation: sourceLocation)
        }
    }

    // MARK: Equality

    @Test func scalarMeansEquality() throws {
        try Self.check(
            "callStatus: CALL_DISCONNECTED",
            [
                (#""callStatus": "CALL_DISCONNECTED""#, true),
                (#""callStatus": "CALL_CONNECTED""#, false),
                (#""callStatus": "call_disconnected""#, false),
                (#""callStatus": null"#, false),
                ("", false),
            ]
        )
    }

    @Test func numberMatchesNumberAndNumericString() throws {
        try Self.check(
            "callDuration: 0",
            [
                (#""callDuration": 0"#, true),
                (#""callDuration": "0""#, true),
                (#""callDuration": "0.0""#, true),
                (#""callDuration": " 0 ""#, true),
                (#""callDuration": 0.0"#, true),
                (#""callDuration": 1"#, false),
                (#""callDuration": "1""#, false),
                (#""callDuration": "zero""#, false),
                (#""callDuration": null"#, false),
                (#""callDuration": false"#, false),
                ("", false),
            ]
        )
    }

    @Test func quotedNumberInRuleStillComparesNumerically() throws {
        try Self.check(
            #"sipCode: {eq: "486"}"#,
            [(#""sipCode": 486"#, true), (#""sipCode": "486""#, true), (#""sipCode": 487"#, false)]
        )
    }

    @Test func nonNumericScalarsCompareAsStrings() throws {
        try Self.check(
            "destination: \"+622150996455\"",
            [
                (#""destination": "+622150996455""#, true),
                (#""destination": "622150996455""#, false),
                (#""destination": "+622150996455 ""#, false),
            ]
        )
        try Self.check(
            "flagged: true",
            [(#""flagged": true"#, true), (#""flagged": "true""#, true), (#""flagged": false"#, false), ("", false)]
        )
    }

    @Test func onlyTrueAndFalseAreBooleansInRules() throws {
        // YAML 1.1 would read NO (Norway) and on/off as booleans; a country code must stay a string.
        try Self.check(
            "destinationCountryCode: NO",
            [(#""destinationCountryCode": "NO""#, true), (#""destinationCountryCode": false"#, false)]
        )
        try Self.check("callType: {in: [on, PSTN]}", [(#""callType": "on""#, true), (#""callType": true"#, false)])
    }

    @Test func nullMatchesNullOrAbsent() throws {
        let cases: [(String, Bool)] = [
            (#""destinationCountryCode": null"#, true),
            ("", true),
            (#""destinationCountryCode": "ID""#, false),
            (#""destinationCountryCode": """#, false),
            (#""destinationCountryCode": 0"#, false),
        ]
        try Self.check("destinationCountryCode: null", cases)
        try Self.check("destinationCountryCode: {eq: null}", cases)
        try Self.check("destinationCountryCode: ~", cases)
        try Self.check(
            "destinationCountryCode: 'null'",
            [(#""destinationCountryCode": "null""#, true), (#""destinationCountryCode": null"#, false), ("", false)]
        )
    }

    @Test func notEquals() throws {
        try Self.check(
            "callStatus: {ne: CALL_DISCONNECTED}",
            [
                (#""callStatus": "CALL_CONNECTED""#, true),
                (#""callStatus": "CALL_DISCONNECTED""#, false),
                ("", true),
            ]
        )
        try Self.check(
            "sipCode: {ne: 200}",
            [(#""sipCode": 200"#, false), (#""sipCode": "200""#, false), (#""sipCode": 486"#, true)]
        )
        try Self.check(
            "destinationCountryCode: {ne: null}",
            [(#""destinationCountryCode": "ID""#, true), (#""destinationCountryCode": null"#, false), ("", false)]
        )
    }

    // MARK: Ordering

    @Test func greaterThanOrEqual() throws {
        try Self.check(
            "sipCode: {gte: 400}",
            [
                (#""sipCode": 400"#, true),
                (#""sipCode": "400""#, true),
                (#""sipCode": 486.5"#, true),
                (#""sipCode": 399"#, false),
                (#""sipCode": "399""#, false),
                (#""sipCode": "busy""#, false),
                (#""sipCode": null"#, false),
                ("", false),
            ]
        )
    }

    @Test func greaterThan() throws {
        try Self.check(
            "sipCode: {gt: 400}",
            [(#""sipCode": 400"#, false), (#""sipCode": "401""#, true), (#""sipCode": 400.5"#, true), ("", false)]
        )
    }

    @Test func lessThan() throws {
        try Self.check(
            "callDuration: {lt: 1}",
            [
                (#""callDuration": 0"#, true),
                (#""callDuration": "0.5""#, true),
                (#""callDuration": -3"#, true),
                (#""callDuration": 1"#, false),
                (#""callDuration": "1""#, false),
                ("", false),
            ]
        )
    }

    @Test func lessThanOrEqual() throws {
        try Self.check(
            "sipCode: {lte: 300}",
            [(#""sipCode": 300"#, true), (#""sipCode": "300""#, true), (#""sipCode": 301"#, false), ("", false)]
        )
    }

    @Test func operatorsOnOneFieldAllHold() throws {
        try Self.check(
            "sipCode: {gte: 400, lt: 500, ne: 404}",
            [
                (#""sipCode": 486"#, true),
                (#""sipCode": "400""#, true),
                (#""sipCode": 404"#, false),
                (#""sipCode": 503"#, false),
                (#""sipCode": 399"#, false),
            ]
        )
    }

    // MARK: Membership

    @Test func inList() throws {
        try Self.check(
            #"sipCode: {in: [486, "503", 480]}"#,
            [
                (#""sipCode": 486"#, true),
                (#""sipCode": "486""#, true),
                (#""sipCode": 503"#, true),
                (#""sipCode": "480""#, true),
                (#""sipCode": 200"#, false),
                ("", false),
            ]
        )
        try Self.check(
            "destinationCountryCode: {in: [ID, null]}",
            [
                (#""destinationCountryCode": "ID""#, true),
                (#""destinationCountryCode": null"#, true),
                ("", true),
                (#""destinationCountryCode": "SG""#, false),
            ]
        )
    }

    @Test func notInList() throws {
        try Self.check(
            "sipCode: {not_in: [486, 503]}",
            [
                (#""sipCode": 200"#, true),
                (#""sipCode": "486""#, false),
                (#""sipCode": 503"#, false),
                ("", true),
            ]
        )
    }

    // MARK: Text

    @Test func regexSearchesTheValue() throws {
        try Self.check(
            #"destination: {regex: '^\+62\d+$'}"#,
            [
                (#""destination": "+622150996455""#, true),
                (#""destination": "+6591234567""#, false),
                (#""destination": "x+622150996455""#, false),
                ("", false),
            ]
        )
        try Self.check(
            #"sipCode: {regex: '^5\d\d$'}"#,
            [(#""sipCode": 503"#, true), (#""sipCode": "599""#, true), (#""sipCode": 486"#, false)]
        )
        try Self.check(
            "source: {regex: '8389'}",
            [(#""source": "+6583891703""#, true), (#""source": "+65""#, false)]
        )
    }

    @Test func prefixSuffixContains() throws {
        try Self.check(
            #"destination: {prefix: "+62"}"#,
            [(#""destination": "+622150996455""#, true), (#""destination": "+6591234567""#, false), ("", false)]
        )
        try Self.check(
            #"destination: {suffix: "455"}"#,
            [(#""destination": "+622150996455""#, true), (#""destination": "+6591234567""#, false), ("", false)]
        )
        try Self.check(
            #"destination: {contains: "2150"}"#,
            [(#""destination": "+622150996455""#, true), (#""destination": "+6591234567""#, false), ("", false)]
        )
        try Self.check(
            #"sipCode: {prefix: "4"}"#,
            [(#""sipCode": 486"#, true), (#""sipCode": 503"#, false), (#""sipCode": null"#, false)]
        )
        // Bytes compared: the whole value, values shorter than the constant, the empty string, non-ASCII text.
        for kind in ["prefix", "suffix", "contains"] {
            try Self.check(
                "source: {\(kind): \"+65\"}",
                [
                    (#""source": "+65""#, true), (#""source": "+6""#, false), (#""source": """#, false),
                    (#""source": "65+""#, false),
                ]
            )
        }
        try Self.check(
            #"eventData: {contains: "café"}"#,
            [(#""eventData": "le café noir""#, true), (#""eventData": "cafe""#, false)]
        )
        try Self.check(#"eventData: {suffix: "noir"}"#, [(#""eventData": "le café noir""#, true)])
    }

    // MARK: Existence

    @Test func exists() throws {
        try Self.check(
            "sourceRefId: {exists: true}",
            [
                (#""sourceRefId": "vn-ref-1""#, true), (#""sourceRefId": """#, true), (#""sourceRefId": null"#, false),
                ("", false),
            ]
        )
        try Self.check(
            "sourceRefId: {exists: false}",
            [(#""sourceRefId": "vn-ref-1""#, false), (#""sourceRefId": null"#, true), ("", true)]
        )
    }

    // MARK: Fields beyond the payload's known ones

    @Test func dottedPathsEnvelopeAndDerivedFields() throws {
        try Self.check(
            "extraParam.region: ap-southeast-1",
            [
                (#""extraParam": {"region": "ap-southeast-1"}"#, true),
                (#""extraParam": {"region": "eu-west-1"}"#, false),
                (#""extraParam": "ap-southeast-1""#, false),
                ("", false),
            ]
        )
        try Self.check(
            "details.callB.errorDetails.errorCode: {lt: -2000}",
            [
                (#""details": {"callB": {"errorDetails": {"errorCode": -2003}}}"#, true),
                (#""details": {"callB": {"errorDetails": {"errorCode": "-1"}}}"#, false),
            ]
        )
        try Self.check(
            #"dtmf: "5""#,
            [
                (#""callStatus": "DTMF_RECEIVED", "eventData": {"dtmf": "5"}"#, true),
                (#""callStatus": "DTMF_RECEIVED", "eventData": " 5 ""#, true),
                (#""callStatus": "DTMF_RECEIVED", "eventData": "6""#, false),
            ]
        )
        let envelope = try Self.predicate("eventType: SESSION_SUMMARY\nnamespace: VOICE")
        #expect(
            envelope.matches(
                try CallEvent.decode(
                    #"{"namespace": "VOICE", "eventType": "SESSION_SUMMARY", "payload": {"sessionId": "s"}}"#
                )
            )
        )
        #expect(
            !envelope.matches(
                try CallEvent.decode(
                    #"{"namespace": "VOICE", "eventType": "CALL_STATUS", "payload": {"eventId": "s"}}"#
                )
            )
        )
    }

    // MARK: Combinators

    @Test func entriesOfAMapMustAllHold() throws {
        try Self.check(
            "callStatus: CALL_DISCONNECTED\nsipCode: {gte: 400}",
            [
                (#""callStatus": "CALL_DISCONNECTED", "sipCode": 486"#, true),
                (#""callStatus": "CALL_DISCONNECTED", "sipCode": 200"#, false),
                (#""callStatus": "CALL_CONNECTED", "sipCode": 486"#, false),
            ]
        )
    }

    @Test func allAnyNotNestDeeply() throws {
        // any ─┬─ all ─┬─ callStatus = CALL_DISCONNECTED
        //      │       └─ not ── any ─┬─ sipCode < 300
        //      │                      └─ all ─┬─ sipCode = 486
        //      │                              └─ destination prefix +65
        //      └─ all ─┬─ callStatus = DTMF_RECEIVED
        //              └─ not ── dtmf = 0
        let when = """
            any:
              - all:
                  - callStatus: CALL_DISCONNECTED
                  - not:
                      any:
                        - sipCode: {lt: 300}
                        - all:
                            - sipCode: 486
                            - destination: {prefix: "+65"}
              - all:
                  - callStatus: DTMF_RECEIVED
                  - not: {dtmf: "0"}
            """
        try Self.check(
            when,
            [
                (#""callStatus": "CALL_DISCONNECTED", "sipCode": 503, "destination": "+6591234567""#, true),
                (#""callStatus": "CALL_DISCONNECTED", "sipCode": "486", "destination": "+622150996455""#, true),
                (#""callStatus": "CALL_DISCONNECTED", "sipCode": 486, "destination": "+6591234567""#, false),
                (#""callStatus": "CALL_DISCONNECTED", "sipCode": "200""#, false),
                (#""callStatus": "CALL_CONNECTED", "sipCode": 503"#, false),
                (#""callStatus": "DTMF_RECEIVED", "eventData": "5""#, true),
                (#""callStatus": "DTMF_RECEIVED", "eventData": {"dtmf": "0"}"#, false),
                ("", false),
            ]
        )
    }

    @Test func notInvertsAndAnyNeedsOne() throws {
        try Self.check(
            "not: {callStatus: {in: [CALL_INITIATED, CALL_RECEIVED]}}",
            [(#""callStatus": "CALL_INITIATED""#, false), (#""callStatus": "CALL_CONNECTED""#, true), ("", true)]
        )
        try Self.check(
            "any:\n  - sipCode: 486\n  - callDuration: 0",
            [
                (#""sipCode": 486, "callDuration": 5"#, true),
                (#""sipCode": 200, "callDuration": "0""#, true),
                (#""sipCode": 200, "callDuration": 5"#, false),
            ]
        )
    }

    @Test func combinatorsMixWithFieldEntries() throws {
        try Self.check(
            "callStatus: CALL_DISCONNECTED\nnot: {sipCode: 200}\nany: [{callDuration: 0}, {destination: {prefix: '+62'}}]",
            [
                (#""callStatus": "CALL_DISCONNECTED", "sipCode": 486, "callDuration": 0"#, true),
                (
                    #""callStatus": "CALL_DISCONNECTED", "sipCode": 486, "callDuration": 9, "destination": "+6212""#,
                    true
                ),
                (
                    #""callStatus": "CALL_DISCONNECTED", "sipCode": 486, "callDuration": 9, "destination": "+6512""#,
                    false
                ),
                (#""callStatus": "CALL_DISCONNECTED", "sipCode": 200, "callDuration": 0"#, false),
                (#""callStatus": "CALL_UPDATED", "sipCode": 486, "callDuration": 0"#, false),
            ]
        )
    }
}
