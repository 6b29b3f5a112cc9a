import CallWatchTestSupport
import Foundation
import Testing

@testable import CallWatch

/// Every problem in a rules file is reported with file, line and column (1-based), the rule's name and,
/// for a misspelling, the closest valid word. Loading never crashes, whatever the input.
@Suite struct DiagnosticsTests {
    /// The diagnostics of loading `yaml`: the thrown ones, or the warnings of a successful load.
    static func diagnostics(_ yaml: String, environment: [String: String] = [:]) -> [Diagnostic] {
        do {
            return try RulesLoader.load(yaml: yaml, path: "rules.yaml", environment: environment).warnings
        } catch {
            return error.diagnostics
        }
    }

    static func errors(_ yaml: String, environment: [String: String] = [:]) -> [Diagnostic] {
        diagnostics(yaml, environment: environment).filter { $0.severity == .error }
    }

    static func error(_ line: Int, _ column: Int, _ message: String) -> Diagnostic {
        Diagnostic(file: "rules.yaml", line: line, column: column, severity: .error, message: message)
    }

    static func warning(_ line: Int, _ column: Int, _ message: String) -> Diagnostic {
        Diagnostic(file: "rules.yaml", line: line, column: column, severity: .warning, message: message)
    }

    @Test func misspeltKeyNamesLineColumnRuleAndSuggestion() {
        let yaml = """
            version: 1
            rules:
              - name: r1
                when: {callStatus: CALL_DISCONNECTED}
                cooldwn: 5m
                actions: []
            """
        #expect(Self.errors(yaml) == [Self.error(5, 5, "unknown key 'cooldwn' in rule 'r1'; did you mean 'cooldown'?")])
        #expect(
            Self.errors(yaml).first?.description
                == "rules.yaml:5:5: error: unknown key 'cooldwn' in rule 'r1'; did you mean 'cooldown'?"
        )
    }

    @Test func evaluationIntervalIsADurationWithinBounds() throws {
        let ruleSet = try RulesLoader.load(
            yaml: "version: 1\ndefaults: {evaluation_interval: 250ms}\nrules: []\n",
            path: "rules.yaml",
            environment: [:]
        )
        #expect(ruleSet.defaults.evaluationInterval == .milliseconds(250))
        let unset = try RulesLoader.load(yaml: "version: 1\nrules: []\n", path: "rules.yaml", environment: [:])
        #expect(unset.defaults.evaluationInterval == .seconds(1))
        #expect(
            Self.errors("version: 1\ndefaults: {evaluation_interval: 10ms}\nrules: []\n") == [
                Self.error(2, 33, "defaults.evaluation_interval must be between 100ms and 60s")
            ]
        )
    }

    @Test func misspeltKeysElsewhereAreSuggestedToo() {
        let yaml = """
            version: 1
            rulez: []
            defaults: {cooldwn: 1m}
            """
        #expect(
            Self.errors(yaml) == [
                Self.error(2, 1, "unknown key 'rulez' in the top level; did you mean 'rules'?"),
                Self.error(3, 12, "unknown key 'cooldwn' in defaults; did you mean 'cooldown'?"),
            ]
        )
        let operatorTypo = """
            version: 1
            rules:
              - name: r1
                when: {sipCode: {gtee: 400}}
                actions: []
            """
        #expect(
            Self.errors(operatorTypo).first
                == Self.error(
                    4,
                    22,
                    "unknown key 'gtee' in the condition on 'sipCode' in rule 'r1'; did you mean 'gte'?"
                )
        )
    }

    @Test func invalidRegexIsAnErrorAtItsValue() {
        let yaml = """
            version: 1
            rules:
              - name: r1
                when:
                  destination: {regex: '[unclosed'}
                actions: []
              - name: r2
                when: {callStatus: DTMF_RECEIVED}
                sequence: {pattern: '(*9', within: 30s}
                actions: []
            """
        #expect(
            Self.errors(yaml) == [
                Self.error(5, 28, "invalid regular expression '[unclosed': expected ']' in rule 'r1'"),
                Self.error(
                    9,
                    25,
                    "invalid regular expression '(*9': callout name must not start with number in rule 'r2'"
                ),
            ]
        )
    }

    static let authYAML = """
        version: 1
        server:
          auth:
            authorization: ${CALLWATCH_AUTH}
        rules: []
        """

    @Test func unsetEnvironmentVariableIsAnError() throws {
        #expect(Self.errors(Self.authYAML) == [Self.error(4, 20, "environment variable 'CALLWATCH_AUTH' is not set")])
        let ruleSet = try RulesLoader.load(
            yaml: Self.authYAML,
            path: "rules.yaml",
            environment: ["CALLWATCH_AUTH": "Bearer s3cret"]
        )
        guard case .authorization(let value) = ruleSet.server.auth else {
            Issue.record("expected authorization auth, got \(String(describing: ruleSet.server.auth))")
            return
        }
        #expect(value == "Bearer s3cret")
    }

    @Test func environmentIsSubstitutedInRuleStrings() throws {
        let yaml = """
            version: 1
            rules:
              - name: r1
                when: {destination: "${TEAM_NUMBER}"}
                actions:
                  - log: {message: "team ${TEAM} paged"}
            """
        let ruleSet = try RulesLoader.load(
            yaml: yaml,
            path: "rules.yaml",
            environment: ["TEAM_NUMBER": "+6531580001", "TEAM": "ops"]
        )
        let rule = try #require(ruleSet.rules.first)
        #expect(
            rule.predicate.matches(
                try CallEvent.decode(#"{"eventId": "e", "destination": "+6531580001"}"#, allowBare: true)
            )
        )
        guard case .log(let log) = rule.actions.first else {
            Issue.record("expected a log action")
            return
        }
        #expect(log.message.source == "team ops paged")
        #expect(
            Self.errors(yaml, environment: ["TEAM": "ops"]) == [
                Self.error(4, 25, "environment variable 'TEAM_NUMBER' is not set in rule 'r1'")
            ]
        )
    }

    @Test func doubleDollarIsALiteralDollar() throws {
        let yaml = """
            version: 1
            rules:
              - name: r1
                when: {callStatus: CALL_DISCONNECTED}
                actions:
                  - log: {message: "costs $$5, not $${NOT_SET}"}
            """
        let ruleSet = try RulesLoader.load(yaml: yaml, path: "rules.yaml", environment: [:])
        guard case .log(let log) = ruleSet.rules.first?.actions.first else {
            Issue.record("expected a log action")
            return
        }
        #expect(log.message.source == "costs $5, not ${NOT_SET}")
    }

    @Test func invalidDurationIsAnErrorAtItsValue() {
        let yaml = """
            version: 1
            rules:
              - name: r1
                when: {callStatus: CALL_DISCONNECTED}
                window: {count: 3, within: 5x}
                cooldown: 5 minutes
                actions: []
            """
        let hint = "; use e.g. 250ms, 30s, 5m, 2h, 7d or 1h30m"
        #expect(
            Self.errors(yaml) == [
                Self.error(5, 32, "invalid duration '5x' for window.within in rule 'r1'" + hint),
                Self.error(6, 15, "invalid duration '5 minutes' for cooldown in rule 'r1'" + hint),
            ]
        )
    }

    @Test func durationsAndSizesParse() {
        #expect(Units.duration("250ms") == .milliseconds(250))
        #expect(Units.duration("30s") == .seconds(30))
        #expect(Units.duration("5m") == .seconds(300))
        #expect(Units.duration("2h") == .seconds(7200))
        #expect(Units.duration("7d") == .seconds(604_800))
        #expect(Units.duration("1h30m") == .seconds(5400))
        #expect(Units.duration("0") == .zero)
        for bad in ["", "5", "m", "5 m", "1.5s", "-5s", "5mm", "5M", "99999999999d99999999999d"] {
            #expect(Units.duration(bad) == nil, "\(bad)")
        }
        #expect(Units.size("65536") == 65536)
        #expect(Units.size("64KiB") == 65536)
        #expect(Units.size("1MiB") == 1_048_576)
        for bad in ["", "KiB", "64KB", "64 kib", "99999999999999999MiB"] {
            #expect(Units.size(bad) == nil, "\(bad)")
        }
    }

    @Test func hugeNumbersAreDiagnosedNotFatal() {
        let yaml = """
            version: 1
            server: {max_body: 9999999999999999MiB}
            rules:
              - name: r1
                when: {callStatus: CALL_DISCONNECTED}
                cooldown: 99999999999d99999999999d
                actions: []
            """
        #expect(
            Self.errors(yaml).map(\.message) == [
                "invalid size '9999999999999999MiB' for server.max_body; use bytes, KiB or MiB (e.g. 64KiB)",
                "invalid duration '99999999999d99999999999d' for cooldown in rule 'r1'; use e.g. 250ms, 30s, 5m, 2h, "
                    + "7d or 1h30m",
            ]
        )
    }

    @Test func unknownTemplateNamesSuggestTheClosest() {
        let yaml = """
            version: 1
            rules:
              - name: r1
                when: {callStatus: CALL_DISCONNECTED}
                actions:
                  - log: {message: "{{alert.cont}} calls to {{destinaton}}"}
            """
        #expect(
            Self.errors(yaml) == [
                Self.error(6, 24, "unknown name 'alert.cont' in template in rule 'r1'; did you mean 'alert.count'?"),
                Self.error(6, 24, "unknown name 'destinaton' in template in rule 'r1'; did you mean 'destination'?"),
            ]
        )
    }

    @Test func templateNamesInEveryActionAreChecked() {
        let yaml = """
            version: 1
            rules:
              - name: r1
                when: {callStatus: CALL_DISCONNECTED}
                actions:
                  - exec: {command: [/bin/echo, "{{rule.nmae}}"], env: {CALL: "{{calId}}"}}
                  - http:
                      url: "https://example.com/{{sessionid}}"
                      headers: {X-Alert: "{{alert.idd}}"}
                      json: {text: "{{alert.firstat}}", n: 1}
            """
        #expect(
            Self.errors(yaml).map { "\($0.line):\($0.column) \($0.message)" } == [
                "6:37 unknown name 'rule.nmae' in template in rule 'r1'; did you mean 'rule.name'?",
                "6:67 unknown name 'calId' in template in rule 'r1'; did you mean 'callId'?",
                "8:16 unknown name 'sessionid' in template in rule 'r1'; did you mean 'sessionId'?",
                "9:30 unknown name 'alert.idd' in template in rule 'r1'; did you mean 'alert.id'?",
                "10:24 unknown name 'alert.firstat' in template in rule 'r1'; did you mean 'alert.firstAt'?",
            ]
        )
    }

    @Test func knownTemplateNamesAreAcceptedAndUnknownFieldsWarn() throws {
        let yaml = """
            version: 1
            rules:
              - name: r1
                when: {callStatus: CALL_DISCONNECTED}
                actions:
                  - log: {message: "{{rule.name}} {{rule.description}} {{alert.id}} {{alert.count}} {{alert.key}} {{alert.match}} {{alert.firstAt}} {{alert.lastAt}} {{alert.firedAt}} {{alert.status}} {{alert.value}} {{alert.startsAt}} {{alert.endsAt}} {{alert.json}} {{#alert.events}}{{eventId}}{{/alert.events}} {{sipCode}} {{extraParam.region}}"}
            """
        let ruleSet = try RulesLoader.load(yaml: yaml, path: "rules.yaml", environment: [:])
        #expect(
            ruleSet.warnings == [
                Self.warning(
                    6,
                    24,
                    "'extraParam.region' in template is not a documented 8x8 field; it renders empty when absent in rule 'r1'"
                )
            ]
        )
    }

    @Test func plainScalarsInHTTPJSONAreTemplates() throws {
        let yaml = """
            version: 1
            rules:
              - name: r1
                when: {callStatus: CALL_DISCONNECTED}
                actions:
                  - http:
                      url: https://example.com/hook
                      json:
                        text: callwatch {{rule.name}} for {{destination}}
                        count: 3
                        quiet: false
                        typo: sip {{sipCod}}
            """
        #expect(
            Self.errors(yaml) == [
                Self.error(12, 19, "unknown name 'sipCod' in template in rule 'r1'; did you mean 'sipCode'?")
            ]
        )
        let valid = yaml.replacingOccurrences(of: "{{sipCod}}", with: "{{sipCode}}")
        let rule = try #require(try RulesLoader.load(yaml: valid, path: "rules.yaml", environment: [:]).rules.first)
        guard case .http(let http) = rule.actions.first, case .json(.object(let members)) = http.body else {
            Issue.record("expected an http action with a json body")
            return
        }
        #expect(members.map(\.key) == ["text", "count", "quiet", "typo"])
        guard case .string(let text) = members[0].value else {
            Issue.record("a plain string with {{…}} must be a template, not a literal")
            return
        }
        #expect(text.source == "callwatch {{rule.name}} for {{destination}}")
        guard case .literal(.number(3)) = members[1].value, case .literal(.bool(false)) = members[2].value else {
            Issue.record("numbers and booleans stay JSON literals")
            return
        }
    }

    @Test func templateSyntaxErrorPointsIntoTheTemplate() {
        let yaml = """
            version: 1
            rules:
              - name: r1
                when: {callStatus: CALL_DISCONNECTED}
                actions:
                  - log: {message: "SIP {{#sipCode}} open"}
                  - log:
                      message: |
                        first line
                        then {{sipCode} broken
            """
        let errors = Self.errors(yaml)
        #expect(errors.count == 2)
        #expect(errors.allSatisfy { $0.message.hasPrefix("template syntax error in log.message: ") })
        #expect(errors.allSatisfy { $0.message.hasSuffix(" in rule 'r1'") })
        #expect(errors.map(\.line) == [6, 10])
        // The first template ends at column 45 of its line; the second's error is at the lone '}' (column 27).
        #expect(errors.map(\.column) == [46, 27])
    }

    @Test func emptyFileIsAnError() {
        let message = "the file is empty; expected a mapping with 'version' and 'rules'"
        #expect(Self.errors("") == [Self.error(1, 1, message)])
        #expect(Self.errors("\n  \n# only a comment\n") == [Self.error(1, 1, message)])
    }

    @Test func yamlSyntaxErrorIsReportedWithItsPosition() {
        let yaml = """
            version: 1
            rules:
              - name: a: b
            """
        let errors = Self.errors(yaml)
        #expect(errors.count == 1)
        #expect(errors.first?.line == 3)
        #expect(errors.first?.column == 12)
        #expect(errors.first?.message.hasPrefix("invalid YAML: ") == true)
        #expect(errors.first?.message.contains("mapping values are not allowed") == true)

        let unclosed = Self.errors("version: 1\nrules: [\n  {name: a}\n")
        #expect(unclosed.count == 1)
        #expect(unclosed.first?.line == 4)
        #expect(unclosed.first?.message.hasPrefix("invalid YAML: ") == true)
    }

    @Test(arguments: ["- a\n- b\n", "just a string\n", "42", "[version, rules]"])
    func nonMappingTopLevelIsAnError(yaml: String) {
        #expect(Self.errors(yaml) == [Self.error(1, 1, "the top level must be a mapping")])
    }

    @Test func unknownEventFieldIsOnlyAWarning() throws {
        let yaml = """
            version: 1
            rules:
              - name: r1
                when: {callStatus: CALL_DISCONNECTED, sipCod: 486}
                by: [tenant]
                actions: []
            """
        let ruleSet = try RulesLoader.load(yaml: yaml, path: "rules.yaml", environment: [:])
        let tail = " (8x8 may add fields; it matches only events that carry it)"
        #expect(
            ruleSet.warnings == [
                Self.warning(4, 43, "unknown event field 'sipCod' in rule 'r1'; did you mean 'sipCode'?" + tail),
                Self.warning(5, 10, "unknown event field 'tenant' in rule 'r1'" + tail),
            ]
        )
        #expect(ruleSet.rules.count == 1)
    }

    @Test func windowAndSequenceTogetherIsAnError() {
        let yaml = """
            version: 1
            rules:
              - name: r1
                when: {callStatus: DTMF_RECEIVED}
                window: {count: 2, within: 1m}
                sequence: {pattern: '1', within: 1m}
                actions: []
            """
        #expect(
            Self.errors(yaml) == [
                Self.error(
                    6,
                    5,
                    "a rule takes one of 'window', 'sequence', 'ratio', 'aggregate', 'absent', 'gauge', "
                        + "not both 'window' and 'sequence' in rule 'r1'"
                )
            ]
        )
    }

    @Test func duplicateRuleNamesAreAnError() {
        let yaml = """
            version: 1
            rules:
              - name: same
                when: {callStatus: CALL_CONNECTED}
                actions: []
              - name: same
                when: {callStatus: CALL_DISCONNECTED}
                actions: []
            """
        #expect(Self.errors(yaml) == [Self.error(6, 5, "duplicate rule name 'same' (first defined on line 3)")])
    }

    @Test func everyProblemIsReportedInOnePass() {
        let yaml = """
            version: 1
            rules:
              - name: r1
                when: {sipCode: {gte: abc}, callType: {in: PSTN}}
                window: {count: 0, within: 1m}
                actions:
                  - log: {level: warnin, message: hi}
              - when: {callStatus: CALL_CONNECTED}
                actions: []
            """
        #expect(
            Self.errors(yaml) == [
                Self.error(4, 27, "'gte' on 'sipCode' needs a number, not 'abc' in rule 'r1'"),
                Self.error(4, 48, "'in' on 'callType' takes a list of values in rule 'r1'"),
                Self.error(5, 21, "window.count must be a whole number in 1...100000 in rule 'r1'"),
                Self.error(7, 22, "unknown log level 'warnin' in rule 'r1'; did you mean 'warning'?"),
                Self.error(8, 5, "a rule needs a 'name'"),
            ]
        )
    }

    @Test func shippedRulesLoadWithoutWarnings() throws {
        let ruleSet = try RulesLoader.load(path: Self.packageRoot.appendingPathComponent("rules.yaml").path)
        #expect(
            ruleSet.rules.map(\.name) == [
                "repeated-sip-failures", "zero-duration-disconnect", "caller-asks-for-agent", "failed-session",
                "low-asr", "short-calls", "no-connected-calls", "too-many-concurrent-calls",
            ]
        )
        #expect(ruleSet.warnings.isEmpty)
    }

    // MARK: Never crash

    /// Tests/CallWatchTests/Rules/DiagnosticsTests.swift → the package root.
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// Loads a variant: it must either succeed or throw diagnostics that each point into the file.
    static func loadNeverCrashes(_ bytes: [UInt8], _ what: String) {
        let text = String(decoding: bytes, as: UTF8.self)
        let lineCount = text.split(separator: "\n", omittingEmptySubsequences: false).count
        do {
            let ruleSet = try RulesLoader.load(yaml: text, path: "fuzz.yaml", environment: [:])
            #expect(ruleSet.warnings.allSatisfy { $0.severity == .warning }, "\(what)")
        } catch {
            #expect(error.diagnostics.contains { $0.severity == .error }, "\(what): thrown without an error")
            for diagnostic in error.diagnostics {
                #expect(diagnostic.file == "fuzz.yaml", "\(what)")
                #expect(diagnostic.line >= 1 && diagnostic.line <= lineCount + 1, "\(what): \(diagnostic)")
                #expect(diagnostic.column >= 1, "\(what): \(diagnostic)")
            }
        }
    }

    @Test func loadingMangledRulesNeverCrashes() throws {
        let original = Array(try Data(contentsOf: Self.packageRoot.appendingPathComponent("rules.yaml")))
        #expect(original.count > 1000)
        for length in stride(from: 0, through: original.count, by: 7) {
            Self.loadNeverCrashes(Array(original.prefix(length)), "truncated at \(length)")
        }
        let interesting = Array("{}[]:,-'\"&*!|>%@`#$ \n\t0123456789aZ".utf8) + [0x00, 0xFF, 0xC3, 0x7F]
        var generator = SeededGenerator(seed: 0x00CA_11AA_7C11)
        for round in 0..<400 {
            var bytes = original
            for _ in 0..<(1 + round % 4) {
                let index = Int.random(in: 0..<bytes.count, using: &generator)
                bytes[index] =
                    Bool.random(using: &generator)
                    ? interesting.randomElement(using: &generator)! : UInt8.random(in: 0...255, using: &generator)
            }
            Self.loadNeverCrashes(bytes, "flip round \(round)")
        }
        // Whole lines dropped or repeated: valid YAML with structural damage.
        let lines = original.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        for round in 0..<150 {
            var mangled = Array(lines)
            let index = Int.random(in: 0..<mangled.count, using: &generator)
            if round.isMultiple(of: 2) { mangled.remove(at: index) } else { mangled.insert(mangled[index], at: index) }
            Self.loadNeverCrashes(Array(mangled.joined(separator: [UInt8(ascii: "\n")])), "line round \(round)")
        }
    }
}
