import ArgumentParser
import CallWatch
import Foundation

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
        var replay = CallWatch.Replay(ruleSet: ruleSet, keepDuplicates: keepDuplicates)
        var failed = false
        let dispatcher =
            execute
            ? ActionDispatcher(
                configuration: .init(defaults: ruleSet.defaults),
                logger: LogSetup.logger(label: "callwatch.replay")
            ) : nil
        let actions = Dictionary(ruleSet.rules.map { ($0.name, $0.actions) }) { first, _ in first }
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
                onAlert: { alert in
                    print(json ? alert.jsonString : CallWatch.Replay.line(for: alert))
                    dispatcher?.submit(alert, actions: actions[alert.rule] ?? [])
                },
                onError: { error in
                    printError(error.description)
                    failed = true
                }
            )
        }
        dispatcher?.finish()
        await running
        if replay.duplicatesSkipped > 0 {
            printError(
                "callwatch: \(replay.duplicatesSkipped) duplicate event(s) skipped (--keep-duplicates evaluates them)"
            )
        }
        if failed { throw ExitCode.failure }
    }
}
