import CallWatch
import Foundation
import HTTPTypes
import Testing

@testable import CallWatchServer

/// Credentials (401) and the client allow-list (403) in front of ingest and reload.
@Suite("Auth and allow-list")
struct AccessTests {
    struct AuthMode: Sendable, CustomTestStringConvertible {
        var name: String
        var serverLines: [String]
        var right: HTTPFields
        var wrong: [HTTPFields]
        /// The `WWW-Authenticate` challenge a 401 carries, if any.
        var challenge: String?

        var testDescription: String { name }
    }

    static func basic(_ credentials: String) -> String {
        "Basic " + Data(credentials.utf8).base64EncodedString()
    }

    static let modes: [AuthMode] = [
        AuthMode(
            name: "authorization",
            serverLines: [#"auth: {authorization: "Bearer s3cret-token"}"#],
            right: [.authorization: "Bearer s3cret-token"],
            wrong: [
                [.authorization: "Bearer s3cret-tokem"], [.authorization: "Bearer s3cret-token2"],
                [.authorization: "Bearer s3cret-toke"], [.authorization: "bearer s3cret-token"],
                [HTTPField.Name("X-Authorization")!: "Bearer s3cret-token"],
            ],
            challenge: nil
        ),
        AuthMode(
            name: "basic",
            serverLines: [#"auth: {basic: {username: "8x8", password: "pa:ss w0rd"}}"#],
            right: [.authorization: basic("8x8:pa:ss w0rd")],
            wrong: [
                [.authorization: basic("8x8:pa:ss w0rD")], [.authorization: basic("8x9:pa:ss w0rd")],
                [.authorization: basic("8x8:")], [.authorization: "Bearer pa:ss w0rd"],
            ],
            challenge: #"Basic realm="callwatch""#
        ),
        AuthMode(
            name: "header",
            serverLines: [#"auth: {header: {name: X-Callwatch-Secret, value: "hunter2-and-more"}}"#],
            right: [HTTPField.Name("X-Callwatch-Secret")!: "hunter2-and-more"],
            wrong: [
                [HTTPField.Name("X-Callwatch-Secret")!: "hunter2"],
                [HTTPField.Name("X-Callwatch-Secret")!: "hunter2-and-more2"],
                [HTTPField.Name("X-Other-Secret")!: "hunter2-and-more"],
                [.authorization: "hunter2-and-more"],
            ],
            challenge: nil
        ),
    ]

    static let anyRule = """
        - name: e2e-access-any
          when: {callStatus: CALL_DISCONNECTED}
          actions:
            - log: {level: debug, message: "seen {{eventId}}"}
        """

    @Test("each auth mode accepts the right credential and answers 401 to wrong or missing ones", arguments: modes)
    func authMode(_ mode: AuthMode) async throws {
        try await withServer(rules: Fixture.config(server: mode.serverLines, rules: Self.anyRule)) { server in
            let before = try await server.metrics()
            var refused = 0
            for (index, headers) in ([[:]] + mode.wrong).enumerated() {
                let result = try await server.post(Fixture.event(id: "\(mode.name)-wrong-\(index)"), headers: headers)
                #expect(result.status == .unauthorized, "\(headers)")
                #expect(result.isJSON)
                #expect(result.errorField == "bad or missing credentials")
                #expect(result.headers[.wwwAuthenticate] == mode.challenge)
                refused += 1
            }
            let right = try await server.post(Fixture.event(id: "\(mode.name)-right"), headers: mode.right)
            #expect(right.status == .ok)
            #expect(right.statusField == "accepted")
            #expect(try await server.storedIdentities() == ["CALL_STATUS:\(mode.name)-right"])

            let after = try await server.metrics()
            #expect(after.delta("callwatch_events_total", ["outcome": "rejected"], since: before) >= Double(refused))

            // The reload endpoint and the alerts API take the same credentials.
            #expect(try await server.reload().status == .unauthorized)
            #expect(try await server.reload(headers: mode.wrong[0]).status == .unauthorized)
            #expect(try await server.reload(headers: mode.right).status == .ok)
            #expect(try await server.send(.get, "/api/v1/alerts").status == .unauthorized)
            #expect(try await server.send(.get, "/api/v1/alerts", headers: mode.right).status == .ok)
        }
    }

    struct AllowCase: Sendable, CustomTestStringConvertible {
        var name: String
        var serverLines: [String]
        var forwardedFor: String?
        var allowed: Bool

        var testDescription: String { name }
    }

    static let allowCases: [AllowCase] = [
        AllowCase(name: "a list without 127.0.0.1", serverLines: [#"allow: [10.0.0.0/8, "::1/128"]"#], allowed: false),
        AllowCase(name: "a list with 127.0.0.0/8", serverLines: ["allow: [10.0.0.0/8, 127.0.0.0/8]"], allowed: true),
        AllowCase(name: "a single-address list", serverLines: ["allow: [127.0.0.1/32]"], allowed: true),
        AllowCase(
            name: "X-Forwarded-For ignored without trust_forwarded",
            serverLines: ["allow: [203.0.113.0/24]"],
            forwardedFor: "203.0.113.7",
            allowed: false
        ),
        AllowCase(
            name: "trusted X-Forwarded-For inside the list",
            serverLines: ["allow: [203.0.113.0/24]", "trust_forwarded: true"],
            forwardedFor: "203.0.113.7",
            allowed: true
        ),
        AllowCase(
            name: "trusted X-Forwarded-For outside the list",
            serverLines: ["allow: [203.0.113.0/24]", "trust_forwarded: true"],
            forwardedFor: "198.51.100.1",
            allowed: false
        ),
        AllowCase(
            name: "trusted X-Forwarded-For: the proxy's (right-most) entry counts",
            serverLines: ["allow: [203.0.113.0/24]", "trust_forwarded: true"],
            forwardedFor: "203.0.113.7, 198.51.100.1",
            allowed: false
        ),
        AllowCase(
            name: "trusted X-Forwarded-For: a forged left entry does not matter",
            serverLines: ["allow: [203.0.113.0/24]", "trust_forwarded: true"],
            forwardedFor: "198.51.100.1, 203.0.113.7",
            allowed: true
        ),
        AllowCase(
            name: "trust_forwarded with no X-Forwarded-For uses the peer",
            serverLines: ["allow: [203.0.113.0/24]", "trust_forwarded: true"],
            allowed: false
        ),
    ]

    @Test("the allow-list answers 403 to clients outside it", arguments: allowCases)
    func allowList(_ allowCase: AllowCase) async throws {
        try await withServer(rules: Fixture.config(server: allowCase.serverLines, rules: Self.anyRule)) { server in
            var headers: HTTPFields = [:]
            if let forwardedFor = allowCase.forwardedFor {
                headers[HTTPField.Name("X-Forwarded-For")!] = forwardedFor
            }
            let result = try await server.post(Fixture.event(id: "allow-1"), headers: headers)
            let reload = try await server.reload(headers: headers)
            if allowCase.allowed {
                #expect(result.status == .ok)
                #expect(result.statusField == "accepted")
                #expect(try await server.storedIdentities() == ["CALL_STATUS:allow-1"])
                #expect(reload.status == .ok)
            } else {
                #expect(result.status == .forbidden)
                #expect(result.isJSON)
                #expect(result.errorField == "client address not allowed")
                #expect(try await server.storedIdentities().isEmpty)
                #expect(reload.status == .forbidden)
            }
        }
    }

    @Test("the allow-list is checked before credentials")
    func allowListBeforeAuth() async throws {
        let lines = ["allow: [10.0.0.0/8]", #"auth: {authorization: "Bearer t0ken"}"#]
        try await withServer(rules: Fixture.config(server: lines, rules: Self.anyRule)) { server in
            let result = try await server.post(Fixture.event(), headers: [.authorization: "Bearer t0ken"])
            #expect(result.status == .forbidden)
            #expect(try await server.post(Fixture.event()).status == .forbidden)
        }
    }
}
