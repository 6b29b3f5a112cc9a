import ArgumentParser
import CallWatch

struct Test: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run rule unit tests (like promtool test rules).",
        discussion: "Prints PASS/FAIL per case, then 'N passed, M failed'; exits 1 on any failure."
    )

    @Option(name: [.short, .long], help: "Rules file to test instead of each test file's 'config:'.")
    var config: String?

    @Argument(help: "Test files.")
    var files: [String]

    func run() throws {
        var passed = 0
        var failed = 0
        for file in files {
            do {
                let tests = try RuleTests.load(path: file, config: config)
                for outcome in tests.run() {
                    print(outcome.line)
                    if outcome.failure == nil { passed += 1 } else { failed += 1 }
                }
            } catch {
                for diagnostic in error.diagnostics { print(diagnostic) }
                failed += 1
            }
        }
        print("\(passed) passed, \(failed) failed")
        if failed > 0 { throw ExitCode.failure }
    }
}
