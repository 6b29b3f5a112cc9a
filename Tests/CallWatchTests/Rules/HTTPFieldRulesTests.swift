import Testing

@testable import CallWatch

/// Credentials and headers that no HTTP request could carry, and hooks that could never start, are load errors:
/// a credential that cannot be checked must never leave the endpoint open.
@Suite struct HTTPFieldRulesTests {
    static func messages(_ yaml: String, environment: [String: String] = [:]) -> [String] {
        DiagnosticsTests.diagnostics(yaml, environment: environment).map(\.message)
    }

    static func withAuth(_ auth: String) -> String {
        """
        version: 1
        server:
          auth:
        \(auth)
        rules:
          - name: x
            when: {callStatus: CALL_DISCONNECTED}
            actions: [log: {message: hung up}]
        """
    }

    @Test(arguments: ["X-Callwatch-Secret:", "X Secret", "Secret\\u0000", "é-secret", ""])
    func anAuthHeaderNameThatIsNotAFieldNameIsAnError(name: String) {
        let yaml = Self.withAuth("    header: {name: \"\(name)\", value: s3cret}")
        let messages = Self.messages(yaml)
        #expect(messages.contains { $0.contains("is not an HTTP field name") }, "\(messages)")
        #expect(!messages.joined().contains("s3cret"))
    }

    @Test func aValidAuthHeaderLoads() throws {
        let ruleSet = try RulesLoader.load(
            yaml: Self.withAuth("    header: {name: X-Callwatch-Secret, value: s3cret}"),
            path: "rules.yaml",
            environment: [:]
        )
        guard case .header(let name, let value) = ruleSet.server.auth else {
            Issue.record("expected header auth, got \(String(describing: ruleSet.server.auth))")
            return
        }
        #expect(name == "X-Callwatch-Secret")
        #expect(value == "s3cret")
    }

    @Test(arguments: [
        ("    header: {name: X-Secret, value: \"${SECRET}\"}", "server.auth.header.value"),
        ("    authorization: \"${SECRET}\"", "server.auth.authorization"),
        ("    basic: {username: ops, password: \"${SECRET}\"}", "server.auth.basic.password"),
    ])
    func aSecretHoldingALineBreakIsAnErrorWithoutEchoingIt(auth: String, what: String) {
        let messages = Self.messages(Self.withAuth(auth), environment: ["SECRET": "top\r\nsecret"])
        #expect(messages == ["\(what) holds a line break or NUL, which no HTTP request can carry"])
    }

    @Test func aBasicUsernameWithAColonIsAnError() {
        let messages = Self.messages(Self.withAuth("    basic: {username: \"a:b\", password: pw}"))
        #expect(messages == ["server.auth.basic.username must be non-empty and hold no ':' (RFC 7617)"])
    }

    @Test func anEmptyHeaderSecretIsAnError() {
        let messages = Self.messages(Self.withAuth("    header: {name: X-Secret, value: \"\"}"))
        #expect(messages == ["server.auth.header.value is empty"])
    }

    static func withAction(_ action: String) -> String {
        """
        version: 1
        rules:
          - name: x
            when: {callStatus: CALL_DISCONNECTED}
            actions:
              - \(action)
        """
    }

    static let neverStarts = "exec.command's program is empty or holds a NUL: it could never start in rule 'x'"

    @Test(arguments: [
        ("exec: {command: ['']}", neverStarts),
        ("exec: {command: [\"/bin/echo\\u0000x\"]}", neverStarts),
        (
            "exec: {command: [/bin/true], env: {\"A=B\": x}}",
            "exec.env name 'A=B' must be non-empty, without '=' or NUL in rule 'x'"
        ),
        (
            "http: {url: 'http://127.0.0.1/', headers: {\"Bad Header\": x}}",
            "http.headers: 'Bad Header' is not an HTTP field name in rule 'x'"
        ),
        (
            "http: {url: 'http://127.0.0.1/', method: \"PO ST\"}",
            "http.method 'PO ST' is not an HTTP method name in rule 'x'"
        ),
    ])
    func actionsThatCouldNeverRunAreErrors(action: String, message: String) {
        #expect(Self.messages(Self.withAction(action)) == [message])
    }

    @Test func aHookWithArgumentsAndHeadersLoads() {
        let yaml = Self.withAction(
            "http: {url: 'http://127.0.0.1/', method: put, headers: {X-Token: \"{{callId}}\", Accept: '*/*'}}"
        )
        #expect(Self.messages(yaml) == [])
        #expect(Self.messages(Self.withAction("exec: {command: [/bin/true, ''], env: {MY_VAR: x}}")) == [])
    }
}
