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
        registerSilences(on: router)
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

    /// `GET/POST /api/v1/silences`, `DELETE /api/v1/silences/{id}`, with the ingest credentials and allow-list.
    func registerSilences(on router: Router<CallWatchRequestContext>) {
        router.get("/api/v1/silences") { request, context in
            if let refusal = refusal(request, context: context, requestGuard: reloader.requestGuard) { return refusal }
            let now = Date()
            let all = request.uri.queryParameters.get("all") == "true"
            let silences = try pipeline.store.silences().filter { all || $0.state(at: now) != "expired" }
            let body = JSONValue.array(
                silences.map { silence in
                    guard case .object(var object) = silence.json else { return silence.json }
                    object["state"] = .string(silence.state(at: now))
                    return .object(object)
                }
            )
            return Self.ok(body)
        }
        router.post("/api/v1/silences") { request, context in
            if let refusal = refusal(request, context: context, requestGuard: reloader.requestGuard) { return refusal }
            let buffer = try await request.body.collect(upTo: 64 * 1024)
            do {
                let json = try JSONParser.parse(String(buffer: buffer))
                let silence = try Silence(json: json)
                try pipeline.addSilence(silence)
                return Self.ok(.object(JSONObject([("id", .string(silence.id))])))
            } catch let error as SilenceError {
                return Self.error(.badRequest, error.description)
            } catch let error as JSONParser.Error {
                return Self.error(.badRequest, "invalid JSON: \(error)")
            }
        }
        router.delete("/api/v1/silences/:id") { request, context in
            if let refusal = refusal(request, context: context, requestGuard: reloader.requestGuard) { return refusal }
            let id = context.parameters.get("id") ?? ""
            guard try pipeline.expireSilence(id: id) else { return Self.error(.notFound, "no silence '\(id)'") }
            return Self.ok(.object(JSONObject([("id", .string(id)), ("status", .string("expired"))])))
        }
    }

    static func ok(_ body: JSONValue) -> Response {
        Response(status: .ok, headers: Self.json, body: .init(byteBuffer: ByteBuffer(string: JSONWriter.string(body))))
    }

    /// 403 for a client outside the allow-list, 401 for bad credentials, nil when the request may proceed.
    func refusal(_ request: Request, context: CallWatchRequestContext, requestGuard: RequestGuard) -> Response? {
        let verdict = requestGuard.check(request.headers, remoteAddress: context.remoteAddress)
        return IngestEndpoint.Answer(refusing: verdict, requestGuard).map {
            Response(status: $0.head.status, headers: $0.head.headerFields, body: .init(byteBuffer: $0.body))
        }
    }
}
