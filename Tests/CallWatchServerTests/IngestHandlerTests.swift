import CallWatch
import CallWatchTestSupport
import Foundation
import HTTPTypes
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTPTypes
import Testing

@testable import CallWatchServer

/// `IngestHandler` on a channel with no socket: request parts in, response parts out, one state per test. Paths
/// answered on the event loop alone use `EmbeddedChannel`; an admitted event is answered from the journal's writer
/// thread, which `EmbeddedEventLoop` does not allow, so that test uses `NIOAsyncTestingChannel`. The same
/// behaviours against a real server are in IngestResponseTests and AccessTests.
@Suite("Ingest handler")
struct IngestHandlerTests {
    static let path = Fixture.ingestPath

    static func head(
        _ method: HTTPRequest.Method = .post,
        path: String = Self.path,
        fields headerFields: HTTPFields = [.contentType: "application/json"]
    ) -> HTTPRequestPart {
        .head(HTTPRequest(method: method, scheme: nil, authority: "localhost", path: path, headerFields: headerFields))
    }

    static func chunks(_ text: String, size: Int) -> [HTTPRequestPart] {
        let bytes = Array(text.utf8)
        return stride(from: 0, to: bytes.count, by: size).map { start in
            .body(ByteBuffer(bytes: bytes[start..<min(start + size, bytes.count)]))
        }
    }

    // MARK: Answered on the event loop (EmbeddedChannel)

    static let forwarded: [[HTTPRequestPart]] = [
        [head(.get, path: "/healthz", fields: [:]), .end(nil)],
        [head(.post, path: "/-/reload", fields: [:]), .body(ByteBuffer(string: "{}")), .end(nil)],
        [head(.get, path: path, fields: [:]), .end(nil)],
        [head(.post, path: path + "-other"), .body(ByteBuffer(string: "{}")), .end(nil)],
    ]

    @Test(
        "a request for another path, or another method, is forwarded untouched to the next handler",
        arguments: forwarded
    )
    func forwardsOtherRequests(_ parts: [HTTPRequestPart]) throws {
        let harness = try Harness()
        defer { harness.remove() }
        let channel = try harness.embeddedChannel()

        for part in parts { try channel.writeInbound(part) }
        #expect(try channel.readAllInbound() == parts)
        #expect(try channel.readOutbound(as: HTTPResponsePart.self) == nil)
    }

    struct HeadRefusal: Sendable, CustomTestStringConvertible {
        var name: String
        var serverLines: [String]
        var headerFields: HTTPFields
        var status: HTTPResponse.Status
        var says: String

        var testDescription: String { name }
    }

