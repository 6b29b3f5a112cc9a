import ArgumentParser
import CallWatch

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate the rules file.",
        discussion:
            "Prints 'PATH: N rules OK' and exits 0, or every problem as PATH:LINE:COLUMN: error: MESSAGE and exits 1."
    )

    @OptionGroup var options: ConfigOption

    @Flag(help: "Treat warnings as errors.")
    var strict = false

    func run() throws {
        let path = options.path
        do {
            let ruleSet = try RulesLoader.load(path: path)
            for warning in ruleSet.warnings { print(warning) }
            if strict, !ruleSet.warnings.isEmpty {
                throw ExitCode.failure
            }
            print("\(path): \(ruleSet.rules.count) rules OK")
        } catch let error as RulesError {
            for diagnostic in error.diagnostics { print(diagnostic) }
            throw ExitCode.failure
        }
    }
}
