import Foundation
import Logging
import Yams

/// Reads a rules file: YAML with source marks → validated, compiled `RuleSet`. Every problem is a
/// diagnostic naming file, line and column; nothing here throws anything but `RulesError`.
public enum RulesLoader {
    static let topKeys = ["version", "server", "state", "defaults", "receivers", "rules"]
    static let actionKinds = ["log", "exec", "http", "slack", "pagerduty", "alertmanager"]
    static let pagerDutySeverities = ["critical", "error", "warning", "info"]
    static let serverKeys = ["listen", "path", "max_body", "auth", "allow", "trust_forwarded", "idle_timeout"]
    static let ruleKeys = [
        "name", "description", "when", "by", "window", "sequence", "ratio", "aggregate", "absent", "gauge", "for",
        "keep_firing_for", "repeat", "send_resolved", "cooldown", "notify", "group", "actions",
    ]
    /// The keys that say what a rule detects; a rule takes at most one.
    static let kindKeys = ["window", "sequence", "ratio", "aggregate", "absent", "gauge"]
    /// The kinds that are conditions over time.
    static let conditionKeys = ["ratio", "aggregate", "absent", "gauge"]
    /// The keys only a condition takes.
    static let timingKeys = ["for", "keep_firing_for", "repeat", "send_resolved"]
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
        let root = try compose(text, path: path, lines: reader.lines)
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
    /// The most a rules or test file may hold: its size, and its YAML nodes with every use of an alias counted
    /// (a few hundred bytes of nested aliases otherwise expand to billions of nodes).
    static let maxFileBytes = 8 << 20
    static let maxNodes = 500_000

    /// `text` composed into YAML nodes, within `maxFileBytes` and `maxNodes`; a YAML error as a diagnostic.
    static func compose(_ text: String, path: String, lines: [Substring]) throws(RulesError) -> Node? {
        func failure(_ message: String, line: Int = 1, column: Int = 1) -> RulesError {
            RulesError(diagnostics: [
                Diagnostic(file: path, line: line, column: column, severity: .error, message: message)
            ])
        }
        guard text.utf8.count <= maxFileBytes else {
            throw failure("the file is \(text.utf8.count) bytes; at most \(maxFileBytes) (8 MiB)")
        }
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw RulesError(diagnostics: [yamlDiagnostic(error, path: path, lines: lines)])
        } catch {
            throw failure("invalid YAML: \(error)")
        }
        var budget = maxNodes
        if let root, let mark = exhaust(root, budget: &budget) {
            throw failure(
                "the file expands to more than \(maxNodes) YAML nodes (each use of an alias counts its whole "
                    + "value; here it passed the limit): write the repeated part out or use fewer nested aliases",
                line: mark.line,
                column: mark.column
            )
        }
        return root
    }

    /// Walks `node` taking one from `budget` per node reached, aliases followed; where the budget ran out, or nil.
    private static func exhaust(_ node: Node, budget: inout Int) -> (line: Int, column: Int)? {
        budget -= 1
        if budget < 0 { return node.mark.map { ($0.line, $0.column) } ?? (1, 1) }
        switch node {
        case .scalar, .alias: return nil
        case .sequence(let sequence):
            for element in sequence {
                if let mark = exhaust(element, budget: &budget) { return mark }
            }
        case .mapping(let mapping):
            for (key, value) in mapping {
                if let mark = exhaust(key, budget: &budget) ?? exhaust(value, budget: &budget) { return mark }
            }
        }
        return nil
    }

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
        if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int, size > maxFileBytes {
            throw failure("it is \(size) bytes; a rules or test file holds at most \(maxFileBytes) (8 MiB)")
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw failure("permission denied") }
        guard let text = String(data: data, encoding: .utf8) else { throw failure("it is not UTF-8 text") }
        return text
    }

    /// A Yams error as a diagnostic at its mark; given the file's `lines`, it also says how to fix the commonest
    /// cause, an unquoted `${…}` in a flow collection.
    static func yamlDiagnostic(_ error: YamlError, path: String, lines: [Substring] = []) -> Diagnostic {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let detail = context.map { "\($0.text) " } ?? ""
            // The error may be reported at the token after the `${…}`, on the next line.
            let hint = [mark.line, mark.line - 1].lazy.filter { $0 >= 1 && $0 <= lines.count }
                .compactMap { quotingHint(for: lines[$0 - 1]) }.first
            return Diagnostic(
                file: path,
                line: mark.line,
                column: mark.column,
                severity: .error,
                message: "invalid YAML: \(detail)\(problem)" + (hint ?? "")
            )
        case .reader(let problem, _, _, _):
            return Diagnostic(file: path, line: 1, column: 1, severity: .error, message: "cannot read YAML: \(problem)")
        default:
            let message = "\(error)".split(separator: "\n").first.map(String.init) ?? "invalid YAML"
            return Diagnostic(file: path, line: 1, column: 1, severity: .error, message: "invalid YAML: \(message)")
        }
    }

    /// `; quote a value that holds ${…} inside {…}: password: "${CALLWATCH_PASSWORD}"` when `line` has an unquoted
    /// `${…}` inside a flow mapping or list, where YAML reads its `{` as the start of another mapping.
    static func quotingHint(for line: Substring) -> String? {
        var open: [Character] = []
        var quote: Character?
        /// Where the value being read starts, and the key before it, if any.
        var valueStart = line.startIndex
        var key = ""
        var index = line.startIndex
        while index < line.endIndex {
            let character = line[index]
            let next = line.index(after: index)
            if let current = quote {
                if character == current { quote = nil }
            } else if character == "#", index == line.startIndex || line[line.index(before: index)] == " " {
                return nil
            } else if character == "\"" || character == "'", line[valueStart..<index].allSatisfy({ $0 == " " }) {
                quote = character
            } else if "{[,".contains(character) || character == ":" && (next == line.endIndex || line[next] == " ") {
                if character == "{" || character == "[" { open.append(character) }
                key = character == ":" ? String(line[valueStart..<index].trimmingCharacters(in: .whitespaces)) : ""
                valueStart = next
            } else if character == "}" || character == "]" {
                _ = open.popLast()
            } else if character == "$", let collection = open.last, line[next...].hasPrefix("{"),
                let close = line[next...].firstIndex(of: "}")
            {
                let end = line[close...].dropFirst().firstIndex { ",}]".contains($0) } ?? line.endIndex
                let value = line[valueStart..<end].trimmingCharacters(in: .whitespaces)
                let example = (key.isEmpty ? "" : key + ": ") + "\"\(value)\""
                return "; quote a value that holds ${…} inside \(collection == "{" ? "{…}" : "[…]"): \(example)"
            }
            index = next
        }
        return nil
    }
}
