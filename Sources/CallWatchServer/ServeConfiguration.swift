import CallWatch
import Logging

/// What `callwatch serve` was asked for: the rules file and its command-line overrides.
public struct ServeConfiguration: Sendable {
    public enum LogFormat: String, Sendable, CaseIterable {
        case text, json
    }

    public var configPath: String
    /// `HOST:PORT`; overrides `server.listen`.
    public var listen: String?
    /// Overrides `state.path`.
    public var statePath: String?
    public var logFormat: LogFormat = .text
    public var logLevel: Logger.Level = .info
    /// How long running actions may take to finish on shutdown.
    public var shutdownGrace: Duration = .seconds(10)
    /// How often the journal's writer is told the time; nil: `defaults.evaluation_interval` of the rules.
    public var tickInterval: Duration?
    /// How often the rules file is checked for changes.
    public var watchInterval: Duration = .seconds(1)
    /// SIGTERM → SIGKILL grace for hooks that time out.
    public var killGrace: Duration = .seconds(5)

    public init(configPath: String) {
        self.configPath = configPath
    }
}
