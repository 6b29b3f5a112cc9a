import Testing

@testable import CallWatch

extension Actions {
    /// Templates in actions are parsed and their names checked when the rules load (what `callwatch check` runs):
    /// problems come back as diagnostics with the file's line and column.
    @Suite struct ActionTemplateCheckTests {
        /// A rules file with one rule whose `actions:` list is `actions` (written unindented); the first action
        /// starts on line 6.
        static func rulesFile(actions: String) -> String {
            let indented = actions.split(separator: "\n", omittingEmptySubsequences: false).map { "      " + $0 }
            return """
                version: 1
                rules:
                  - name: page-on-failure
                    when: {callStatus: CALL_DISCONNECTED}
                    actions:
                \(indented.joined(separator: "\n"))
                """
        }

        /// The diagnostics of loading `yaml`: the errors it throws, or the warnings of a file that loads.
        static func diagnostics(_ yaml: String) -> [Diagnostic] {
            do {
                return try RulesLoader.load(yaml: yaml, path: "rules.yaml", environment: [:]).warnings
            } catch {
                return error.diagnostics
            }
        }

        /// The 1-based line and column of the first `needle` in `text`, moved `offset` characters to the right.
        static func position(of needle: String, in text: String, offset: Int = 0) throws -> (line: Int, column: Int) {
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            for (index, line) in lines.enumerated() {
                if let range = line.range(of: needle) {
                    return (index + 1, line.distance(from: line.startIndex, to: range.lowerBound) + 1 + offset)
                }
            }
            throw TestDeadline(description: "'\(needle)' is not in the file")
        }

        /// Expects exactly one error, at `needle` (+ `offset`), whose message contains each of `fragments`.
        static func expectOneError(
            in yaml: String,
            at needle: String,
            offset: Int = 0,
            containing fragments: String...,
            sourceLocation: SourceLocation = #_sourceLocation
        ) throws {
            let errors = diagnostics(yaml).filter { $0.severity == .error }
            try #require(errors.count == 1, "\(errors)", sourceLocation: sourceLocation)
            let expected = try position(of: needle, in: yaml, offset: offset)
            #expect(errors[0].file == "rules.yaml", sourceLocation: sourceLocation)
            #expect(errors[0].line == expected.line, "\(errors[0])", sourceLocation: sourceLocation)
            #expect(errors[0].column == expected.column, "\(errors[0])", sourceLocation: sourceLocation)
            for fragment in fragments {
                #expect(errors[0].message.contains(fragment), "\(errors[0])", sourceLocation: sourceLocation)
            }
        }

        @Test func syntaxErrorInAnExecArgumentPointsAtIt() throws {
            let yaml = Self.rulesFile(
                actions: """
                    - exec:
                        command: [/usr/local/bin/page, "{{#destination}}{{/sipCode}}", --now]
                    """
            )
            // Mustache stops at the name of the mismatched closing tag.
            try Self.expectOneError(
                in: yaml,
                at: "{{/sipCode}}",
                offset: 3,
                containing: "template syntax error in exec.command"
            )
        }

        @Test func syntaxErrorInAnUnquotedHTTPURLPointsAtIt() throws {
            let yaml = Self.rulesFile(
                actions: """
                    - http:
                        url: http://hooks.test/call/{{#callId}}x{{/callid}}
                    """
            )
            try Self.expectOneError(
                in: yaml,
                at: "{{/callid}}",
                offset: 3,
                containing: "template syntax error in http.url"
            )
        }

        @Test func syntaxErrorInAJSONLeafPointsAtIt() throws {
            let yaml = Self.rulesFile(
                actions: """
                    - http:
                        url: https://hooks.test/alerts
                        json:
                          summary: "{{alert.count}} failures"
                          detail: {text: "SIP {{#sipCode}}{{sipCode}}{{/sipcode}}", level: 2}
                    """
            )
            try Self.expectOneError(
                in: yaml,
                at: "{{/sipcode}}",
                offset: 3,
                containing: "template syntax error in http.json"
            )
        }

        @Test func syntaxErrorOnTheSecondLineOfABlockBodyPointsAtIt() throws {
            let yaml = Self.rulesFile(
                actions: """
                    - http:
                        url: https://hooks.test/alerts
                        body: |
                          first line {{destination}}
                          second line {{#sipCode}}{{/oops}}
                    """
            )
            try Self.expectOneError(
                in: yaml,
                at: "{{/oops}}",
                offset: 3,
                containing: "template syntax error in http.body"
            )
        }

        @Test func unclosedSectionIsAnError() throws {
            let yaml = Self.rulesFile(
                actions: """
                    - log: {message: "{{#alert.events}}{{sipCode}} "}
                    """
            )
            let errors = Self.diagnostics(yaml).filter { $0.severity == .error }
            try #require(errors.count == 1, "\(errors)")
            #expect(errors[0].line == 6)
            #expect(errors[0].message.contains("template syntax error in log"))
        }

