import ArgumentParser
import CallWatch
import Foundation
import Synchronization

struct ReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Evaluate recorded events offline, each event's timestamp as the clock.",
        discussion: """
            Input: JSON lines, one JSON array, or one pretty-printed event, of envelopes or bare payloads; '-' reads \
            standard input. An event whose identity was seen before in the run is skipped, as serve answers it \
            'duplicate'.
            """
    )

    @OptionGroup var options: ConfigOption

    @Flag(help: "Print each alert as JSON (one per line).")
    var json = false

    @Flag(help: "Run the fired alerts' actions for real (log, exec, http).")
    var execute = false

    @Flag(help: "Evaluate events whose identity was seen before in this run (serve answers them 'duplicate').")
    var keepDuplicates = false

    @Option(
        help: ArgumentHelp(
            "Carry the clock on past the last event to TIME (ISO 8601, or +D after the last event, e.g. +15m), "
                + "so absences and resolutions due by then show.",
            valueName: "TIME"
        )
    )
    var until: String?

    @Argument(help: "Event files ('-' for standard input).")
    var files: [String]

    func run() async throws {
        let ruleSet: RuleSet
        do {
            ruleSet = try RulesLoader.load(path: options.path)
        } catch {
            for diagnostic in error.diagnostics { printError(diagnostic.description) }
            throw ExitCode.failure
        }
        if let until, CallWatch.Replay.untilTime(until, after: nil) == nil {
            printError("callwatch: invalid --until '\(until)': use an ISO 8601 time or +D (e.g. +15m)")
            throw ExitCode.validationFailure
        }
        var replay = CallWatch.Replay(ruleSet: ruleSet, keepDuplicates: keepDuplicates)
        var failed = false
        // Actions that ended without success (after their retries): the run then exits 1.
        let gaveUp = Mutex(0)
        let dispatcher =
            execute
            ? ActionDispatcher(
                configuration: .init(defaults: ruleSet.defaults),
                logger: LogSetup.logger(label: "callwatch.replay")
            ) { outcome in
                if outcome.status.isFinal, outcome.status != .success { gaveUp.withLock { $0 += 1 } }
            } : nil
        let rules = Dictionary(ruleSet.rules.map { ($0.name, $0) }) { first, _ in first }
        let emit = { (alert: Alert) in
            print(json ? alert.jsonString : CallWatch.Replay.line(for: alert))
            dispatcher?.submit(alert, actions: rules[alert.rule]?.actions(for: alert.status) ?? [])
        }
        async let running: Void = dispatcher?.run() ?? ()
        for file in files {
            let data: [UInt8]
            if file == "-" {
                data = Array(FileHandle.standardInput.readDataToEndOfFile())
            } else if let contents = FileManager.default.contents(atPath: file) {
                data = Array(contents)
            } else {
                printError("\(file): error: cannot read the file")
                failed = true
                continue
            }
            await replay.run(
                data: data,
                file: file == "-" ? "<stdin>" : file,
                onAlert: { emit($0) },
                onError: { error in
                    printError(error.description)
                    failed = true
                }
            )
        }
        // With no event the watch never began (its clock starts at the first event), so there is nothing to carry.
        if let until, let last = replay.lastEventTime, let time = CallWatch.Replay.untilTime(until, after: last) {
            for alert in replay.finish(until: time) { emit(alert) }
        }
        dispatcher?.finish()
        await running
        if replay.duplicatesSkipped > 0 {
            printError(
                "callwatch: \(replay.duplicatesSkipped) duplicate event(s) skipped (--keep-duplicates evaluates them)"
            )
        }
        let failedActions = gaveUp.withLock { $0 }
        if failedActions > 0 {
            printError("callwatch: \(failedActions) action(s) gave up (see the log above)")
            failed = true
        }
        if failed { throw ExitCode.failure }
    }
}
