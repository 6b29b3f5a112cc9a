/// A loaded, validated rules file.
public struct RuleSet: Sendable {
    public var path: String
    public var server: ServerConfig
    public var state: StateConfig
    public var defaults: Defaults
    public var rules: [Rule]
    /// Warnings found while loading (errors make loading fail).
    public var warnings: [Diagnostic]

    public struct StateConfig: Sendable {
        public var path: String
        public var retention: Duration
    }

    public struct Defaults: Sendable {
        public var cooldown: Duration = .zero
        public var httpTimeout: Duration = .seconds(5)
        public var httpRetries: Int = 5
        /// Concurrent outbound HTTP requests across all rules.
        public var httpConcurrency: Int = 32
        public var execTimeout: Duration = .seconds(30)
        public var execRetries: Int = 0
        /// Concurrent exec processes across all rules.
        public var execConcurrency: Int = 8
        /// How often `serve` tells the journal's writer the time (what happens as time passes runs then).
        public var evaluationInterval: Duration = .seconds(1)
    }

    /// The longest time any rule's state can matter: how far back recovery reads the journal.
    public var longestHorizon: Duration {
        rules.map(\.stateHorizon).max() ?? .zero
    }
}

public struct ServerConfig: Sendable {
    public enum Auth: Sendable {
        case authorization(String)
        case basic(username: String, password: String)
        case header(name: String, value: String)
    }

    public var host: String = "127.0.0.1"
    public var port: Int = 8080
    public var path: String = "/v1/call-status"
    public var maxBody: Int = 64 * 1024
    public var auth: Auth?
    public var allow: [CIDR] = []
    public var trustForwarded: Bool = false
    /// How long a connection may sit without a request in progress before the daemon closes it.
    public var idleTimeout: Duration = .seconds(60)

    public var listen: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// Splits `HOST:PORT` (`[::1]:8080` for IPv6).
    public static func parseListen(_ text: String) -> (host: String, port: Int)? {
        var host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { return nil }
            portText = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        if host.isEmpty { host = "0.0.0.0" }
        guard let port = Int(portText), (0...65535).contains(port) else { return nil }
        return (String(host), port)
    }
}