    static let headRefusals = [
        HeadRefusal(
            name: "wrong content type",
            serverLines: [],
            headerFields: [.contentType: "text/plain"],
            status: .unsupportedMediaType,
            says: "send application/json"
        ),
        HeadRefusal(
            name: "missing credentials",
            serverLines: [#"auth: {authorization: "Bearer s3cret-token"}"#],
            headerFields: [.contentType: "application/json"],
            status: .unauthorized,
            says: "bad or missing credentials"
        ),
        HeadRefusal(
            name: "Content-Length over max_body",
            serverLines: [],
            headerFields: [.contentType: "application/json", .contentLength: "2048"],
            status: .contentTooLarge,
            says: "body over 1024 bytes"
        ),
    ]

    @Test(
        "a refused head is answered before its body; the body is discarded and the next request works",
        arguments: headRefusals
    )
    func refusedHeadIsAnsweredAtOnce(_ refusal: HeadRefusal) throws {
        let harness = try Harness(server: refusal.serverLines)
        defer { harness.remove() }
        let channel = try harness.embeddedChannel()

        try channel.writeInbound(Self.head(fields: refusal.headerFields))
        let answer = try #require(try channel.readAnswer(), "no answer to the head alone")
        #expect(answer.head.status == refusal.status)
        #expect(answer.error?.contains(refusal.says) == true, "error was: \(answer.error ?? answer.body)")

        for part in Self.chunks(Fixture.event(id: "refused-head"), size: 100) { try channel.writeInbound(part) }
        try channel.writeInbound(HTTPRequestPart.end(nil))
        #expect(try channel.readAllInbound().isEmpty, "a part of the refused request went on to the router")
        #expect(try channel.readOutbound(as: HTTPResponsePart.self) == nil)
        #expect(channel.isActive)

        try channel.expectNextRequestForwarded()
    }

    @Test("Connection: close on a refused request closes the connection once the answer is written")
    func refusalWithConnectionCloseCloses() throws {
        let harness = try Harness()
        defer { harness.remove() }
        let channel = try harness.embeddedChannel()

        try channel.writeInbound(Self.head(fields: [.contentType: "text/plain", .connection: "close"]))
        #expect(try channel.readAnswer()?.head.status == .unsupportedMediaType)
        channel.embeddedEventLoop.run()
        #expect(!channel.isActive)
    }

    @Test("a chunked body that outgrows max_body is answered 413 at its end, the rest discarded")
    func oversizeChunkedBody() throws {
        let harness = try Harness()
        defer { harness.remove() }
        let channel = try harness.embeddedChannel()

        let padded = Fixture.event(id: "oversize", extra: ["padding": String(repeating: "z", count: 3000)])
        try channel.writeInbound(Self.head())
        for part in Self.chunks(padded, size: 400) {
            try channel.writeInbound(part)
            #expect(try channel.readOutbound(as: HTTPResponsePart.self) == nil, "answered before the body ended")
        }
        try channel.writeInbound(HTTPRequestPart.end(nil))

        let answer = try #require(try channel.readAnswer())
        #expect(answer.head.status == .contentTooLarge)
        #expect(answer.error == "body over 1024 bytes")
        #expect(try channel.readAllInbound().isEmpty)
        try channel.expectNextRequestForwarded()
    }

    @Test("a malformed body is answered 400 with what is wrong, and the next request works")
    func malformedBody() throws {
        let harness = try Harness()
        defer { harness.remove() }
        let channel = try harness.embeddedChannel()

        try channel.writeInbound(Self.head())
        for part in Self.chunks(#"{"payload": {"eventId": "malformed-1", "#, size: 10) {
            try channel.writeInbound(part)
        }
        try channel.writeInbound(HTTPRequestPart.end(nil))

        let answer = try #require(try channel.readAnswer())
        #expect(answer.head.status == .badRequest)
        #expect(answer.isJSON)
        #expect(answer.error?.contains("malformed JSON") == true, "error was: \(answer.error ?? answer.body)")
        #expect(try channel.readAllInbound().isEmpty)

        try channel.expectNextRequestForwarded()
    }

    // MARK: Answered from the writer (NIOAsyncTestingChannel)

    @Test("a body collected over several chunks is admitted and answered accepted once its batch commits")
    func collectedBodyIsAcceptedAfterCommit() async throws {
        let harness = try Harness()
        defer { harness.remove() }
        try await harness.withWriter {
            let channel = try await harness.asyncTestingChannel()
            let body = Fixture.event(id: "collected-1")

            try await channel.writeInbound(Self.head())
            for part in Self.chunks(body, size: 64) { try await channel.writeInbound(part) }
            try await channel.writeInbound(HTTPRequestPart.end(nil))
            let accepted = try await channel.waitForAnswer()
            #expect(accepted.head.status == .ok)
            #expect(accepted.isJSON)
            #expect(accepted.body == #"{"status":"accepted"}"#)
            #expect(try await harness.storedIdentities() == ["CALL_STATUS:collected-1"])

            // The same connection, the same event again: admitted, and the journal says it is a duplicate.
            try await channel.writeInbound(Self.head())
            for part in Self.chunks(body, size: 200) { try await channel.writeInbound(part) }
            try await channel.writeInbound(HTTPRequestPart.end(nil))
            #expect(try await channel.waitForAnswer().body == #"{"status":"duplicate"}"#)

            #expect(try await channel.readInbound(as: HTTPRequestPart.self) == nil)
            _ = try await channel.finish()
        }
    }
}

/// A pipeline over a real SQLite store in a directory of its own, and the endpoint built on it as
/// `buildApplication` builds it (ConfigReloader, then IngestEndpoint).
private struct Harness {
    static let logger = Logger(label: "ingest-handler-tests") { _ in SwiftLogNoOpLogHandler() }
    static let rules = """
        - name: handler-never-fires
          when: {callStatus: NO_SUCH_STATUS}
          actions:
            - log: {level: debug, message: "{{eventId}}"}
        """

