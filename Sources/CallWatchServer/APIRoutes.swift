import CallWatch
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Every route but `POST {server.path}` (which `IngestHandler` answers ahead of the router): health, readiness,
/// metrics, reload, the alerts API, and 405 for the ingest path's other methods.
struct APIRoutes: Sendable {
    let pipeline: Pipeline
    let reloader: ConfigReloader
    let ready: @Sendable () -> Bool

    static let json: HTTPFields = [.contentType: "application/json"]

    static func error(_ status: HTTPResponse.Status, _ message: String, headers: HTTPFields = [:]) -> Response {
        let answer = IngestEndpoint.Answer.error(status, message, headers: headers)
        return Response(status: status, headers: answer.head.headerFields, body: .init(byteBuffer: answer.body))
    }

    func register(on router: Router<CallWatchRequestContext>, path: String) {
        // POST {path} is answered by `IngestHandler` before the router (IngestHTTP1Channel.swift).
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
            switch await reloader.reload(reason: "POST /-/reload") {
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
        let verdict = requestGuard.check(request.headers, remoteAddress: context.remoteAddress)
        return IngestEndpoint.Answer(refusing: verdict, requestGuard).map {
            Response(status: $0.head.status, headers: $0.head.headerFields, body: .init(byteBuffer: $0.body))
        }
    }
}
