import Foundation
import Logging
import Yams

/// Reads a rules file: YAML with source marks → validated, compiled `RuleSet`. Every problem is a
/// diagnostic naming file, line and column; nothing here throws anything but `RulesError`.
public enum RulesLoader {
    static let topKeys = ["version", "server", "state", "defaults", "rules"]
    static let serverKeys = ["listen", "path", "max_body", "auth", "allow", "trust_forwarded"]
    static let ruleKeys = ["name", "description", "when", "by", "window", "sequence", "cooldown", "actions"]
    static let operators = [
        "eq", "ne", "lt", "lte", "gt", "gte", "in", "not_in", "regex", "prefix", "suffix", "contains", "exists",
    ]
    static let logLevels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

    public static func load(
        path: String,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(RulesError) -> RuleSet {
        let text = try readText(path)
        return try load(yaml: text, path: path, environment: environment)
    }

    public static func load(
        yaml text: String,
        path: String,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(RulesError) -> RuleSet {
        var reader = DiagnosingNodeReader(file: path, environment: environment)
        reader.lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw RulesError(diagnostics: [yamlDiagnostic(error, path: path)])
        } catch {
            throw RulesError(diagnostics: [
                Diagnostic(file: path, line: 1, column: 1, severity: .error, message: "invalid YAML: \(error)")
            ])
        }
        guard let root else {
            throw RulesError(diagnostics: [
                Diagnostic(
                    file: path,
                    line: 1,
                    column: 1,
                    severity: .error,
                    message: "the file is empty; expected a mapping with 'version' and 'rules'"
                )
            ])
        }
        var compiler = RulesCompiler(reader: reader, path: path)
        let ruleSet = compiler.compile(root)
        reader = compiler.reader
        if reader.hasErrors || ruleSet == nil {
            throw RulesError(diagnostics: reader.diagnostics)
        }
        var result = ruleSet!
        result.warnings = reader.diagnostics
        return result
    }

    /// A file's text, or a diagnostic saying plainly why it cannot be read.
    static func readText(_ path: String) throws(RulesError) -> String {
        func failure(_ reason: String) -> RulesError {
            RulesError(diagnostics: [
                Diagnostic(file: path, line: 1, column: 1, severity: .error, message: "cannot read the file: \(reason)")
            ])
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw failure("no such file")
        }
        guard !isDirectory.boolValue else { throw failure("it is a directory") }
        guard let data = FileManager.default.contents(atPath: path) else { throw failure("permission denied") }
        guard let text = String(data: data, encoding: .utf8) else { throw failure("it is not UTF-8 text") }
        return text
    }

    static func yamlDiagnostic(_ error: YamlError, path: String) -> Diagnostic {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let detail = context.map { "\($0.text) " } ?? ""
            return Diagnostic(
                file: path,
                line: mark.line,
                column: mark.column,
                severity: .error,
                message: "invalid YAML: \(detail)\(problem)"
            )
        case .reader(let problem, _, _, _):
            return Diagnostic(file: path, line: 1, column: 1, severity: .error, message: "cannot read YAML: \(problem)")
        default:
            let message = "\(error)".split(separator: "\n").first.map(String.init) ?? "invalid YAML"
            return Diagnostic(file: path, line: 1, column: 1, severity: .error, message: "invalid YAML: \(message)")
        }
    }
}
