import Mustache

/// A Mustache template parsed (and its names checked) when the rules load. HTML escaping is off: alerts go to
/// logs, argv, headers and JSON strings, never into HTML.
public struct Template: Sendable, CustomStringConvertible {
    public let source: String
    let template: MustacheTemplate
    /// True when the source holds no tag: rendering returns `source` untouched.
    let isConstant: Bool
    /// How many tags the source holds.
    let tags: Int

    public var description: String { source }

    /// Names a template may use besides payload fields.
    public static let ruleNames = ["name", "description"]
    public static let alertNames = [
        "id", "rule", "count", "key", "match", "firstAt", "lastAt", "firedAt", "status", "value", "startsAt", "endsAt",
        "headline", "json", "events",
    ]
    /// Names of `group.*`, the notification of a rule's group of alerts (each of its `alerts` has `alertNames`).
    public static let groupNames = ["id", "count", "json"]

    public enum ParseError: Error {
        /// Mustache syntax: line and column are within the template's own text (1-based).
        case syntax(message: String, line: Int, column: Int)
    }

    /// How deep sections may nest. swift-mustache's parser recurses once per level, and a few thousand levels
    /// overflow a thread's stack; a template people write nests two or three.
    static let maxSectionDepth = 32
    /// How many tags one template may hold: swift-mustache's parse time grows with the square of it (16,384 tags:
    /// 4 s in a debug build).
    static let maxTags = 2_000

    public init(_ source: String) throws(ParseError) {
        self.source = source
        self.isConstant = !source.contains("{{")
        let scan = isConstant ? (tags: 0, problem: nil) : Self.scan(source)
        self.tags = scan.tags
        if let problem = scan.problem {
            throw .syntax(message: problem.message, line: problem.line, column: problem.column)
        }
        do {
            self.template = try MustacheTemplate(string: "{{% CONTENT_TYPE: TEXT}}" + source)
        } catch let error as MustacheTemplate.ParserError {
            // The pragma we prepend shifts columns on the first line only.
            let column = error.context.lineNumber == 1 ? error.context.columnNumber - 24 : error.context.columnNumber
            throw .syntax(message: Self.reason(error.error), line: error.context.lineNumber, column: max(1, column))
        } catch {
            throw .syntax(message: Self.reason(error), line: 1, column: 1)
        }
    }

    /// swift-mustache's parse error in words (it reports an enum case, documented in its source); the parser's
    /// internal end-of-input error reads `overflow`.
    static func reason(_ error: any Error) -> String {
        switch error as? MustacheTemplate.Error {
        case .sectionCloseNameIncorrect: return "a closing tag {{/…}} does not match the name of the open section"
        case .unfinishedName: return "a tag is malformed: expected a name, then '}}'"
        case .expectedSectionEnd: return "a section opened with {{#…}} or {{^…}} is never closed with {{/…}}"
        case .invalidSetDelimiter: return "a set-delimiter tag is malformed (write {{=<% %>=}})"
        case .transformAppliedToInheritanceSection: return "a transform cannot apply to an inheritance section"
        case .illegalTokenInsideInheritSection: return "only block definitions may appear inside an inheritance section"
        case .textInsideInheritSection: return "text may not appear inside an inheritance section"
        case .invalidConfigVariableSyntax: return "a pragma tag {{% …}} is malformed"
        case .unrecognisedConfigVariable: return "unknown pragma in a {{% …}} tag"
        case nil:
            let text = "\(error)"
            return text == "overflow" ? "the template ends inside a tag" : text
        }
    }

