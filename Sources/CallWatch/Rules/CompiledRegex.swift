import Foundation
import Metrics

/// A regular expression compiled when the rules load. NSRegularExpression is thread-safe and immutable.
///
/// ICU's matcher backtracks, so a pattern like `(a+)+$` takes time exponential in the value it is applied to
/// (27 characters: seconds). Rules are evaluated on the journal's writer, where such a match would hold up every
/// request behind it, so each match has a budget of steps: ICU reports progress every 10,000 steps or so, and a
/// match still running after `progressBudget` reports is abandoned and counts as no match (and in
/// `callwatch_regex_abandoned_total`). Steps, not time: the outcome is the same under load and in `replay`.
/// `check` warns about the patterns that can get there (`nestedRepetition`).
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

    /// About a million steps (~25 ms here); an ordinary pattern on a field value takes a few hundred.
    static let progressBudget = 100

    public func contains(in text: String) -> Bool {
        firstResult(in: text) != nil
    }

    /// The first match's text, if any.
    public func firstMatch(in text: String) -> String? {
        guard let match = firstResult(in: text), let range = Range(match.range, in: text) else { return nil }
        return String(text[range])
    }

    /// The first match within the budget; nil when there is none or the budget ran out first.
    func firstResult(in text: String) -> NSTextCheckingResult? {
        var first: NSTextCheckingResult?
        var reports = 0
        expression.enumerateMatches(in: text, options: .reportProgress, range: NSRange(text.startIndex..., in: text)) {
            match,
            flags,
            stop in
            if let match {
                first = match
                stop.pointee = true
            } else if flags.contains(.progress) {
                reports += 1
                if reports >= Self.progressBudget { stop.pointee = true }
            }
        }
        if first == nil, reports >= Self.progressBudget {
            Counter(label: "callwatch_regex_abandoned_total").increment()
        }
        return first
    }

    /// The first group in `pattern` that repeats something which itself repeats (`(a+)+`, `(\d*x?)*`,
    /// `(?:ab+){2,}`): the shape that makes a backtracking matcher exponential. nil when there is none. A
    /// conservative reading of the syntax (escapes and character classes skipped), not a parser: it finds the
    /// patterns that hold a matcher for seconds, and also some that are merely slow.
    public static func nestedRepetition(in pattern: String) -> String? {
        let characters = Array(pattern)
        // For each open group: where it starts, and whether a repetition occurs inside it.
        var groups: [(start: Int, repeats: Bool)] = []
        var index = 0
        func repetition(at position: Int) -> Int? {
            guard position < characters.count else { return nil }
            switch characters[position] {
            case "*", "+": return 1
            case "{":
                guard let close = characters[position...].firstIndex(of: "}") else { return nil }
                let inside = String(characters[(position + 1)..<close])
                let bounds = inside.split(separator: ",", omittingEmptySubsequences: false)
                // `{n}` repeats exactly n times, which leaves a matcher nothing to try again; `{n,}` and `{n,m}` do.
                guard bounds.count == 2, bounds.allSatisfy({ $0.allSatisfy(\.isNumber) }), let lower = Int(bounds[0])
                else { return nil }
                let upper = bounds[1].isEmpty ? Int.max : Int(bounds[1]) ?? Int.max
                return upper > max(lower, 1) ? close - position + 1 : nil
            default: return nil
            }
        }
        while index < characters.count {
            switch characters[index] {
            case "\\":
                index += 2
                if let length = repetition(at: index), !groups.isEmpty {
                    groups[groups.count - 1].repeats = true
                    index += length
                }
                continue
            case "[":
                var end = index + 1
                if end < characters.count, characters[end] == "^" { end += 1 }
                if end < characters.count, characters[end] == "]" { end += 1 }
                while end < characters.count, characters[end] != "]" {
                    end += characters[end] == "\\" ? 2 : 1
                }
                index = end + 1
                if let length = repetition(at: index), !groups.isEmpty {
                    groups[groups.count - 1].repeats = true
                    index += length
                }
                continue
            case "(":
                groups.append((index, false))
            case ")":
                guard let group = groups.popLast() else { break }
                if let length = repetition(at: index + 1) {
                    if group.repeats { return String(characters[group.start...(index + length)]) }
                    if !groups.isEmpty { groups[groups.count - 1].repeats = true }
                    index += length
                } else if group.repeats, !groups.isEmpty {
                    groups[groups.count - 1].repeats = true
                }
            default:
                if repetition(at: index) != nil, !groups.isEmpty { groups[groups.count - 1].repeats = true }
            }
            index += 1
        }
        return nil
    }
}

/// Two regexes are the same when their patterns are (what lets the engine evaluate identical `when`s once).
extension CompiledRegex: Hashable {
    public static func == (lhs: CompiledRegex, rhs: CompiledRegex) -> Bool { lhs.pattern == rhs.pattern }
    public func hash(into hasher: inout Hasher) { hasher.combine(pattern) }
}
