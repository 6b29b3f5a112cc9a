import CallWatch
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// What starting the daemon can fail on, said so an operator knows what to fix.
public enum StartupError: Error, CustomStringConvertible {
    case rules(RulesError)
    case badListen(String)
    case store(String)

    public var description: String {
        switch self {
        case .rules(let error): error.description
        case .badListen(let text): "invalid --listen '\(text)'; use HOST:PORT, e.g. 127.0.0.1:8080"
        case .store(let reason): reason
        }
    }
}

/// Builds the daemon: loads and checks the rules, opens the store, and wires routes and services (the journal's
/// writer recovers first when it starts). `callwatch serve` and the tests both call this.
/// The daemon's logger: one line per message on standard error, in the configured format and level.
public func serveLogger(_ configuration: ServeConfiguration) -> Logger {
    var logger = Logger(label: "callwatch") { label -> any LogHandler in
        LineLogHandler(label: label, format: configuration.logFormat)
    }
    logger.logLevel = configuration.logLevel
    return logger
}

/// Runs `app` until SIGTERM or SIGINT has shut it down, logging when the shutdown starts and when it is done.
public func runUntilSignalled(_ app: some ApplicationProtocol, logger: Logger) async throws {
    // Services shut down last-listed first: the notice hears the signal before the application does.
    let group = ServiceGroup(
        configuration: .init(
            services: [app, ShutdownNotice(logger: logger)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        )
    )
    try await group.run()
    logger.info("callwatch stopped")
}

public func buildApplication(
    _ configuration: ServeConfiguration,
    onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
) async throws -> some ApplicationProtocol {
    MetricsSetup.bootstrap()
    // SIGHUP means "reload"; until the watcher traps it, an early one must not end the process.
    signal(SIGHUP, SIG_IGN)
    let logger = serveLogger(configuration)

    var ruleSet: RuleSet
    do {
        ruleSet = try RulesLoader.load(path: configuration.configPath)
    } catch {
        throw StartupError.rules(error)
    }
    for warning in ruleSet.warnings { logger.warning("\(warning.description)") }
    if let listen = configuration.listen {
        guard let (host, port) = ServerConfig.parseListen(listen) else { throw StartupError.badListen(listen) }
        ruleSet.server.host = host
        ruleSet.server.port = port
    }
    if let statePath = configuration.statePath { ruleSet.state.path = statePath }

    let store: SQLiteStore
    do {
        store = try SQLiteStore(path: ruleSet.state.path)
    } catch {
        throw StartupError.store("\(error)")
    }
    var dispatcherConfiguration = ActionDispatcher.Configuration(defaults: ruleSet.defaults)
    dispatcherConfiguration.killGrace = configuration.killGrace
    let dispatcher = ActionDispatcher(configuration: dispatcherConfiguration, logger: logger)
    let pipeline = Pipeline(ruleSet: ruleSet, store: store, dispatcher: dispatcher, logger: logger)
    dispatcher.setOutcomeHandler { outcome in pipeline.record(outcome) }

    let reloader = ConfigReloader(path: configuration.configPath, pipeline: pipeline, logger: logger)
    // Ready once the writer has rebuilt state from the journal (events that arrive before wait behind it).
    let isReady = Atomic<Bool>(false)
    let onRecovered: @Sendable (Pipeline.RecoveryReport) -> Void = { [logger] report in
        logger.info(
            "recovered from the journal",
            metadata: [
                "events": "\(report.eventsReplayed)", "actions": "\(report.actionsResumed)",
                "seconds": "\(report.duration.seconds)",
            ]
        )
        isReady.store(true, ordering: .relaxed)
    }
    let router = Router(context: CallWatchRequestContext.self)
    router.middlewares.add(JSONErrorMiddleware())
    APIRoutes(pipeline: pipeline, reloader: reloader, ready: { isReady.load(ordering: .relaxed) })
        .register(on: router, path: ruleSet.server.path)

    let server = ruleSet.server
    if !isLoopback(server.host), server.auth == nil {
        logger.warning(
            "listening beyond loopback with no auth: anyone who can reach this port can post events",
            metadata: ["listen": "\(server.listen)"]
        )
    }
    let endpoint = IngestEndpoint(pipeline: pipeline, reloader: reloader, path: ruleSet.server.path)
    return Application(
        router: router,
        server: HTTPServerBuilder { responder in IngestHTTP1Channel(responder: responder, endpoint: endpoint) },
        configuration: .init(address: .hostname(server.host, port: server.port), serverName: nil),
        // Stopped in reverse order, after the HTTP server: the config watch and the clock, the dispatcher's grace
        // (outcomes still reach the writer), the writer's drain, then pruning and checkpoints.
        services: [
            CheckpointService(store: store, logger: logger),
            PrunerService(pipeline: pipeline, logger: logger, interval: .seconds(60)),
            PipelineService(pipeline: pipeline, onRecovered: onRecovered),
            DispatcherService(dispatcher: dispatcher, grace: configuration.shutdownGrace),
            TickService(pipeline: pipeline, interval: configuration.tickInterval),
            ConfigWatcher(reloader: reloader, interval: configuration.watchInterval),
        ],
        onServerRunning: { [logger, rules = ruleSet.rules.count] channel in
            // Said once the listener is bound, not before: a port already taken ends `serve` instead.
            let listen = channel.localAddress.map { "\($0.ipAddress ?? server.host):\($0.port ?? server.port)" }
            logger.info(
                "callwatch serving",
                metadata: [
                    "listen": "\(listen ?? server.listen)", "path": "\(server.path)",
                    "rules": "\(rules)",
                ]
            )
            await onServerRunning(channel)
        },
        logger: logger
    )
}

/// Why the listener could not start (the port is taken, the address is not this host's), or nil when `error` is
/// something else: what `serve` tells the operator before it exits 1.
public func listenFailure(_ error: any Error) -> String? {
    guard let error = error as? IOError else { return nil }
    return String(cString: strerror(error.errnoCode))
}

func isLoopback(_ host: String) -> Bool {
    host == "localhost" || host.hasPrefix("127.") || host == "::1"
}

/// Turns errors thrown below (unknown route, framework errors) into JSON error bodies (`{"error": …}`).
struct JSONErrorMiddleware: RouterMiddleware {
    typealias Context = CallWatchRequestContext

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPResponseError {
            let message = error.status == .notFound ? "no such endpoint" : error.status.reasonPhrase
            return APIRoutes.error(error.status, message)
        }
    }
}
