import Testing

@testable import CallWatch

/// Rules that would load but never work as written: each is caught when the file loads, with file, line and
/// column, the rule and the likely fix; the working forms load without a word.
@Suite struct UnworkableRuleTests {
    static func diagnostics(_ yaml: String, environment: [String: String] = [:]) -> [Diagnostic] {
        DiagnosticsTests.diagnostics(yaml, environment: environment)
    }

    static func error(_ line: Int, _ column: Int, _ message: String) -> Diagnostic {
        DiagnosticsTests.error(line, column, message)
    }

    static func warning(_ line: Int, _ column: Int, _ message: String) -> Diagnostic {
        DiagnosticsTests.warning(line, column, message)
    }

    // MARK: documented fields in templates and by

    @Test func documentedNestedFieldsLoadCleanlyInTemplatesAndBy() {
        let yaml = """
            version: 1
            rules:
              - name: x
                when: {errorDetails.errorCode: {exists: true}}
                by: [recordingId]
                actions:
                  - log: {message: "{{errorDetails.errorCode}} {{errorDetails.errorMsg}} {{callQuality.mos}} {{status}}"}
            """
        #expect(Self.diagnostics(yaml) == [])
    }

    @Test func aMisspeltDocumentedNameInATemplateSuggestsIt() {
        let yaml = """
            version: 1
            rules:
              - name: x
                when: {callStatus: CALL_DISCONNECTED}
                actions:
                  - log: {message: "{{recordingid}}"}
            """
        #expect(
            Self.diagnostics(yaml).map(\.message) == [
                "unknown name 'recordingid' in template in rule 'x'; did you mean 'recordingId'?"
            ]
        )
    }

    // MARK: by

    @Test func misspeltByFieldIsAnError() {
        let yaml = """
            version: 1
            rules:
              - name: x
                when: {callStatus: CALL_DISCONNECTED}
                by: [destinaton, callid]
                actions: []
            """
        let tail = " (a misspelt 'by' field puts every event under one key)"
        #expect(
            Self.diagnostics(yaml) == [
                Self.error(5, 10, "unknown field 'destinaton' in 'by' of rule 'x'; did you mean 'destination'?" + tail),
                Self.error(5, 22, "unknown field 'callid' in 'by' of rule 'x'; did you mean 'callId'?" + tail),
            ]
        )
        #expect(
            Self.diagnostics(yaml).first?.description
                == "rules.yaml:5:10: error: unknown field 'destinaton' in 'by' of rule 'x'; did you mean "
                + "'destination'? (a misspelt 'by' field puts every event under one key)"
        )
    }

    @Test func byFieldFarFromAnyKnownOneIsOnlyAWarning() throws {
        let yaml = """
            version: 1
            rules:
              - name: x
                when: {callStatus: CALL_DISCONNECTED}
                by: [destination, customerTier, details.callA.destination]
                actions: []
            """
        let ruleSet = try RulesLoader.load(yaml: yaml, path: "rules.yaml", environment: [:])
        #expect(
            ruleSet.warnings == [
                Self.warning(
                    5,
                    23,
                    "unknown event field 'customerTier' in rule 'x'"
                        + " (8x8 may add fields; it matches only events that carry it)"
                )
            ]
        )
        #expect(
            ruleSet.rules.first?.by.map(\.description) == ["destination", "customerTier", "details.callA.destination"]
        )
    }

    // MARK: Values 8x8 documents

    @Test func undocumentedValueIsAWarningWithTheClosest() {
        let yaml = """
            version: 1
            rules:
              - name: x
                when:
                  callStatus: CALL_DISCONECTED
                  callDirection: {in: [INBOUND, OUTBOND]}
                  any:
                    - callType: {ne: PTSN}
                    - not: {eventType: {not_in: [SESSION_SUMMARY, SESION_SUMMARY]}}
                    - sessionStatus: {eq: NO_ANSWR}
                    - callStatus: HANGUP
                    - details.callB.callDirection: inbound
                actions: []
            """
        let statuses =
            "CALL_INITIATED, CALL_RECEIVED, CALL_CONNECTED, CALL_DISCONNECTED, CALL_UPDATED, DTMF_RECEIVED, "
            + "ACTION_COMPLETED"
        #expect(
            Self.diagnostics(yaml) == [
                Self.warning(
                    5,
                    19,
                    "unknown callStatus 'CALL_DISCONECTED' in rule 'x'; did you mean 'CALL_DISCONNECTED'?"
                ),
                Self.warning(6, 37, "unknown callDirection 'OUTBOND' in rule 'x'; did you mean 'OUTBOUND'?"),
                Self.warning(8, 26, "unknown callType 'PTSN' in rule 'x'; did you mean 'PSTN'?"),
                Self.warning(9, 55, "unknown eventType 'SESION_SUMMARY' in rule 'x'; did you mean 'SESSION_SUMMARY'?"),
                Self.warning(10, 31, "unknown sessionStatus 'NO_ANSWR' in rule 'x'; did you mean 'NO_ANSWER'?"),
                Self.warning(11, 23, "unknown callStatus 'HANGUP' in rule 'x'; 8x8 documents " + statuses),
                Self.warning(
                    12,
                    40,
                    "unknown details.callB.callDirection 'inbound' in rule 'x'; did you mean 'INBOUND'?"
                ),
            ]
        )
        #expect(
            Self.diagnostics(yaml).first?.description
                == "rules.yaml:5:19: warning: unknown callStatus 'CALL_DISCONECTED' in rule 'x'; did you mean "
                + "'CALL_DISCONNECTED'?"
        )
    }

    @Test func documentedValuesLoadCleanly() throws {
        let yaml = """
            version: 1
            rules:
              - name: x
                when:
                  callStatus: {in: [CALL_INITIATED, CALL_RECEIVED, CALL_CONNECTED, CALL_DISCONNECTED, CALL_UPDATED]}
                  callDirection: {ne: INBOUND}
                  callType: {not_in: [VOIP]}
                  any:
                    - callStatus: DTMF_RECEIVED
                    - callStatus: ACTION_COMPLETED
                    - eventType: {in: [CALL_STATUS, CALL_ACTION, CALL_RECORDING_STATUS, VIRTUAL_NUMBER_UPDATE]}
                    - all: [{eventType: SESSION_SUMMARY}, {sessionStatus: {in: [NO_ANSWER, BUSY, FAILED, ERROR]}}]
                    - sessionStatus: null
                    - callStatus: {regex: '^CALL_'}
                actions: []
            """
        let ruleSet = try RulesLoader.load(yaml: yaml, path: "rules.yaml", environment: [:])
        #expect(ruleSet.warnings.isEmpty, "\(ruleSet.warnings)")
    }

    // MARK: Numbers

    @Test func textThatCannotBeANumberComparedWithANumericFieldIsAnError() {
        let yaml = """
            version: 1
            rules:
              - name: x
                when:
                  sipCode: ">= 400"
                  callDuration: {eq: "< 5"}
                  callCount: {in: [2, two]}
                  details.callB.sipCode: {ne: "!= 487"}
                actions: []
            """
        #expect(
            Self.diagnostics(yaml) == [
                Self.error(
                    5,
                    16,
                    "'>= 400' is not a number, so 'sipCode' never equals it in rule 'x'; to compare, write {gte: 400}"
                ),
                Self.error(
                    6,
                    26,
                    "'< 5' is not a number, so 'callDuration' never equals it in rule 'x'; to compare, write {lt: 5}"
                ),
                Self.error(7, 27, "'two' is not a number, so 'callCount' never equals it in rule 'x'"),
                Self.error(
                    8,
                    35,
                    "'!= 487' is not a number, so 'details.callB.sipCode' never equals it in rule 'x'; to compare, "
                        + "write {ne: 487}"
                ),
            ]
        )
        #expect(
            Self.diagnostics(yaml).first?.description
                == "rules.yaml:5:16: error: '>= 400' is not a number, so 'sipCode' never equals it in rule 'x'; "
                + "to compare, write {gte: 400}"
        )
    }

    @Test func numbersAndNumericStringsLoadCleanly() throws {
        let yaml = """
            version: 1
            rules:
              - name: x
                when:
                  sipCode: {gte: 400}
                  callDuration: "0"
                  any:
                    - sipCode: "486"
                    - sipCode: {in: [503, "480", " 404 "]}
                    - callCount: {ne: 2}
                    - sipCode: null
                actions: []
            """
        let ruleSet = try RulesLoader.load(yaml: yaml, path: "rules.yaml", environment: [:])
        #expect(ruleSet.warnings.isEmpty, "\(ruleSet.warnings)")
    }

    @Test(arguments: [
        (">= 400", "{gte: 400}"), (">400", "{gt: 400}"), ("<= 3.5", "{lte: 3.5}"), ("< 0", "{lt: 0}"),
        ("!= 200", "{ne: 200}"), ("== 486", "{eq: 486}"), ("=486", "{eq: 486}"), (" >=  400 ", "{gte: 400}"),
    ])
    func operatorFormOfAComparisonWrittenAsText(text: String, form: String) {
        #expect(RulesCompiler.operatorForm(text) == form)
    }

    @Test(arguments: [">= abc", "400+", "4xx", "", ">=", "400"])
    func textThatIsNoComparisonHasNoOperatorForm(text: String) {
        #expect(RulesCompiler.operatorForm(text) == nil)
    }

    // MARK: Syntax errors say what is wrong

    @Test func regexErrorSaysWhatIsWrong() {
        let yaml = """
            version: 1
            rules:
              - name: r1
                when:
                  destination: {regex: '[unclosed'}
                  source: {regex: 'a{2,1}'}
                actions: []
              - name: r2
                when: {callStatus: DTMF_RECEIVED}
                sequence: {pattern: '(\\*9', within: 30s}
                actions: []
            """
        #expect(
            Self.diagnostics(yaml).filter { $0.severity == .error } == [
                Self.error(5, 28, "invalid regular expression '[unclosed': expected ']' in rule 'r1'"),
                Self.error(
                    6,
                    23,
                    "invalid regular expression 'a{2,1}': range lower bound '2' must be less than or equal to upper "
                        + "bound '1' in rule 'r1'"
                ),
                Self.error(10, 25, "invalid regular expression '(\\*9': expected ')' in rule 'r2'"),
            ]
        )
    }

    @Test func templateErrorSaysWhatIsWrong() {
        let yaml = """
            version: 1
            rules:
              - name: r1
                when: {callStatus: CALL_DISCONNECTED}
                actions:
                  - log: {message: "SIP {{#sipCode}} open"}
                  - log: {message: "SIP {{sipCode} broken"}
                  - log: {message: "{{#alert.events}}{{sipCode}}{{/alert.event}}"}
            """
        // Each points into its template: after the open section, at the lone '}', at the closing tag's '/'.
        let prefix = "template syntax error in log.message: "
        #expect(
            Self.diagnostics(yaml) == [
                Self.error(
                    6,
                    46,
                    prefix + "a section opened with {{#…}} or {{^…}} is never closed with {{/…}} in rule 'r1'"
                ),
                Self.error(7, 38, prefix + "a tag is malformed: expected a name, then '}}' in rule 'r1'"),
                Self.error(
                    8,
                    56,
                    prefix + "a closing tag {{/…}} does not match the name of the open section in rule 'r1'"
                ),
            ]
        )
    }

    // MARK: ${…} in a flow mapping

    @Test func unquotedEnvironmentReferenceInAFlowMappingSuggestsQuoting() {
        let basic = """
            version: 1
            server:
              auth:
                basic: {username: 8x8, password: ${CALLWATCH_PASSWORD}}
            rules: []
            """
        // Yams stops at the `{` of `${`, the start of what it takes for a nested mapping.
        let problem = "invalid YAML: while parsing a flow mapping did not find expected ',' or '}'"
        #expect(
            Self.diagnostics(basic) == [
                Self.error(
                    4,
                    39,
                    problem + #"; quote a value that holds ${…} inside {…}: password: "${CALLWATCH_PASSWORD}""#
                )
            ]
        )
        #expect(
            Self.diagnostics(basic).first?.description
                == #"rules.yaml:4:39: error: invalid YAML: while parsing a flow mapping did not find expected ',' "#
                + #"or '}'; quote a value that holds ${…} inside {…}: password: "${CALLWATCH_PASSWORD}""#
        )
        let header = """
            version: 1
            server:
              auth:
                header: {name: X-Callwatch-Secret, value: ${CALLWATCH_SECRET}}
            rules: []
            """
        #expect(
            Self.diagnostics(header) == [
                Self.error(
                    4,
                    48,
                    problem + #"; quote a value that holds ${…} inside {…}: value: "${CALLWATCH_SECRET}""#
                )
            ]
        )
    }

    @Test func quotedEnvironmentReferencesInFlowMappingsLoad() throws {
        let yaml = """
            version: 1
            server:
              auth:
                basic: {username: 8x8, password: "${CALLWATCH_PASSWORD}"}
            rules: []
            """
        let ruleSet = try RulesLoader.load(
            yaml: yaml,
            path: "rules.yaml",
            environment: ["CALLWATCH_PASSWORD": "s3cret"]
        )
        guard case .basic(let username, let password) = ruleSet.server.auth else {
            Issue.record("expected basic auth, got \(String(describing: ruleSet.server.auth))")
            return
        }
        #expect(username == "8x8")
        #expect(password == "s3cret")
    }

    @Test(arguments: [
        (
            "    basic: {username: 8x8, password: ${CALLWATCH_PASSWORD}}",
            #"; quote a value that holds ${…} inside {…}: password: "${CALLWATCH_PASSWORD}""#
        ),
        (
            "  - http: {url: https://hooks.test/${HOOK_PATH}/alert, timeout: 5s}",
            #"; quote a value that holds ${…} inside {…}: url: "https://hooks.test/${HOOK_PATH}/alert""#
        ),
        ("  - exec: {command: [/bin/page, ${PAGER}]}", #"; quote a value that holds ${…} inside […]: "${PAGER}""#),
    ])
    func quotingHintNamesTheValueToQuote(line: String, hint: String) {
        #expect(RulesLoader.quotingHint(for: Substring(line)) == hint)
    }

    @Test(arguments: [
        "    password: ${CALLWATCH_PASSWORD}",
        #"    basic: {username: 8x8, password: "${CALLWATCH_PASSWORD}"}"#,
        "    basic: {username: 8x8, password: '${CALLWATCH_PASSWORD}'}",
        "    # basic: {username: 8x8, password: ${CALLWATCH_PASSWORD}}",
        "    basic: {username: 8x8, password: secret}",
    ])
    func noQuotingHintWhereNoneIsNeeded(line: String) {
        #expect(RulesLoader.quotingHint(for: Substring(line)) == nil)
    }
}