    /// The tags in `source`, and the first that passes `maxSectionDepth` or `maxTags` (1-based line and column).
    /// Reads tags as swift-mustache does, set-delimiter tags (`{{=<% %>=}}`) included, without parsing them further.
    static func scan(_ source: String) -> (tags: Int, problem: (message: String, line: Int, column: Int)?) {
        let bytes = Array(source.utf8)
        var open = Array("{{".utf8)
        var close = Array("}}".utf8)
        func find(_ needle: [UInt8], from start: Int) -> Int? {
            guard !needle.isEmpty, bytes.count >= needle.count, start <= bytes.count - needle.count else { return nil }
            var index = start
            while index <= bytes.count - needle.count {
                if bytes[index] == needle[0], Array(bytes[index..<(index + needle.count)]) == needle { return index }
                index += 1
            }
            return nil
        }
        func problem(_ message: String, at tag: Int) -> (message: String, line: Int, column: Int) {
            let before = bytes[..<tag]
            let line = before.count { $0 == UInt8(ascii: "\n") } + 1
            let lineStart = before.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? 0
            return (message, line, tag - lineStart + 1)
        }
        var tags = 0
        var depth = 0
        var position = 0
        while let tag = find(open, from: position) {
            let contentStart = tag + open.count
            guard contentStart < bytes.count else { break }
            let sigil = bytes[contentStart]
            let closing = sigil == UInt8(ascii: "{") && open == Array("{{".utf8) ? Array("}}}".utf8) : close
            guard let end = find(closing, from: contentStart) else { break }
            position = end + closing.count
            tags += 1
            if tags > maxTags {
                return (tags, problem("a template holds at most \(maxTags) tags", at: tag))
            }
            switch sigil {
            case UInt8(ascii: "#"), UInt8(ascii: "^"), UInt8(ascii: "$"), UInt8(ascii: "<"):
                depth += 1
                if depth > maxSectionDepth {
                    return (tags, problem("sections nest more than \(maxSectionDepth) deep here", at: tag))
                }
            case UInt8(ascii: "/"):
                depth = max(0, depth - 1)
            case UInt8(ascii: "="):
                // `{{=<% %>=}}`: the new delimiters, separated by whitespace, end with `=`.
                let inner = bytes[(contentStart + 1)..<end].split { $0 == 0x20 || $0 == 0x09 }
                if inner.count == 2, inner[1].last == UInt8(ascii: "=") {
                    open = Array(inner[0])
                    close = Array(inner[1].dropLast())
                }
            default:
                break
            }
        }
        return (tags, nil)
    }

    /// The context's own names: `rule.*`, `alert.*`, `group.*`, and `alerts.*` inside `{{#alerts}}`.
    static let namespaces = ["rule": ruleNames, "alert": alertNames, "alerts": alertNames, "group": groupNames]

    public func render(_ context: [String: Any]) -> String {
        isConstant ? source : template.render(context)
    }

    /// Every name the template looks up, as dotted paths; names used inside `{{#alert.events}}` come back
    /// prefixed `alert.events.` (they are payload fields of each event).
    public func referencedNames() -> [String] {
        guard !isConstant else { return [] }
        let recorder = NameRecorder()
        _ = template.render(NameProbe(path: "", recorder: recorder))
        // `{{alert.count}}` asks for `alert`, then `count` on it: keep only the full paths.
        let names = Set(recorder.names)
        var parents = Set<Substring>()
        for name in names {
            var rest = Substring(name)
            while let dot = rest.lastIndex(of: ".") {
                rest = rest[..<dot]
                parents.insert(rest)
            }
        }
        return names.filter { !parents.contains(Substring($0)) }.sorted()
    }

    /// Checks referenced names: `rule.*` and `alert.*` must be known; a top-level name that is not a documented
    /// event field is an error when it looks like a typo of one, otherwise a warning (8x8 may add fields).
    public func problems() -> [(severity: Diagnostic.Severity, message: String)] {
        var problems: [(Diagnostic.Severity, String)] = []
        for name in referencedNames() {
            var components = name.split(separator: ".").map(String.init)
            if components.first == "alert", components.count > 2, components[1] == "events" {
                components.removeFirst(2)
            } else if components.first == "alerts", components.count > 2, components[1] == "events" {
                components.removeFirst(2)
            } else if let first = components.first, let known = Self.namespaces[first] {
                if components == ["alerts"] { continue }  // a section over the list
                if components.count < 2 || !known.contains(components[1]) {
                    let word = components.count < 2 ? "" : components[1]
                    let hint = Suggestion.closest(to: word, in: known).map {
                        "; did you mean '\(components[0]).\($0)'?"
                    }
                    problems.append((.error, "unknown name '\(name)' in template" + (hint ?? "")))
                }
                continue
            }
            guard let first = components.first, first != "." else { continue }
            if FieldPath(components.joined(separator: ".")).isDocumented { continue }
            if let suggestion = Suggestion.closest(
                to: first,
                in: FieldPath.documentedNames + Self.namespaces.keys.sorted()
            ) {
                problems.append((.error, "unknown name '\(name)' in template; did you mean '\(suggestion)'?"))
            } else {
                problems.append(
                    (.warning, "'\(name)' in template is not a documented 8x8 field; it renders empty when absent")
                )
            }
        }
        return problems
    }
}

private final class NameRecorder: @unchecked Sendable {
    var names: [String] = []
}

/// Stands in for every value while a template is rendered once at load, recording what it asks for.
private struct NameProbe: MustacheParent, CustomStringConvertible {
    let path: String
    let recorder: NameRecorder

    func child(named name: String) -> Any? {
        let full = path.isEmpty ? name : path + "." + name
        recorder.names.append(full)
        return NameProbe(path: full, recorder: recorder)
    }

    var description: String { "" }
}
