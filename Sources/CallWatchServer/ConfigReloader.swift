import CallWatch
import Foundation
import Logging
import Metrics
import Synchronization

/// Loads the rules file again and, only when it is valid, makes it live. Used by SIGHUP, `POST /-/reload` and the
/// file watch. The new rules go to the journal's writer as a message, so they apply between two batches, and the
/// request guard changes with them on the writer thread, in the same order.
public final class ConfigReloader: Sendable {
    let path: String
    let pipeline: Pipeline
    let logger: Logger
    let guardBox: Mutex<RequestGuard>
    let lastSuccessful = Gauge(label: "callwatch_config_last_reload_successful")
    let lastSuccessTime = Gauge(label: "callwatch_config_last_reload_success_timestamp_seconds")

    init(path: String, pipeline: Pipeline, logger: Logger) {
        self.path = path
        self.pipeline = pipeline
        self.logger = logger
        self.guardBox = Mutex(RequestGuard(server: pipeline.ruleSet.server))
        lastSuccessful.record(1)
        lastSuccessTime.record(Date().timeIntervalSince1970)
    }

    var requestGuard: RequestGuard { guardBox.withLock { $0 } }

    /// Reloads now and returns once the new rules are live (on success), or with the diagnostics (the running
    /// rules untouched) on failure.
    @discardableResult
    public func reload(reason: String) async -> Result<RuleSet, RulesError> {
        let loaded = Result { () throws(RulesError) in try RulesLoader.load(path: path) }
        switch loaded {
        case .success(let ruleSet):
            let old = pipeline.ruleSet
            let isLive = await pipeline.reload(ruleSet) { [self] in
                self.guardBox.withLock { $0 = RequestGuard(server: ruleSet.server) }
            }
            guard isLive else {
                logger.warning("rules not reloaded: callwatch is shutting down", metadata: ["reason": "\(reason)"])
                return loaded
            }
            lastSuccessful.record(1)
            lastSuccessTime.record(Date().timeIntervalSince1970)
            if old.server.listen != ruleSet.server.listen || old.server.path != ruleSet.server.path
                || old.state.path != ruleSet.state.path
            {
                logger.warning("server.listen, server.path and state.path take effect on restart")
            }
            logger.info("rules reloaded", metadata: ["reason": "\(reason)", "rules": "\(ruleSet.rules.count)"])
        case .failure(let error):
            lastSuccessful.record(0)
            logger.error(
                "rules reload rejected; the running rules stay",
                metadata: ["reason": "\(reason)", "problems": "\(error.diagnostics.map(\.description))"]
            )
        }
        return loaded
    }
}
