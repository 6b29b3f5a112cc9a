import Foundation

/// A regular expression compiled when the rules load. NSRegularExpression is thread-safe and immutable.
public struct CompiledRegex: @unchecked Sendable {
    public let pattern: String
    let expression: NSRegularExpression

    public init(_ pattern: String) throws {
        self.pattern = pattern
        self.expression = try NSRegularExpression(pattern: pattern)
    }

    public func contains(in text: String) -> Bool {
        expression.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }

    /// The first match's text, if any.
    public func firstMatch(in text: String) -> String? {
        guard let match = expression.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)),
            let range = Range(match.range, in: text)
        else { return nil }
        return String(text[range])
    }
}

/// Two regexes are the same when their patterns are (what lets the engine evaluate identical `when`s once).
extension CompiledRegex: Hashable {
    public static func == (lhs: CompiledRegex, rhs: CompiledRegex) -> Bool { lhs.pattern == rhs.pattern }
    public func hash(into hasher: inout Hasher) { hasher.combine(pattern) }
}
