import Foundation

/// A regular expression compiled when the rules load. NSRegularExpression is thread-safe and immutable.
public struct CompiledRegex: @unchecked Sendable {
    public let pattern: String
    let expression: NSRegularExpression

    /// A pattern that does not compile, with what is wrong in it as Swift's regex parser words it (`expected ']'`):
    /// NSRegularExpression, which evaluates the rules, says only that the value is invalid. `reason` is nil for the
    /// rare pattern only ICU rejects.
    public struct SyntaxError: Error, CustomStringConvertible {
        public let pattern: String
        public let reason: String?

        public var description: String {
            "invalid regular expression '\(pattern)'" + (reason.map { ": \($0)" } ?? "")
        }
    }

    public init(_ pattern: String) throws(SyntaxError) {
        self.pattern = pattern
        do {
            self.expression = try NSRegularExpression(pattern: pattern)
        } catch {
            throw SyntaxError(pattern: pattern, reason: Self.reason(pattern))
        }
    }

    /// What Swift's regex parser says is wrong with `pattern`, or nil when it accepts it.
    static func reason(_ pattern: String) -> String? {
        do {
            _ = try Regex(pattern)
            return nil
        } catch {
            return "\(error)"
        }
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
