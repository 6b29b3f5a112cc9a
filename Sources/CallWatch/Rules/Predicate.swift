import Foundation

/// A constant from a rules file, kept both as text and (when it is one) as a number, so comparisons need no parsing.
public struct Scalar: Sendable, Hashable, CustomStringConvertible {
    public var string: String
    public var number: Double?
    public var isNull: Bool

    public init(string: String, number: Double?, isNull: Bool = false) {
        self.string = string
        self.number = number
        self.isNull = isNull
    }

    public static let null = Scalar(string: "null", number: nil, isNull: true)

    public var description: String { string }

    /// Equality as rules define it: numbers compare numerically (`0` equals `"0"`), other scalars as strings,
    /// and `null` matches null or absent.
    @inlinable
    public func matches(_ value: JSONValue?) -> Bool {
        if isNull { return value == nil || value!.isNull }
        guard let value else { return false }
        if let number {
            switch value {
            case .number(let other): return other == number
            case .string(let text):
                if let other = JSONValue.parseNumber(text) { return other == number }
                return text == string
            default: return false
            }
        }
        switch value {
        case .string(let text): return text.utf8.count == string.utf8.count && text == string
        case .number(let other): return JSONValue.parseNumber(string) == other
        case .bool(let bool): return (bool ? "true" : "false") == string
        default: return false
        }
    }
}

/// One compiled condition on one value.
public enum Condition: Sendable, Hashable {
    case equals(Scalar)
    case notEquals(Scalar)
    case lessThan(Double)
    case lessThanOrEqual(Double)
    case greaterThan(Double)
    case greaterThanOrEqual(Double)
    case oneOf([Scalar])
    case noneOf([Scalar])
    case regex(CompiledRegex)
    case prefix(String)
    case suffix(String)
    case contains(String)
    case exists(Bool)

    @inlinable
    public func holds(for value: JSONValue?) -> Bool {
        switch self {
        case .equals(let scalar): return scalar.matches(value)
        case .notEquals(let scalar): return !scalar.matches(value)
        case .lessThan(let bound): return value?.numberValue.map { $0 < bound } ?? false
        case .lessThanOrEqual(let bound): return value?.numberValue.map { $0 <= bound } ?? false
        case .greaterThan(let bound): return value?.numberValue.map { $0 > bound } ?? false
        case .greaterThanOrEqual(let bound): return value?.numberValue.map { $0 >= bound } ?? false
        case .oneOf(let scalars): return scalars.contains { $0.matches(value) }
        case .noneOf(let scalars): return !scalars.contains { $0.matches(value) }
        case .regex(let regex): return value?.stringValue.map { regex.contains(in: $0) } ?? false
        case .prefix(let prefix): return Self.text(of: value).map { Self.bytes(of: $0, prefix, at: .start) } ?? false
        case .suffix(let suffix): return Self.text(of: value).map { Self.bytes(of: $0, suffix, at: .end) } ?? false
        case .contains(let part): return Self.text(of: value).map { Self.bytes(of: $0, part, at: .anywhere) } ?? false
        case .exists(let expected): return (value != nil && !value!.isNull) == expected
        }
    }

    @usableFromInline
    enum Place { case start, end, anywhere }

    /// Whether `part` occurs in `text` at `place`, comparing UTF-8 bytes (not Unicode-equivalent characters: what a
    /// phone number or an id needs, at a fraction of the cost). No allocation.
    @usableFromInline
    static func bytes(of text: String, _ part: String, at place: Place) -> Bool {
        var text = text
        var part = part
        return text.withUTF8 { haystack in
            part.withUTF8 { needle in
                guard !needle.isEmpty else { return true }
                guard haystack.count >= needle.count, let text = haystack.baseAddress, let part = needle.baseAddress
                else { return false }
                let last = haystack.count - needle.count
                let starts: ClosedRange<Int> =
                    switch place {
                    case .start: 0...0
                    case .end: last...last
                    case .anywhere: 0...last
                    }
                for start in starts where memcmp(text + start, part, needle.count) == 0 {
                    return true
                }
                return false
            }
        }
    }

    @inlinable
    static func text(of value: JSONValue?) -> String? {
        if case .string(let text) = value { return text }
        return value?.stringValue
    }
}

/// A compiled `when`: evaluated per event with no parsing, no regex compilation and no allocation.
public indirect enum Predicate: Sendable, Hashable {
    case always
    case field(FieldPath, [Condition])
    case all([Predicate])
    case any([Predicate])
    case not(Predicate)

    @inlinable
    public func matches(_ event: CallEvent) -> Bool {
        switch self {
        case .always:
            return true
        case .field(let path, let conditions):
            let value = event[path]
            for condition in conditions where !condition.holds(for: value) { return false }
            return true
        case .all(let predicates):
            for predicate in predicates where !predicate.matches(event) { return false }
            return true
        case .any(let predicates):
            for predicate in predicates where predicate.matches(event) { return true }
            return false
        case .not(let predicate):
            return !predicate.matches(event)
        }
    }

    /// The values a top-level equality (`field: value` or `in: [...]`) requires of every matching event: what the
    /// rule index keys on. Null and booleans are left out (they match absent fields and `true`/`"true"` alike).
    func requiredValues(on path: FieldPath) -> [Scalar]? {
        func indexable(_ scalar: Scalar) -> Bool {
            !scalar.isNull && scalar.string != "true" && scalar.string != "false"
        }
        switch self {
        case .field(let field, let conditions) where field == path:
            for condition in conditions {
                switch condition {
                case .equals(let scalar) where indexable(scalar): return [scalar]
                case .oneOf(let scalars) where !scalars.isEmpty && scalars.allSatisfy(indexable): return scalars
                default: continue
                }
            }
            return nil
        case .all(let predicates):
            for predicate in predicates {
                if let values = predicate.requiredValues(on: path) { return values }
            }
            return nil
        default:
            return nil
        }
    }

    /// The `any` lists every matching event must satisfy one branch of: the predicate itself, or a member of its
    /// top-level `all` (for the index, which can file a rule under each branch).
    var topLevelAlternatives: [[Predicate]] {
        switch self {
        case .any(let branches): [branches]
        case .all(let predicates):
            predicates.compactMap { predicate in
                if case .any(let branches) = predicate { branches } else { nil }
            }
        default: []
        }
    }

    /// Every field path the predicate reads (for the index's choice of key).
    var fieldPaths: [FieldPath] {
        switch self {
        case .always: []
        case .field(let path, _): [path]
        case .all(let predicates), .any(let predicates): predicates.flatMap(\.fieldPaths)
        case .not(let predicate): predicate.fieldPaths
        }
    }
}
