import CallWatch
import Foundation
import HTTPTypes
import Logging
import NIOCore
import Synchronization

/// `POST {server.path}`: the checks before an event reaches the journal, and the answers. Decodes straight from
/// the request's buffer; `IngestHandler` runs it on the connection's event loop.
struct IngestEndpoint: Sendable {
    let pipeline: Pipeline
    let reloader: ConfigReloader
    let path: String
    /// Set once the first CALL_ACTION event has been warned about.
    private let callActionSeen = OnceFlag()

    init(pipeline: Pipeline, reloader: ConfigReloader, path: String) {
        self.pipeline = pipeline
        self.reloader = reloader
        self.path = path
    }

    enum Admission {
        case refused(Answer)
        case admitted(CallEvent, Data)
    }

    /// A response head and body; the common ones built once.
    struct Answer {
        var head: HTTPResponse
        var body: ByteBuffer

        static let accepted = json(.ok, ByteBuffer(string: #"{"status":"accepted"}"#))
        static let duplicate = json(.ok, ByteBuffer(string: #"{"status":"duplicate"}"#))

        static func json(_ status: HTTPResponse.Status, _ body: ByteBuffer, headers: HTTPFields = [:]) -> Answer {
            var fields: HTTPFields = [.contentType: "application/json", .contentLength: String(body.readableBytes)]
            fields.append(contentsOf: headers)
            return Answer(head: HTTPResponse(status: status, headerFields: fields), body: body)
        }

        /// The error body of every route: `{"error": message}`.
        static func error(_ status: HTTPResponse.Status, _ message: String, headers: HTTPFields = [:]) -> Answer {
            let text = JSONWriter.string(.object(JSONObject([("error", .string(message))])))
            return json(status, ByteBuffer(string: text), headers: headers)
        }

        init(head: HTTPResponse, body: ByteBuffer) {
            self.head = head
            self.body = body
        }

        init(_ result: Result<Pipeline.IngestOutcome, any Error>) {
            switch result {
            case .success(.accepted): self = .accepted
            case .success(.duplicate): self = .duplicate
            case .failure(let error): self = .error(.serviceUnavailable, "\(error)")
            }
        }

        /// 403 or 401 for a refusing verdict, nil for `.allowed`.
        init?(refusing verdict: RequestGuard.Verdict, _ requestGuard: RequestGuard) {
            switch verdict {
            case .forbidden: self = .error(.forbidden, "client address not allowed")
            case .unauthorized:
                self = .error(.unauthorized, "bad or missing credentials", headers: requestGuard.challenge)
            case .allowed: return nil
            }
        }
    }

    var requestGuard: RequestGuard { reloader.requestGuard }

    /// Whether a request target is this endpoint (the query, if any, is ignored; so is one trailing slash).
    func serves(_ target: String?) -> Bool { Self.serves(target, path: path) }

    static func serves(_ target: String?, path: String) -> Bool {
        guard var target = target?.utf8[...] else { return false }
        if let query = target.firstIndex(of: UInt8(ascii: "?")) { target = target[..<query] }
        if target.count > 1, target.last == UInt8(ascii: "/") { target = target.dropLast() }
        return target.elementsEqual(path.utf8)
    }

    /// What the head alone refuses, answered before any of the body is read: 403/401, then 415, then 413 by
    /// `Content-Length`.
    func refusal(_ head: HTTPRequest, requestGuard: RequestGuard, remoteAddress: SocketAddress?) -> Answer? {
        let answer = headRefusal(head, requestGuard, remoteAddress)
        if answer != nil { pipeline.countRejected() }
        return answer
    }

    /// The event in a body whose head passed `refusal`; 413 when the body outgrew `max_body` (chunked), 400 when
    /// it is not an event.
    func admit(_ body: ByteBuffer, oversize: Bool, requestGuard: RequestGuard) -> Admission {
        if oversize {
            pipeline.countRejected()
            return .refused(Self.tooLarge(requestGuard))
        }
        let decoded = body.withUnsafeReadableBytes { bytes in
            Result { () throws(CallEvent.DecodingError) in try CallEvent.decode(bytes) }
        }
        switch decoded {
        case .success(let event):
            if case .string("CALL_ACTION") = event[.eventType], callActionSeen.setFirstTime() {
                reloader.logger.warning(
                    "CALL_ACTION event received: a Voice Call Action (VCA) webhook expects a call flow in the answer, which callwatch does not give (logged once)",
                    metadata: ["path": "\(path)", "eventId": "\(event[.eventId]?.stringValue ?? "")"]
                )
            }
            return .admitted(event, Data(body.readableBytesView))
        case .failure(let error):
            pipeline.countRejected()
            return .refused(.error(.badRequest, error.description))
        }
    }

    private func headRefusal(
        _ head: HTTPRequest,
        _ requestGuard: RequestGuard,
        _ remoteAddress: SocketAddress?
    ) -> Answer? {
        let verdict = requestGuard.check(head.headerFields, remoteAddress: remoteAddress)
        if let refusal = Answer(refusing: verdict, requestGuard) { return refusal }
        // The first value of each header: `headerFields[name]` joins repeated ones into a new String.
        let headers = head.headerFields
        if let type = headers.first(where: { $0.name == .contentType })?.value, !Self.isJSON(type) {
            return .error(.unsupportedMediaType, "send application/json")
        }
        if let length = headers.first(where: { $0.name == .contentLength }).flatMap({ Int($0.value) }),
            length > requestGuard.maxBody
        {
            return Self.tooLarge(requestGuard)
        }
        return nil
    }

    static func tooLarge(_ requestGuard: RequestGuard) -> Answer {
        .error(.contentTooLarge, "body over \(requestGuard.maxBody) bytes")
    }

    /// `application/json`, `application/json; charset=utf-8`, `application/*+json`.
    static func isJSON(_ contentType: String) -> Bool {
        if contentType == "application/json" { return true }  // what 8x8 sends: no Foundation on the hot path
        let media = contentType.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased() ?? ""
        return media == "application/json" || (media.hasPrefix("application/") && media.hasSuffix("+json"))
    }
}

/// A flag that is set once, from any thread.
final class OnceFlag: Sendable {
    private let isSet = Atomic<Bool>(false)

    /// True for the one caller that sets it.
    func setFirstTime() -> Bool {
        !isSet.load(ordering: .relaxed) && !isSet.exchange(true, ordering: .relaxed)
    }
}
