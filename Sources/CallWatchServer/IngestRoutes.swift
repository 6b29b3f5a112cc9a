import CallWatch
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The routes of SPEC §5. Response bodies are built once; the ingest path decodes straight from the request
/// buffer and awaits only its batch's commit.
struct IngestRoutes: Sendable {
    let pipeline: Pipeline
    let reloader: ConfigReloader
    let ready: @Sendable () -> Bool

    static let json: HTTPFields = [.contentType: "application/json"]
    static let acceptedBody = ByteBuffer(string: #"{"status":"accepted"}"#)
    static let duplicateBody = ByteBuffer(string: #"{"status":"duplicate"}"#)

    static func error(_ status: HTTPResponse.Status, _ message: String, headers: HTTPFields = [:]) -> Response {
        var fields = json
        fields.append(contentsOf: headers)
        return Response(
            status: status,
            headers: fields,
            body: .init(
                byteBuffer: ByteBuffer(string: JSONWriter.string(.object(JSONObject([("error", .string(message))]))))
            )
        )
    }

    func register(on router: Router<CallWatchRequestContext>, path: String) {
        router.post(RouterPath(path)) { request, context in try await ingest(request, context: context) }
        for method: HTTPRequest.Method in [.get, .put, .delete, .patch, .head, .options] {
            router.on(RouterPath(path), method: method) { _, _ in
                Self.error(.methodNotAllowed, "use POST to send events here", headers: [.allow: "POST"])
            }
        }
        router.get("/healthz") { _, _ in
            Response(status: .ok, headers: Self.json, body: .init(byteBuffer: ByteBuffer(string: #"{"status":"ok"}"#)))
        }
        router.get("/readyz") { _, _ in
            ready()
                ? Response(
                    status: .ok,
                    headers: Self.json,
                    body: .init(byteBuffer: ByteBuffer(string: #"{"status":"ready"}"#))
                )
                : Self.error(.serviceUnavailable, "not ready: rules or store not loaded")
        }
        router.get("/metrics") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: MetricsSetup.render()))
            )
        }
        router.post("/-/reload") { request, context in
            if let refusal = refusal(request, context: context, requestGuard: reloader.requestGuard) { return refusal }
            switch reloader.reload(reason: "POST /-/reload") {
            case .success(let ruleSet):
                return Response(
                    status: .ok,
                    headers: Self.json,
                    body: .init(
                        byteBuffer: ByteBuffer(string: #"{"status":"reloaded","rules":\#(ruleSet.rules.count)}"#)
                    )
                )
            case .failure(let error):
                let diagnostics = JSONValue.array(error.diagnostics.map { .string($0.description) })
                let body = JSONValue.object(
                    JSONObject([
                        ("error", .string("rules rejected; the running rules stay")), ("diagnostics", diagnostics),
                    ])
                )
                return Response(
                    status: .badRequest,
                    headers: Self.json,
                    body: .init(byteBuffer: ByteBuffer(string: JSONWriter.string(body)))
                )
            }
        }
        router.get("/api/v1/alerts") { request, context in
            if let refusal = refusal(request, context: context, requestGuard: reloader.requestGuard) { return refusal }
            let limit = request.uri.queryParameters.get("limit", as: Int.self).map { min(max($0, 1), 1000) } ?? 50
            let alerts = try await pipeline.store.recentAlerts(limit: limit)
            let body = JSONValue.array(alerts.map(\.json))
            return Response(
                status: .ok,
                headers: Self.json,
                body: .init(byteBuffer: ByteBuffer(string: JSONWriter.string(body)))
            )
        }
    }

    /// 403 for a client outside the allow-list, 401 for bad credentials, nil when the request may proceed.
    func refusal(_ request: Request, context: CallWatchRequestContext, requestGuard: RequestGuard) -> Response? {
        switch requestGuard.check(request, context: context) {
        case .forbidden: return Self.error(.forbidden, "client address not allowed")
        case .unauthorized:
            return Self.error(.unauthorized, "bad or missing credentials", headers: requestGuard.challenge)
        case .allowed: return nil
        }
    }

    func ingest(_ request: Request, context: CallWatchRequestContext) async throws -> Response {
        let requestGuard = reloader.requestGuard
        if let refusal = refusal(request, context: context, requestGuard: requestGuard) {
            pipeline.countRejected()
            return refusal
        }
        // The first value of each header: `headers[name]` joins repeated ones into a new String on every request.
        if let type = request.headers.first(where: { $0.name == .contentType })?.value, !Self.isJSON(type) {
            pipeline.countRejected()
            return Self.error(.unsupportedMediaType, "send application/json")
        }
        let maxBody = requestGuard.maxBody
        if let length = request.headers.first(where: { $0.name == .contentLength }).flatMap({ Int($0.value) }),
            length > maxBody
        {
            pipeline.countRejected()
            return Self.error(.contentTooLarge, "body over \(maxBody) bytes")
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: maxBody)
        } catch is NIOTooManyBytesError {
            pipeline.countRejected()
            return Self.error(.contentTooLarge, "body over \(maxBody) bytes")
        }
        let decoded = buffer.withUnsafeReadableBytes { bytes in
            Result { () throws(CallEvent.DecodingError) in try CallEvent.decode(bytes) }
        }
        let event: CallEvent
        switch decoded {
        case .success(let value): event = value
        case .failure(let error):
            pipeline.countRejected()
            return Self.error(.badRequest, error.description)
        }
        do {
            let outcome = try await pipeline.ingest(event, body: Data(buffer.readableBytesView))
            return Response(
                status: .ok,
                headers: Self.json,
                body: .init(byteBuffer: outcome == .accepted ? Self.acceptedBody : Self.duplicateBody)
            )
        } catch {
            return Self.error(.serviceUnavailable, "\(error)")
        }
    }

    /// `application/json`, `application/json; charset=utf-8`, `application/*+json`.
    static func isJSON(_ contentType: String) -> Bool {
        if contentType == "application/json" { return true }  // what 8x8 sends: no Foundation on the hot path
        let media = contentType.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased() ?? ""
        return media == "application/json" || (media.hasPrefix("application/") && media.hasSuffix("+json"))
    }
}

extension AlertSummary {
    var json: JSONValue {
        .object(
            JSONObject([
                ("id", .string(id)), ("rule", .string(rule)), ("key", .string(key)),
                ("firedAt", .string(Timestamp.format(firedAt))),
                (
                    "actions",
                    .array(
                        actions.map { action in
                            .object(
                                JSONObject([
                                    ("index", .number(Double(action.index))), ("kind", .string(action.kind)),
                                    ("status", .string(action.status)), ("attempts", .number(Double(action.attempts))),
                                    ("reason", action.reason.map(JSONValue.string) ?? .null),
                                ])
                            )
                        }
                    )
                ),
            ])
        )
    }
}
