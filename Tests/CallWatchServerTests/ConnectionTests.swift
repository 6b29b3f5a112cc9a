import CallWatch
import Foundation
import Testing

@testable import CallWatchServer

/// The ingest route is answered on the event loop ahead of the router (`IngestHandler`); on one connection it
/// must still behave like every other route: answers in request order, `Connection: close` honoured.
@Suite("Ingest on one connection")
struct ConnectionTests {
    static let rules = Fixture.config(
        rules: """
            - name: e2e-connection-any
              when: {callStatus: CALL_DISCONNECTED}
              actions:
                - log: {level: debug, message: "seen {{eventId}}"}
            """
    )

    static func post(_ body: String, path: String = Fixture.ingestPath, close: Bool = false) -> String {
        var request = "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        if close { request += "Connection: close\r\n" }
        return request + "Content-Length: \(body.utf8.count)\r\n\r\n" + body
    }

    static let health = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"

    @Test("pipelined requests mixing ingest and router routes are answered in order")
    func pipelinedAnswersStayInOrder() async throws {
        try await withServer(rules: Self.rules) { server in
            let requests = [
                Self.post(Fixture.event(id: "pipelined-1")),
                Self.health,
                Self.post(#"{"payload": []}"#),
                Self.post(Fixture.event(id: "pipelined-1")),
                "GET /nowhere HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
                Self.post(Fixture.event(id: "pipelined-2")),
            ]
            let (responses, _) = try await RawHTTP.exchange(
                port: server.port,
                requests.joined(),
                responses: requests.count
            )
            #expect(responses.map(\.status) == [200, 200, 400, 200, 404, 200])
            #expect(
                responses.map { $0.json?["status"] as? String } == [
                    "accepted", "ok", nil, "duplicate", nil, "accepted",
                ]
            )
            #expect(responses[2].json?["error"] != nil)
            #expect(
                try await server.storedIdentities().sorted() == ["CALL_STATUS:pipelined-1", "CALL_STATUS:pipelined-2"]
            )
        }
    }

    @Test("Connection: close on an ingest request: answered, then the connection is closed")
    func connectionCloseIsHonoured() async throws {
        try await withServer(rules: Self.rules) { server in
            let open = try await RawHTTP.exchange(
                port: server.port,
                Self.post(Fixture.event(id: "keep-open")),
                responses: 1
            )
            #expect(open.responses.map(\.status) == [200])
            #expect(!open.closed)

            let closing = try await RawHTTP.exchange(
                port: server.port,
                Self.post(Fixture.event(id: "then-close"), close: true),
                responses: 1
            )
            #expect(closing.responses.map(\.status) == [200])
            #expect(closing.closed)
            #expect(
                try await server.storedIdentities().sorted() == ["CALL_STATUS:keep-open", "CALL_STATUS:then-close"]
            )
        }
    }

    @Test("a head that is refused is answered before its body is sent; the connection stays usable")
    func refusedOnTheHeadAlone() async throws {
        try await withServer(rules: Self.rules) { server in
            // Declares 10 MB (max_body is 1 KiB) and sends none of it: the 413 must not wait for the body.
            let head = "POST \(Fixture.ingestPath) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            let early = try await RawHTTP.exchange(
                port: server.port,
                head + "Content-Length: 10000000\r\n\r\n",
                responses: 1,
                timeout: .seconds(5)
            )
            #expect(early.responses.map(\.status) == [413])
            #expect(early.responses.first?.json?["error"] as? String == "body over 1024 bytes")

            // A refused request's body is read and dropped; the next request on the connection is answered.
            let body = Fixture.event(id: "after-refusal")
            let refusedThenGood =
                head.replacingOccurrences(of: "application/json", with: "text/plain")
                + "Content-Length: \(body.utf8.count)\r\n\r\n" + body + Self.post(body)
            let (responses, _) = try await RawHTTP.exchange(port: server.port, refusedThenGood, responses: 2)
            #expect(responses.map(\.status) == [415, 200])
            #expect(try await server.storedIdentities() == ["CALL_STATUS:after-refusal"])
        }
    }

    @Test("the ingest path with a query string or a trailing slash is the ingest path")
    func queryAndTrailingSlash() async throws {
        try await withServer(rules: Self.rules) { server in
            for (index, path) in ["\(Fixture.ingestPath)?source=8x8", "\(Fixture.ingestPath)/"].enumerated() {
                let (responses, _) = try await RawHTTP.exchange(
                    port: server.port,
                    Self.post(Fixture.event(id: "path-\(index)"), path: path),
                    responses: 1
                )
                #expect(responses.first?.json?["status"] as? String == "accepted", "\(path)")
            }
            let (other, _) = try await RawHTTP.exchange(
                port: server.port,
                Self.post(Fixture.event(id: "path-other"), path: Fixture.ingestPath + "-other"),
                responses: 1
            )
            #expect(other.first?.status == 404)
            #expect(try await server.storedIdentities().sorted() == ["CALL_STATUS:path-0", "CALL_STATUS:path-1"])
        }
    }

    @Test("IngestEndpoint.serves matches the path alone")
    func servesMatchesThePath() {
        let path = "/v1/call-status"
        #expect(IngestEndpoint.serves("/v1/call-status", path: path))
        #expect(IngestEndpoint.serves("/v1/call-status?x=1", path: path))
        #expect(IngestEndpoint.serves("/v1/call-status/", path: path))
        #expect(IngestEndpoint.serves("/", path: "/"))
        #expect(!IngestEndpoint.serves("/v1/call-status//", path: path))
        #expect(!IngestEndpoint.serves("/v1/call-statu", path: path))
        #expect(!IngestEndpoint.serves("/v1/call-status/x", path: path))
        #expect(!IngestEndpoint.serves(nil, path: path))
    }
}