    let directory: String
    let store: SQLiteStore
    let pipeline: Pipeline
    let endpoint: IngestEndpoint

    init(server: [String] = []) throws {
        directory =
            FileManager.default.temporaryDirectory
            .appendingPathComponent("callwatch-handler-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let rulesPath = directory + "/rules.yaml"
        var ruleSet = try RulesLoader.load(
            yaml: Fixture.config(server: server, rules: Self.rules),
            path: rulesPath,
            environment: [:]
        )
        ruleSet.state.path = directory + "/callwatch.db"
        store = try SQLiteStore(path: ruleSet.state.path)
        let dispatcher = ActionDispatcher(
            configuration: ActionDispatcher.Configuration(defaults: ruleSet.defaults),
            logger: Self.logger
        )
        pipeline = Pipeline(ruleSet: ruleSet, store: store, dispatcher: dispatcher, logger: Self.logger)
        let reloader = ConfigReloader(path: rulesPath, pipeline: pipeline, logger: Self.logger)
        endpoint = IngestEndpoint(pipeline: pipeline, reloader: reloader, path: ruleSet.server.path)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A connected `EmbeddedChannel` with the handler alone; what it forwards is left for `readInbound`.
    func embeddedChannel() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(IngestHandler(endpoint: endpoint))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 40_000)).wait()
        return channel
    }

    func asyncTestingChannel() async throws -> NIOAsyncTestingChannel {
        let channel = try await NIOAsyncTestingChannel { [endpoint] channel in
            try channel.pipeline.syncOperations.addHandler(IngestHandler(endpoint: endpoint))
        }
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 40_000))
        return channel
    }

    /// Runs the journal's writer around `body`, then drains it, as `PipelineService` does.
    func withWriter(_ body: () async throws -> Void) async throws {
        async let writer: Void = pipeline.run()
        var failure: (any Error)?
        do {
            try await body()
        } catch {
            failure = error
        }
        pipeline.finish()
        try await writer
        if let failure { throw failure }
    }

    func storedIdentities() async throws -> [String] {
        try store.entries(since: .distantPast).map(\.identity)
    }
}

/// One whole response as the handler writes it: head, body, end.
private struct Answer {
    var head: HTTPResponse
    var body: String

    init(_ parts: [HTTPResponsePart]) throws {
        guard parts.count == 3, case .head(let head) = parts[0], case .body(let body) = parts[1],
            case .end(nil) = parts[2]
        else { throw TestFailure("expected head, body, end; got \(parts)") }
        self.head = head
        self.body = String(buffer: body)
    }

    var isJSON: Bool { head.headerFields[.contentType] == "application/json" }

    /// The `error` field of a `{"error": …}` body.
    var error: String? {
        let object = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
        return object?["error"] as? String
    }
}

extension EmbeddedChannel {
    fileprivate func readAllInbound() throws -> [HTTPRequestPart] {
        var parts: [HTTPRequestPart] = []
        while let part = try readInbound(as: HTTPRequestPart.self) { parts.append(part) }
        return parts
    }

    /// The answer written so far, or nil when nothing is written.
    fileprivate func readAnswer() throws -> Answer? {
        var parts: [HTTPResponsePart] = []
        while let part = try readOutbound(as: HTTPResponsePart.self) { parts.append(part) }
        return parts.isEmpty ? nil : try Answer(parts)
    }

    /// A `GET /healthz` on the same connection goes on to the router whole: the handler is idle again.
    fileprivate func expectNextRequestForwarded() throws {
        let next: [HTTPRequestPart] = [IngestHandlerTests.head(.get, path: "/healthz", fields: [:]), .end(nil)]
        for part in next { try writeInbound(part) }
        #expect(try readAllInbound() == next)
        #expect(try readOutbound(as: HTTPResponsePart.self) == nil)
    }
}

extension NIOAsyncTestingChannel {
    /// The next whole answer, waiting (up to 10 s) for the writer's commit to bring it to the event loop.
    fileprivate func waitForAnswer() async throws -> Answer {
        var parts: [HTTPResponsePart] = []
        try await waitUntil("the ingest answer", timeout: .seconds(30)) {
            while let part = try await readOutbound(as: HTTPResponsePart.self) { parts.append(part) }
            if case .end = parts.last { return true }
            return false
        }
        return try Answer(parts)
    }
}
