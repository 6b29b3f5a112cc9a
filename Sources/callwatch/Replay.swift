import ArgumentParser
import CallWatch
import Foundation

struct ReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Evaluate recorded events offline, each event's timestamp as the clock.",
        discussion: "Input: JSON lines or one JSON array of envelopes or bare payloads; '-' reads standard input."
    )

    @OptionGroup var options: ConfigOption

    @Flag(help: "Print each alert as JSON (one per line).")
    var json = false

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
        var replay = CallWatch.Replay(ruleSet: ruleSet)
        var failed = false
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
                onAlert: { alert in print(json ? alert.jsonString : CallWatch.Replay.line(for: alert)) },
                onError: { error in
                    printError(error.description)
                    failed = true
                }
            )
        }
        if failed { throw ExitCode.failure }
    }
}
