import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import NIOPosix

/// One HTTP exchange's answer.
struct HTTPResult: Sendable {
    var status: HTTPResponse.Status
    var headers: HTTPFields
    var body: String

    /// The body as a JSON object, if it is one.
    var json: [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any]
    }

    /// `status` of a `{"status": …}` body.
    var statusField: String? { json?["status"] as? String }

    /// `error` of a `{"error": …}` body.
    var errorField: String? { json?["error"] as? String }

    var isJSON: Bool { headers[.contentType]?.hasPrefix("application/json") == true }
}

/// A client for the server under test: a new connection per request (HummingbirdTesting's `TestClient`), so
/// concurrent requests use concurrent connections.
enum HTTPClient {
    static let jsonHeaders: HTTPFields = [.contentType: "application/json"]

    static func send(
        port: Int,
        _ method: HTTPRequest.Method,
        _ path: String,
        headers: HTTPFields = [:],
        body: String? = nil,
        timeout: Duration = .seconds(15)
    ) async throws -> HTTPResult {
        try await TestClient.withClient(host: "127.0.0.1", port: port, configuration: .init(timeout: timeout)) {
            client in
            let request = TestClient.Request(
                path,
                method: method,
                authority: "127.0.0.1:\(port)",
                headers: headers,
                body: body.map { ByteBuffer(string: $0) }
            )
            let response = try await client.execute(request)
            return HTTPResult(
                status: response.status,
                headers: response.headers,
                body: response.body.map { String(buffer: $0) } ?? ""
            )
        }
    }
}

/// A response read off a raw connection.
struct RawResponse: Sendable {
    /// `HTTP/1.1` or `HTTP/1.0`.
    var version: String
    var status: Int
    /// Header names lowercased.
    var headers: [String: String]
    var body: String

    /// Parses a complete response (headers and `Content-Length` bytes of body); nil while incomplete.
    init?(_ text: String) {
        guard let end = text.range(of: "\r\n\r\n") else { return nil }
        let lines = text[..<end.lowerBound].components(separatedBy: "\r\n")
        let statusLine = lines[0].split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else { return nil }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...]
                .trimmingCharacters(in: .whitespaces)
        }
        let body = String(text[end.upperBound...])
        guard body.utf8.count >= Int(headers["content-length"] ?? "0") ?? 0 else { return nil }
        self.version = String(statusLine[0])
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The first complete response in `text` and what follows it; nil while incomplete.
    static func first(of text: String) -> (RawResponse, String)? {
        guard let end = text.range(of: "\r\n\r\n") else { return nil }
        let length =
            text[..<end.lowerBound].components(separatedBy: "\r\n")
            .first { $0.lowercased().hasPrefix("content-length:") }
            .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
        let body = text[end.upperBound...].utf8
        guard body.count >= length,
            let response = RawResponse(
                String(text[..<end.upperBound]) + String(decoding: body.prefix(length), as: UTF8.self)
            )
        else { return nil }
        return (response, String(decoding: body.dropFirst(length), as: UTF8.self))
    }

    var json: [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any]
    }
}

/// Bytes on a socket exactly as given: for what an HTTP client library will not send (chunked bodies of a
/// chosen shape, garbage).
enum RawHTTP {
    struct NoResponse: Error {}

    /// Sends `request` on a new connection and reads the response; nil when the server closed without one.
    static func exchange(port: Int, _ request: String) async throws -> RawResponse? {
        try await exchange(port: port, request, responses: 1, waitForClose: false).responses.first
    }

    /// Sends `request` (which may hold several pipelined requests) on a new connection and reads until `count`
    /// responses have arrived or the server closes the connection. Returns the responses in the order they came
    /// and whether the server had closed the connection by then (with `waitForClose`, or closed it within a second
    /// after). Gives up (closing the connection) after `timeout`.
    static func exchange(
        port: Int,
        _ request: String,
        responses count: Int,
        waitForClose: Bool = true,
        timeout: TimeAmount = .seconds(10)
    ) async throws -> (responses: [RawResponse], closed: Bool) {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        let underlying = channel.channel
        let giveUp = underlying.eventLoop.scheduleTask(in: timeout) { underlying.close(promise: nil) }
        defer { giveUp.cancel() }
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(string: request))
            var received = ""
            var responses: [RawResponse] = []
            var iterator = inbound.makeAsyncIterator()
            do {
                while responses.count < count, let chunk = try await iterator.next() {
                    received += String(buffer: chunk)
                    while let (response, rest) = RawResponse.first(of: received) {
                        responses.append(response)
                        received = rest
                    }
                }
                if responses.count < count { return (responses, true) }
                // Did the server close after the last one? Give it a second.
                for _ in 0..<(waitForClose ? 20 : 0) where underlying.isActive {
                    try await Task.sleep(for: .milliseconds(50))
                }
                let closed = !underlying.isActive
                return (responses, closed)
            } catch {
                return (responses, true)
            }
        }
    }

    /// Opens a connection, sends `request` (possibly nothing) and reads until the server closes it: how long that
    /// took, with everything received; a nil time when the connection was still open after `within`.
    static func untilClosed(
        port: Int,
        sending request: String = "",
        within: Duration
    ) async throws -> (after: Duration?, received: String) {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        let underlying = channel.channel
        let giveUp = underlying.eventLoop.scheduleTask(in: TimeAmount(within)) { underlying.close(promise: nil) }
        defer { giveUp.cancel() }
        let start = ContinuousClock.now
        return try await channel.executeThenClose { inbound, outbound in
            if !request.isEmpty { try await outbound.write(ByteBuffer(string: request)) }
            var received = ""
            do {
                for try await chunk in inbound { received += String(buffer: chunk) }
            } catch {}
            let elapsed = ContinuousClock.now - start
            return (elapsed < within ? elapsed : nil, received)
        }
    }

    /// A POST of `chunks` with `Transfer-Encoding: chunked` (no Content-Length).
    static func chunkedPost(path: String, chunks: [String], contentType: String = "application/json") -> String {
        var request = "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: \(contentType)\r\n"
        request += "Transfer-Encoding: chunked\r\n\r\n"
        for chunk in chunks {
            request += String(chunk.utf8.count, radix: 16) + "\r\n" + chunk + "\r\n"
        }
        return request + "0\r\n\r\n"
    }
}
