import ArgumentParser
import CallWatch
import Foundation

@main
struct CallWatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "callwatch",
        abstract: "Rule-based alerting for 8x8 Number Masking call events.",
        version: CallWatchVersion.current,
        subcommands: [
            Serve.self, Check.self, ReplayCommand.self, Test.self, Alerts.self, SilenceCommand.self, Version.self,
        ]
    )
}

/// `-c, --config PATH`: default `rules.yaml` in the working directory, or `$CALLWATCH_CONFIG`.
struct ConfigOption: ParsableArguments {
    @Option(name: [.short, .long], help: "The rules file (default: $CALLWATCH_CONFIG, else rules.yaml).")
    var config: String?

    var path: String {
        config ?? ProcessInfo.processInfo.environment["CALLWATCH_CONFIG"] ?? "rules.yaml"
    }
}

/// Writes to standard error.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the version.")

    /// Accepted like on every command (`-c`); the version does not depend on it.
    @OptionGroup var options: ConfigOption

    func run() {
        print(CallWatchVersion.current)
    }
}
