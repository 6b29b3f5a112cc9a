import CallWatch
import Foundation
import HTTPTypes
import Testing

@testable import CallWatchServer

/// Every answer of the ingest path and the other routes, with its JSON body, against the real server.
@Suite("Ingest answers")
struct IngestResponseTests {
    static let rules = Fixture.config(
        rules: """
            - name: e2e-ingest-any
              when: {callStatus: CALL_DISCONNECTED}
              actions:
                - log: {level: debug, message: "seen {{eventId}}"}
            """
    )

    @Test("200 accepted for a new event, 200 duplicate for the same eventId, stored once")
    func acceptedThenDuplicate() async throws {
        try await withServer(rules: Self.rules) { server in
            let body = Fixture.event(id: "ingest-accepted-1")
            let first = try await server.post(body)
            #expect(first.status == .ok)
            #expect(first.isJSON)
            #expect(first.body == #"{"status":"accepted"}"#)

            let second = try await server.post(body)
            #expect(second.status == .ok)
            #expect(second.isJSON)
            #expect(second.body == #"{"status":"duplicate"}"#)

            #expect(try await server.storedIdentities() == ["CALL_STATUS:ingest-accepted-1"])
        }
    }

    struct Rejection: Sendable, CustomTestStringConvertible {
        var name: String
        var contentType: String
        var body: String
        var status: HTTPResponse.Status
        /// A piece of the `error` message that says what was wrong.
        var says: String

        var testDescription: String { name }
    }

    static let rejections: [Rejection] = [
        Rejection(
            name: "malformed JSON",
            contentType: "application/json",
            body: #"{"payload": {"eventId": "rejected-1", "#,
            status: .badRequest,
            says: "malformed JSON"
        ),
        Rejection(name: "empty body", contentType: "application/json", body: "", status: .badRequest, says: "JSON"),
        Rejection(
            name: "not an object",
            contentType: "application/json",
            body: #"["rejected-2"]"#,
            status: .badRequest,
            says: "not a JSON object"
        ),
        Rejection(
            name: "payload not an object",
            contentType: "application/json",
            body: #"{"payload": ["c-1", "CALL_DISCONNECTED"]}"#,
            status: .badRequest,
            says: "payload"
        ),
        Rejection(
            name: "no payload",
            contentType: "application/json",
            body: #"{"eventType": "CALL_STATUS", "eventData": {"eventId": "rejected-7"}}"#,
            status: .badRequest,
            says: "payload"
        ),
        Rejection(
            name: "bare payload (no envelope)",
            contentType: "application/json",
            body: #"{"eventId": "rejected-3", "callStatus": "CALL_DISCONNECTED"}"#,
            status: .badRequest,
            says: "payload"
        ),
        Rejection(
            name: "not JSON (text/plain)",
            contentType: "text/plain",
            body: Fixture.event(id: "rejected-4"),
            status: .unsupportedMediaType,
            says: "application/json"
        ),
        Rejection(
            name: "not JSON (form)",
            contentType: "application/x-www-form-urlencoded",
            body: "eventId=rejected-5",
            status: .unsupportedMediaType,
            says: "application/json"
        ),
        Rejection(
            name: "over max_body by Content-Length",
            contentType: "application/json",
            body: Fixture.event(id: "rejected-6", extra: ["padding": String(repeating: "x", count: 2048)]),
            status: .contentTooLarge,
            says: "1024 bytes"
        ),
    ]

    @Test("bad input gets its status code and a JSON error, and nothing is stored", arguments: rejections)
    func rejected(_ rejection: Rejection) async throws {
        try await withServer(rules: Self.rules) { server in
            let before = try await server.metrics()
            let result = try await server.post(rejection.body, headers: [.contentType: rejection.contentType])
            #expect(result.status == rejection.status)
            #expect(result.isJSON)
            let error = try #require(result.errorField)
            #expect(error.contains(rejection.says), "error was: \(error)")

            let after = try await server.metrics()
            #expect(after.delta("callwatch_events_total", ["outcome": "rejected"], since: before) >= 1)
            #expect(try await server.storedIdentities().isEmpty)
            // The daemon is still serving.
            try await server.accept(Fixture.event(id: "after-\(rejection.name)"))
        }
    }

    @Test("413 for a chunked body over max_body; a chunked body under it is accepted")
    func chunkedBodies() async throws {
        try await withServer(rules: Self.rules) { server in
            let padded = Fixture.event(id: "chunked-big", extra: ["padding": String(repeating: "y", count: 3000)])
            let pieces = stride(from: 0, to: padded.count, by: 700).map { start in
                let from = padded.index(padded.startIndex, offsetBy: start)
                let to = padded.index(from, offsetBy: 700, limitedBy: padded.endIndex) ?? padded.endIndex
                return String(padded[from..<to])
            }
            let big = try #require(
                try await RawHTTP.exchange(
                    port: server.port,
                    RawHTTP.chunkedPost(path: Fixture.ingestPath, chunks: pieces)
                )
            )
            #expect(big.status == 413)
            #expect(big.headers["content-type"]?.hasPrefix("application/json") == true)
            #expect((big.json?["error"] as? String)?.contains("1024 bytes") == true)

            let small = Fixture.event(id: "chunked-small")
            let half = small.index(small.startIndex, offsetBy: small.count / 2)
            let accepted = try #require(
                try await RawHTTP.exchange(
                    port: server.port,
                    RawHTTP.chunkedPost(
                        path: Fixture.ingestPath,
                        chunks: [String(small[..<half]), String(small[half...])]
                    )
                )
            )
            #expect(accepted.status == 200)
            #expect(accepted.json?["status"] as? String == "accepted")
            #expect(try await server.storedIdentities() == ["CALL_STATUS:chunked-small"])
        }
    }

    @Test(
        "405 with Allow: POST for other methods on the ingest path",
        arguments: [HTTPRequest.Method.get, .put, .delete, .patch]
    )
    func methodNotAllowed(_ method: HTTPRequest.Method) async throws {
        try await withServer(rules: Self.rules) { server in
            let result = try await server.send(
                method,
                Fixture.ingestPath,
                headers: HTTPClient.jsonHeaders,
                body: method == .get ? nil : Fixture.event(id: "wrong-method")
            )
            #expect(result.status == .methodNotAllowed)
            #expect(result.headers[.allow] == "POST")
            #expect(result.isJSON)
            #expect(result.errorField?.contains("POST") == true)
            #expect(try await server.storedIdentities().isEmpty)
        }
    }

    @Test("404 with a JSON error elsewhere")
    func notFound() async throws {
        try await withServer(rules: Self.rules) { server in
            for (method, path) in [(HTTPRequest.Method.get, "/nope"), (.post, "/v1/other-status")] {
                let result = try await server.send(
                    method,
                    path,
                    headers: HTTPClient.jsonHeaders,
                    body: method == .post ? Fixture.event() : nil
                )
                #expect(result.status == .notFound, "\(method) \(path)")
                #expect(result.isJSON)
                #expect(result.errorField == "no such endpoint")
            }
            #expect(try await server.storedIdentities().isEmpty)
        }
    }

    @Test("GET /healthz and /readyz answer 200 with JSON")
    func health() async throws {
        try await withServer(rules: Self.rules) { server in
            let health = try await server.send(.get, "/healthz")
            #expect(health.status == .ok)
            #expect(health.statusField == "ok")
            let ready = try await server.send(.get, "/readyz")
            #expect(ready.status == .ok)
            #expect(ready.statusField == "ready")
        }
    }
}
