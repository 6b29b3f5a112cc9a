import Foundation
import Yams

/// Reads typed values (strings, numbers, durations, templates…) out of Yams nodes, substituting `${ENV}`; every
/// problem becomes a diagnostic with file, line and column, and reading goes on.
struct DiagnosingNodeReader {
    let file: String
    let environment: [String: String]
    /// The source, line by line: lets a template error inside a `|` block scalar point at its own line and column.
    var lines: [Substring] = []
    var diagnostics: [Diagnostic] = []
    /// Tags in the templates read so far, and the most a file's templates may hold: checking a template's names
    /// renders it once, so this bounds the work a rules file can ask of `check` and of every reload.
    var templateTags = 0
    static let maxTemplateTags = 50_000

    var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }

    mutating func report(_ severity: Diagnostic.Severity, _ node: Node?, _ message: String) {
        let mark = node?.mark
        diagnostics.append(
            Diagnostic(
                file: file,
                line: mark?.line ?? 1,
                column: mark?.column ?? 1,
                severity: severity,
                message: message
            )
        )
    }

    mutating func error(_ node: Node?, _ message: String) { report(.error, node, message) }
    mutating func warning(_ node: Node?, _ message: String) { report(.warning, node, message) }

    /// A mapping's entries, with every key checked against `allowed` (unknown keys are errors with a suggestion).
    struct Entries {
        var entries: [(key: String, keyNode: Node, value: Node)] = []
        subscript(name: String) -> Node? { entries.first { $0.key == name }?.value }
        func keyNode(_ name: String) -> Node? { entries.first { $0.key == name }?.keyNode }
        func has(_ name: String) -> Bool { entries.contains { $0.key == name } }
    }

    mutating func mapping(_ node: Node, allowed: [String]?, what: String, context: String = "") -> Entries? {
        guard let mapping = node.mapping else {
            error(node, "\(what) must be a mapping\(context)")
            return nil
        }
        var entries = Entries()
        for (keyNode, value) in mapping {
            guard let key = keyNode.scalar?.string else {
                error(keyNode, "keys must be plain strings in \(what)\(context)")
                continue
            }
            if let allowed, !allowed.contains(key) {
                error(keyNode, "unknown key '\(key)' in \(what)\(context)" + Suggestion.hint(for: key, in: allowed))
                continue
            }
            entries.entries.append((key, keyNode, value))
        }
        return entries
    }

    /// A scalar as a string, `${NAME}` replaced from the environment (`$$` is a literal `$`).
    mutating func string(_ node: Node, what: String, context: String = "") -> String? {
        guard let scalar = node.scalar else {
            error(node, "\(what) must be a string\(context)")
            return nil
        }
        return substitute(scalar.string, node: node, context: context)
    }

    mutating func substitute(_ text: String, node: Node, context: String) -> String? {
        guard text.contains("$") else { return text }
        var result = ""
        var rest = Substring(text)
        var failed = false
        while let dollar = rest.firstIndex(of: "$") {
            result += rest[..<dollar]
            let after = rest[rest.index(after: dollar)...]
            if after.hasPrefix("$") {
                result += "$"
                rest = after.dropFirst()
            } else if after.hasPrefix("{"), let close = after.firstIndex(of: "}") {
                let name = String(after[after.index(after: after.startIndex)..<close])
                if let value = environment[name] {
                    result += value
                } else {
                    error(node, "environment variable '\(name)' is not set\(context)")
                    failed = true
                }
                rest = after[after.index(after: close)...]
            } else {
                result += "$"
                rest = after
            }
        }
        result += rest
        return failed ? nil : result
    }

    mutating func int(_ node: Node, what: String, range: ClosedRange<Int>, context: String = "") -> Int? {
        guard let text = string(node, what: what, context: context) else { return nil }
        guard let value = Int(text), range.contains(value) else {
            error(node, "\(what) must be a whole number in \(range.lowerBound)...\(range.upperBound)\(context)")
            return nil
        }
        return value
    }

    mutating func bool(_ node: Node, what: String, context: String = "") -> Bool? {
        guard let text = string(node, what: what, context: context) else { return nil }
        switch text.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default:
            error(node, "\(what) must be true or false\(context)")
            return nil
        }
    }

    mutating func duration(_ node: Node, what: String, context: String = "") -> Duration? {
        guard let text = string(node, what: what, context: context) else { return nil }
        guard let duration = Units.duration(text) else {
            error(node, "invalid duration '\(text)' for \(what)\(context); use e.g. 250ms, 30s, 5m, 2h, 7d or 1h30m")
            return nil
        }
        return duration
    }

    mutating func size(_ node: Node, what: String, context: String = "") -> Int? {
        guard let text = string(node, what: what, context: context) else { return nil }
        guard let size = Units.size(text) else {
            error(node, "invalid size '\(text)' for \(what)\(context); use bytes, KiB or MiB (e.g. 64KiB)")
            return nil
        }
        return size
    }

    /// A list of scalars; a single scalar is taken as a one-element list.
    mutating func strings(_ node: Node, what: String, context: String = "") -> [(String, Node)]? {
        if node.scalar != nil {
            return string(node, what: what, context: context).map { [($0, node)] }
        }
        guard let sequence = node.sequence else {
            error(node, "\(what) must be a list\(context)")
            return nil
        }
        var result: [(String, Node)] = []
        for element in sequence {
            if let text = string(element, what: what, context: context) { result.append((text, element)) }
        }
        return result
    }

    /// A YAML value as JSON (test events, literal leaves of `json:` bodies).
    mutating func json(_ node: Node, context: String = "") -> JSONValue {
        switch node {
        case .scalar(let scalar):
            switch scalar.kind {
            case .null: return .null
            case .bool: return .bool(node.bool ?? false)
            case .int, .float:
                if let number = Double(scalar.string.replacingOccurrences(of: "_", with: "")) { return .number(number) }
                return .string(scalar.string)
            default: return .string(substitute(scalar.string, node: node, context: context) ?? scalar.string)
            }
        case .sequence(let sequence):
            return .array(sequence.map { json($0, context: context) })
        case .mapping(let mapping):
            return .object(JSONObject(mapping.map { ($0.key.scalar?.string ?? "", json($0.value, context: context)) }))
        case .alias:
            return .null
        }
    }

    /// A scalar constant of a condition: numbers stay numbers, `null` is null, the rest is text.
    mutating func scalar(_ node: Node, what: String, context: String) -> Scalar? {
        guard let scalar = node.scalar else {
            error(node, "\(what) must be a single value\(context)")
            return nil
        }
        switch scalar.kind {
        case .null: return .null
        case .int, .float:
            let text = scalar.string
            return Scalar(string: text, number: Double(text.replacingOccurrences(of: "_", with: "")))
        case .bool: return Scalar(string: node.bool == true ? "true" : "false", number: nil)
        default:
            guard let text = substitute(scalar.string, node: node, context: context) else { return nil }
            return Scalar(string: text, number: nil)
        }
    }

    /// Parses a template, reporting syntax errors and unknown names at the template's own position.
    mutating func template(_ node: Node, what: String, context: String) -> Template? {
        guard let text = string(node, what: what, context: context) else { return nil }
        do {
            let template = try Template(text)
            templateTags += template.tags
            if templateTags > Self.maxTemplateTags {
                if templateTags - template.tags <= Self.maxTemplateTags {  // said once, where the total passed it
                    error(node, "the file's templates hold more than \(Self.maxTemplateTags) tags in all\(context)")
                }
                return nil
            }
            for problem in template.problems() {
                // The rule's name goes before a "; did you mean …?" hint, as in every other message.
                var message = problem.message
                let hint = message.range(of: "; did you mean ")?.lowerBound ?? message.endIndex
                message.insert(contentsOf: context, at: hint)
                report(problem.severity, node, message)
            }
            return template
        } catch {
            guard case .syntax(let message, let line, let column) = error else { return nil }
            let (errorLine, errorColumn) = position(in: node, line: line, column: column)
            diagnostics.append(
                Diagnostic(
                    file: file,
                    line: errorLine,
                    column: errorColumn,
                    severity: .error,
                    message: "template syntax error in \(what): \(message)\(context)"
                )
            )
            return nil
        }
    }

    /// Where `line`:`column` of a scalar's text is in the file: exact for a one-line scalar and for a `|` block
    /// (its lines are the file's, indented); otherwise the scalar's own position.
    func position(in node: Node, line: Int, column: Int) -> (line: Int, column: Int) {
        let markLine = node.mark?.line ?? 1
        let markColumn = node.mark?.column ?? 1
        switch node.scalar?.style {
        case .literal:
            // The text starts on the line after `|`; its indentation is that of its first non-blank line.
            let content = lines.dropFirst(markLine)
            guard let first = content.first(where: { !$0.allSatisfy { $0 == " " } }) else { break }
            let indentation = first.prefix { $0 == " " }.count
            return (markLine + line, indentation + column)
        case .plain, .singleQuoted, .doubleQuoted:
            guard line == 1 else { break }
            let quoted = node.scalar?.style != .plain
            return (markLine, markColumn + (quoted ? 1 : 0) + column - 1)
        default:
            break
        }
        return (markLine, markColumn)
    }
}

extension Node.Scalar {
    /// The scalar's resolved tag. Yams leaves a plain scalar's tag implicit until something resolves it, so `0` and
    /// `null` would otherwise read as strings. YAML 1.1's yes/no/on/off stay strings (`NO` is Norway, not false).
    var kind: Tag.Name {
        let resolved = Resolver.default.resolveTag(of: Node.scalar(self))
        if resolved == .bool, string.lowercased() != "true", string.lowercased() != "false" { return .str }
        return resolved
    }
}
