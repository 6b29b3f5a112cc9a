import ArgumentParser
import CallWatch
import CallWatchServer
import Logging

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the daemon: the endpoint 8x8 posts call events to.")

    @OptionGroup var options: ConfigOption

    @Option(help: "HOST:PORT to listen on (overrides server.listen).")
    var listen: String?

    @Option(help: "The SQLite store (overrides state.path).")
    var state: String?

    @Option(help: "Log format: text or json.")
    var logFormat: String = "text"

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    @Option(help: "Seconds running actions get to finish on shutdown.")
    var shutdownGrace: Int = 10

    func run() async throws {
        var configuration = ServeConfiguration(configPath: options.path)
        configuration.listen = listen
        configuration.statePath = state
        guard let format = ServeConfiguration.LogFormat(rawValue: logFormat) else {
            throw ValidationError("--log-format is text or json")
        }
        configuration.logFormat = format
        guard let level = Logger.Level(rawValue: logLevel.lowercased()) else {
            throw ValidationError("--log-level is one of trace, debug, info, notice, warning, error, critical")
        }
        configuration.logLevel = level
        configuration.shutdownGrace = .seconds(shutdownGrace)
        do {
            let app = try await buildApplication(configuration)
            do {
                try await runUntilSignalled(app, logger: serveLogger(configuration))
            } catch {
                guard let reason = listenFailure(error) else { throw error }
                // The address as the rules file gave it (it loaded a moment ago), unless --listen overrode it.
                let address = listen ?? (try? RulesLoader.load(path: options.path))?.server.listen
                printError("callwatch: cannot listen on \(address ?? "server.listen of \(options.path)"): \(reason)")
                throw ExitCode.failure
            }
        } catch let error as StartupError {
            printError("callwatch: \(error)")
            throw ExitCode.failure
        }
    }
}
