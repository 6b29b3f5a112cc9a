import Foundation
import Logging

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Sends `http` actions with Foundation's URLSession (libcurl on Linux). One attempt per call: `ActionDispatcher`
/// retries as its `RetryPolicy` decides.
public struct HTTPSender: Sendable {
    let session: URLSession
    public var logger: Logger

    public init(logger: Logger) {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpCookieStorage = nil
        configuration.urlCache = nil
        configuration.httpMaximumConnectionsPerHost = 64
        self.session = URLSession(configuration: configuration)
        self.logger = logger
    }

    public struct Request: Sendable {
        public var url: String
        public var method: String
        public var headers: [(name: String, value: String)]
        public var body: Data
        public var timeout: Duration
    }

    /// The action's request, rendered from the alert's shared `rendering`; `alert.id` is its `Idempotency-Key`.
    public static func request(for action: HTTPAction, alert: Alert, rendering: AlertRendering) -> Request {
        let context = rendering.context
        var headers = action.headers.map { ($0.name, context.render($0.value)) }
        let body: Data
        switch (action.service, action.body) {
        case (.slack(let text), _):
            let message = text.map(context.render) ?? rendering.groupHeadline ?? alert.headline
            body = Data(JSONWriter.string(.object(JSONObject([("text", .string(message))]))).utf8)
            headers.append(("Content-Type", "application/json"))
        case (.pagerduty(let routingKey, let severity, let summary), _):
            body = Data(
                JSONWriter.string(
                    PagerDutyEvent.body(
                        for: alert,
                        routingKey: context.render(routingKey),
                        severity: severity,
                        summary: summary.map(context.render)
                    )
                ).utf8
            )
            headers.append(("Content-Type", "application/json"))
        case (.alertmanager(let labels, let resolveAfter, _), _):
            body = Data(
                JSONWriter.string(AlertmanagerAlert.body(for: alert, labels: labels, resolveAfter: resolveAfter)).utf8
            )
            headers.append(("Content-Type", "application/json"))
        case (.webhook, .alert):
            body = Data(rendering.json.utf8)
            headers.append(("Content-Type", "application/json"))
        case (.webhook, .json(let template)):
            body = Data(JSONWriter.string(context.render(template)).utf8)
            headers.append(("Content-Type", "application/json"))
        case (.webhook, .raw(let template)):
            body = Data(context.render(template).utf8)
        }
        if !headers.contains(where: { $0.0.lowercased() == "content-type" }) {
            headers.append(("Content-Type", "text/plain; charset=utf-8"))
        }
        headers.removeAll { $0.0.lowercased() == "idempotency-key" }
        headers.append(("Idempotency-Key", alert.deliveryID))
        var url = context.render(action.url)
        if case .alertmanager = action.service { url = AlertmanagerAlert.endpoint(url) }
        return Request(
            url: url,
            method: action.method,
            headers: headers,
            body: body,
            timeout: action.timeout
        )
    }

    public func send(_ request: Request, metadata: Logger.Metadata) async -> AttemptResult {
        guard let url = URL(string: request.url), let scheme = url.scheme, scheme == "http" || scheme == "https" else {
            return .failure(reason: "invalid url")
        }
        var urlRequest = URLRequest(url: url)
        urlRequest.httpMethod = request.method
        // FoundationNetworking keeps only whole seconds of this (0.3 s becomes 0: a timeout before the request is
        // even sent), so round up; the task group below enforces the exact limit.
        urlRequest.timeoutInterval = max(1, request.timeout.seconds.rounded(.up))
        for (name, value) in request.headers { urlRequest.setValue(value, forHTTPHeaderField: name) }
        if request.method != "GET", request.method != "HEAD" { urlRequest.httpBody = request.body }
        let prepared = urlRequest
        let session = self.session
        do {
            let (_, response) = try await withThrowingTaskGroup(of: (Data, URLResponse).self) { group in
                group.addTask { try await session.data(for: prepared) }
                group.addTask {
                    // URLSession's own timeout is per-read; this bounds the whole exchange.
                    try await Task.sleep(for: request.timeout)
                    throw URLError(.timedOut)
                }
                defer { group.cancelAll() }
                return try await group.next()!
            }
            guard let http = response as? HTTPURLResponse else { return .failure(reason: "not an HTTP response") }
            let status = http.statusCode
            switch status {
            case 200..<300:
                return .success
            case 408, 429, 500..<600:
                let retryAfter = (http.value(forHTTPHeaderField: "Retry-After")).flatMap(Self.parseRetryAfter)
                return .retryable(reason: "HTTP \(status)", retryAfter: retryAfter)
            default:
                return .failure(reason: "HTTP \(status)")
            }
        } catch let error as URLError where error.code == .timedOut {
            return .timeout(reason: "timed out after \(request.timeout)")
        } catch {
            return .retryable(reason: "network error: \(error.localizedDescription)", retryAfter: nil)
        }
    }

    /// `Retry-After`: delay seconds or an HTTP date.
    static func parseRetryAfter(_ value: String) -> Duration? {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        if let seconds = Int(trimmed), seconds >= 0 { return .seconds(seconds) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: trimmed) else { return nil }
        return .milliseconds(Int64(max(0, date.timeIntervalSinceNow) * 1000))
    }
}