        @Test func unknownAlertNameInAnEnvTemplateIsAnError() throws {
            let yaml = Self.rulesFile(
                actions: """
                    - exec:
                        command: [/usr/local/bin/page]
                        env: {ALERT: "{{alert.idd}}"}
                    """
            )
            try Self.expectOneError(
                in: yaml,
                at: "\"{{alert.idd}}\"",
                containing: "unknown name 'alert.idd'",
                "did you mean 'alert.id'?"
            )
        }

        @Test func misspeltAlertStatusIsAnErrorWithDidYouMean() throws {
            let yaml = Self.rulesFile(
                actions: """
                    - log: "{{alert.stauts}} at {{alert.startsAt}}"
                    """
            )
            try Self.expectOneError(
                in: yaml,
                at: "\"{{alert.stauts}}",
                containing: "unknown name 'alert.stauts'",
                "did you mean 'alert.status'?"
            )
        }

        @Test func unknownRuleNameInAHeaderIsAnError() throws {
            let yaml = Self.rulesFile(
                actions: """
                    - http:
                        url: https://hooks.test/alerts
                        headers:
                          X-Rule: "{{rule.nmae}}"
                    """
            )
            try Self.expectOneError(
                in: yaml,
                at: "\"{{rule.nmae}}\"",
                containing: "unknown name 'rule.nmae'",
                "did you mean 'rule.name'?"
            )
        }

        @Test func misspelledFieldInAJSONLeafIsAnError() throws {
            let yaml = Self.rulesFile(
                actions: """
                    - http:
                        url: https://hooks.test/alerts
                        json: {to: "{{destinaton}}"}
                    """
            )
            try Self.expectOneError(
                in: yaml,
                at: "\"{{destinaton}}\"",
                containing: "unknown name 'destinaton'",
                "did you mean 'destination'?"
            )
        }

        @Test func misspelledFieldInsideAlertEventsIsAnError() throws {
            let yaml = Self.rulesFile(
                actions: """
                    - exec:
                        command: [/usr/local/bin/page, "{{#alert.events}}{{sipCod}},{{/alert.events}}"]
                    """
            )
            try Self.expectOneError(
                in: yaml,
                at: "\"{{#alert.events}}",
                containing: "unknown name 'alert.events.sipCod'",
                "did you mean 'sipCode'?"
            )
        }

        @Test func everyBadTemplateOfAFileIsReported() {
            let yaml = Self.rulesFile(
                actions: """
                    - exec: {command: [/usr/local/bin/page, "{{alert.idd}}"]}
                    - http: {url: "https://hooks.test/{{#x}}", body: "{{rule.nam}}"}
                    - log: {message: "{{sipcode}}"}
                    """
            )
            let errors = Self.diagnostics(yaml).filter { $0.severity == .error }
            #expect(errors.map(\.line) == [6, 7, 7, 8], "\(errors)")
        }

        /// A top-level name that is neither a documented 8x8 field nor close to one may be a field 8x8 added
        /// later: the loader reports it as a warning (an error under `check --strict`), not silently.
        @Test func undocumentedFieldIsAWarning() throws {
            let yaml = Self.rulesFile(
                actions: """
                    - log: {message: "carrier {{carrierName}}"}
                    """
            )
            let diagnostics = Self.diagnostics(yaml)
            #expect(!diagnostics.contains { $0.severity == .error }, "\(diagnostics)")
            let warning = try #require(diagnostics.first { $0.message.contains("carrierName") })
            #expect(warning.severity == .warning)
            #expect(warning.line == 6)
        }

        @Test func goodTemplatesLoadCleanly() throws {
            let yaml = Self.rulesFile(
                actions: """
                    - exec:
                        command: [/usr/local/bin/page, "{{destination}}", "{{#alert.events}}{{sipCode}} {{/alert.events}}"]
                        env: {WHO: "{{rule.name}} {{rule.description}} {{alert.key}} {{alert.match}}"}
                    - log: "{{alert.status}} {{alert.value}} from {{alert.startsAt}} to {{alert.endsAt}}"
                    - http:
                        url: "https://hooks.test/{{callId}}"
                        headers: {X-Alert: "{{alert.id}}"}
                        json: {at: "{{alert.firedAt}}", first: "{{alert.firstAt}}", n: "{{alert.count}}", raw: "{{{alert.json}}}"}
                    """
            )
            let ruleSet = try RulesLoader.load(yaml: yaml, path: "rules.yaml", environment: [:])
            #expect(ruleSet.warnings.isEmpty, "\(ruleSet.warnings)")
            #expect(ruleSet.rules[0].actions.map(\.kind) == ["exec", "log", "http"])
        }
    }
}
