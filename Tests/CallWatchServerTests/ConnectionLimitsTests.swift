import CallWatch
import CallWatchTestSupport
import Foundation
import Testing

@testable import CallWatchServer

/// Connections the daemon cannot serve are answered and closed, so no client, careless or hostile, holds file
/// descriptors for longer than it takes to say no, or than `server.idle_timeout` when it says nothing.
@Suite("Connection limits")
struct ConnectionLimitsTests {
    static let rule = """
        - name: e2e-limits-any
          when: {callStatus: CALL_DISCONNECTED}
          actions:
            - log: {level: debug, message: "seen {{eventId}}"}
        """
    static let rules = Fixture.config(server: ["idle_timeout: 1s"], rules: rule)

    static func post(_ body: String, version: String = "HTTP/1.1", extra: String = "") -> String {
        "POST \(Fixture.ingestPath) \(version)\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\(extra)"
            + "Content-Length: \(body.utf8.count)\r\n\r\n" + body
    }

    @Test(
        "a header block over the limit is answered 431 and closed: 300 of them under ulimit -n 64 leave ingest working",
        .enabled(if: DurabilityDaemon.binaryExists, "needs .build/debug/callwatch (make test builds it first)")
    )
    func oversizedHeadersAreAnsweredAndClosed() async throws {
        try await withTemporaryDirectory(prefix: "callwatch-limits") { directory in
            try Self.rules.write(toFile: directory + "/rules.yaml", atomically: true, encoding: .utf8)
            let daemon = try DurabilityDaemon(
                directory: directory,
                rules: directory + "/rules.yaml",
                store: directory + "/callwatch.db",
                port: try unusedPort(),
                label: "limits",
                openFileLimit: 64
            )
            let client = DurabilityClient()
            try await daemon.waitUntilHealthy(client: client)

            let huge = "X-Padding: " + String(repeating: "a", count: 1 << 20) + "\r\n"
            let request = Self.post(Fixture.event(id: "never"), extra: huge)
            for round in 0..<300 {
                let (after, received) = try await RawHTTP.untilClosed(
                    port: daemon.port,
                    sending: request,
                    within: .seconds(10)
                )
                #expect(after != nil, "round \(round): the connection was left open")
                #expect(received.hasPrefix("HTTP/1.1 431 "), "round \(round): \(received.prefix(80))")
                if after == nil { break }
            }
            let answer = await client.post(
                daemon.baseURL + Fixture.ingestPath,
                body: Data(Fixture.event(id: "after").utf8)
            )
            #expect(answer?.status == 200)
            _ = try await daemon.terminate()
        }
    }

    @Test("malformed framing is answered 400 and closed")
    func malformedFramingIsAnsweredAndClosed() async throws {
        try await withServer(rules: Self.rules) { server in
            let request = "POST \(Fixture.ingestPath) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: x\r\n\r\n"
            let (after, received) = try await RawHTTP.untilClosed(
                port: server.port,
                sending: request,
                within: .seconds(10)
            )
            #expect(after != nil)
            #expect(received.hasPrefix("HTTP/1.1 400 "), "\(received.prefix(80))")
        }
    }

    @Test("HTTP/1.0 without keep-alive: answered as HTTP/1.0 with Connection: close, then EOF")
    func http10IsAnsweredAndClosed() async throws {
        try await withServer(rules: Self.rules) { server in
            let (after, received) = try await RawHTTP.untilClosed(
                port: server.port,
                sending: Self.post(Fixture.event(id: "http10"), version: "HTTP/1.0"),
                within: .seconds(10)
            )
            #expect(after != nil, "a client reading to EOF would hang")
            let response = try #require(RawResponse(received))
            #expect(response.version == "HTTP/1.0")
            #expect(response.status == 200)
            #expect(response.headers["connection"] == "close")
            #expect(response.json?["status"] as? String == "accepted")

            // The router's routes too.
            let health = try await RawHTTP.untilClosed(
                port: server.port,
                sending: "GET /healthz HTTP/1.0\r\n\r\n",
                within: .seconds(10)
            )
            #expect(health.after != nil)
            #expect(health.received.hasPrefix("HTTP/1.0 200 "))
        }
    }

    @Test("HTTP/1.0 with keep-alive keeps the connection and says so")
    func http10KeepAlive() async throws {
        try await withServer(rules: Self.rules) { server in
            let request = Self.post(
                Fixture.event(id: "http10-keep"),
                version: "HTTP/1.0",
                extra: "Connection: keep-alive\r\n"
            )
            let (responses, _) = try await RawHTTP.exchange(port: server.port, request + request, responses: 2)
            #expect(responses.map(\.version) == ["HTTP/1.0", "HTTP/1.0"])
            #expect(responses.map { $0.headers["connection"]?.lowercased() } == ["keep-alive", "keep-alive"])
            #expect(responses.map { $0.json?["status"] as? String } == ["accepted", "duplicate"])
        }
    }

    @Test("an idle connection, a half-sent head and a half-sent body are closed after idle_timeout")
    func idleConnectionsAreClosed() async throws {
        try await withServer(rules: Self.rules) { server in
            let silent = try await RawHTTP.untilClosed(port: server.port, within: .seconds(15))
            #expect(silent.after != nil)

            let halfHead = try await RawHTTP.untilClosed(
                port: server.port,
                sending: "POST \(Fixture.ingestPath) HTTP/1.1\r\nHost: 127.0.0.1\r\n",
                within: .seconds(15)
            )
            #expect(halfHead.after != nil)

            let body = Fixture.event(id: "half-body")
            let halfBody = try await RawHTTP.untilClosed(
                port: server.port,
                sending: String(Self.post(body).dropLast(10)),
                within: .seconds(15)
            )
            #expect(halfBody.after != nil)

            // After an answered request, the connection is idle again and closed the same way.
            let answered = try await RawHTTP.untilClosed(
                port: server.port,
                sending: Self.post(Fixture.event(id: "then-idle")),
                within: .seconds(15)
            )
            #expect(answered.after != nil)
            #expect(answered.received.hasPrefix("HTTP/1.1 200 "))
            #expect(try await server.storedIdentities() == ["CALL_STATUS:then-idle"])
        }
    }

    @Test("idle_timeout outside 1s…1h is a load error")
    func idleTimeoutRange() throws {
        for text in ["0s", "500ms", "2h"] {
            let config = Fixture.config(server: ["idle_timeout: \(text)"], rules: Self.rule)
            let error = #expect(throws: RulesError.self, "\(text)") {
                try RulesLoader.load(yaml: config, path: "rules.yaml", environment: [:])
            }
            #expect(error?.description.contains("server.idle_timeout must be between 1s and 1h") == true, "\(text)")
        }
    }
}
