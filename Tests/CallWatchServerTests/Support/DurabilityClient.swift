import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
import CallWatchTestSupport
#endif

/// What the durability tests send: 8x8 call events, posted the way 8x8 does (retrying until a 200).
struct DurabilityClient: Sendable {
    struct Response: Sendable {
        var status: Int
        var body: Data

        var text: String { String(decoding: body, as: UTF8.self) }
    }

    private let session: URLSession

    init() {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 10
        configuration.httpMaximumConnectionsPerHost = 16
        session = URLSession(configuration: configuration)
    }

    /// One POST of a JSON body; nil when the exchange failed (nothing listening, connection reset by a kill…).
    func post(_ url: String, body: Data) async -> Response? {
        var request = URLRequest(url: URL(string: url)!)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = body
        return await send(request)
    }

    /// One GET; nil when the exchange failed.
    func get(_ url: String) async -> Response? {
        await send(URLRequest(url: URL(string: url)!))
    }

    private func send(_ request: URLRequest) async -> Response? {
        guard let (data, response) = try? await session.data(for: request),
            let http = response as? HTTPURLResponse
        else { return nil }
        return Response(status: http.statusCode, body: data)
    }

    /// Posts an event until the daemon answers 200, as 8x8 retries: through kills and restarts. Returns the
    /// 200's body status (`accepted` or `duplicate`); throws on any other answer or when `timeout` passes.
    func deliver(_ event: DurabilityEvent, to url: String, timeout: Duration = .seconds(30)) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        let body = event.body
        while true {
            if let response = await post(url, body: body) {
                if response.status == 200 {
                    let object = try JSONSerialization.jsonObject(with: response.body) as? [String: Any]
                    return object?["status"] as? String ?? ""
                }
                guard response.status == 503 else {
                    throw DurabilityFailure(description: "event \(event.id): HTTP \(response.status) \(response.text)")
                }
            }
            guard ContinuousClock.now < deadline else {
                throw DurabilityFailure(description: "event \(event.id) got no 200 within \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// `GET /api/v1/alerts`: id → the statuses and attempts of its actions.
    func alerts(_ baseURL: String) async throws -> [String: [(status: String, attempts: Int)]] {
        guard let response = await get(baseURL + "/api/v1/alerts?limit=1000"), response.status == 200,
            let list = try JSONSerialization.jsonObject(with: response.body) as? [[String: Any]]
        else { throw DurabilityFailure(description: "GET /api/v1/alerts failed") }
        var alerts: [String: [(status: String, attempts: Int)]] = [:]
        for alert in list {
            guard let id = alert["id"] as? String else { continue }
            let actions = alert["actions"] as? [[String: Any]] ?? []
            alerts[id] = actions.map { action in
                (action["status"] as? String ?? "", (action["attempts"] as? NSNumber)?.intValue ?? -1)
            }
        }
        return alerts
    }
}

/// One call event of a durability scenario.
struct DurabilityEvent: Sendable {
    var id: String
    var destination: String
    /// Whether it is a `CALL_DISCONNECTED` (what the scenarios' window rules count) or a `CALL_CONNECTED`.
    var disconnected: Bool

    var body: Data {
        Data(
            """
            {"namespace":"VOICE","eventType":"CALL_STATUS","description":"Status update of a call","payload":\
            {"eventId":"\(id)","callId":"call-\(id)","sessionId":"session-\(id)","subAccountId":"acme_ops",\
            "callStatus":"\(disconnected ? "CALL_DISCONNECTED" : "CALL_CONNECTED")","callDirection":"OUTBOUND",\
            "callType":"PSTN","source":"+6531580001","destination":"\(destination)","callDuration":0,\
            "sipCode":486,"timestamp":"2026-01-06T10:17:19.375Z"}}
            """.utf8
        )
    }
}
