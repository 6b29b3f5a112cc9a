import ArgumentParser
import CallWatch
import Foundation

struct Alerts: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List recent alerts from the store with their actions' outcomes."
    )

    @OptionGroup var options: ConfigOption

    @Option(help: "The SQLite store (overrides state.path).")
    var state: String?

    @Option(help: "How many alerts to list (newest first).")
    var limit: Int = 20

    func run() async throws {
        var path = state
        if path == nil {
            do {
                path = try RulesLoader.load(path: options.path).state.path
            } catch {
                for diagnostic in error.diagnostics { printError(diagnostic.description) }
                throw ExitCode.failure
            }
        }
        let store: SQLiteStore
        do {
            store = try SQLiteStore(path: path!)
        } catch {
            printError("callwatch: \(error)")
            throw ExitCode.failure
        }
        for alert in try await store.recentAlerts(limit: limit) {
            let actions =
                (alert.silenced ? ["silenced"] : [])
                + alert.actions.map { action in
                    "\(action.kind)#\(action.index)=\(action.status.rawValue)" + (action.reason.map { "(\($0))" } ?? "")
                }
            print(
                ([Timestamp.format(alert.firedAt), alert.rule, alert.key.isEmpty ? "-" : alert.key, alert.id] + actions)
                    .joined(separator: " ")
            )
        }
    }
}
