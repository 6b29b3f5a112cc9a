/// A JSON value as received: object members keep their order so that a payload is written back as it came.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    /// The value as a string for string comparisons; numbers in their shortest form (`486`, `1.5`).
    public var stringValue: String? {
        switch self {
        case .string(let string): return string
        case .number(let number): return JSONValue.format(number)
        case .bool(let bool): return bool ? "true" : "false"
        case .null, .array, .object: return nil
        }
    }

    /// The value as a number: a JSON number or a numeric string (8x8 sends both).
    @inlinable
    public var numberValue: Double? {
        switch self {
        case .number(let number): return number
        case .string(let string): return JSONValue.parseNumber(string)
        default: return nil
        }
    }

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    public var objectValue: JSONObject? {
        if case .object(let object) = self { return object }
        return nil
    }

    /// Parses a numeric string leniently (surrounding blanks allowed); nil when not a finite number.
    @inlinable
    public static func parseNumber(_ string: String) -> Double? {
        guard !string.isEmpty else { return nil }
        if let number = Double(string), number.isFinite { return number }
        var trimmed = Substring(string)
        while let first = trimmed.first, first == " " { trimmed.removeFirst() }
        while let last = trimmed.last, last == " " { trimmed.removeLast() }
        guard !trimmed.isEmpty, trimmed.count != string.count, let number = Double(trimmed), number.isFinite else {
            return nil
        }
        return number
    }

    /// Formats a number the way it most likely arrived: integers without a fraction.
    public static func format(_ number: Double) -> String {
        if number.rounded() == number, abs(number) < 1e15 {
            return String(Int64(number))
        }
        return String(number)
    }
}

/// A JSON object that keeps member order. Lookup is linear: objects here are small (an 8x8 payload has ~20 members)
/// and the hot fields are read from `CallEvent`'s slots instead.
public struct JSONObject: Sendable, Equatable {
    public var members: [(key: String, value: JSONValue)]

    public init(_ members: [(key: String, value: JSONValue)] = []) {
        self.members = members
    }

    public subscript(key: String) -> JSONValue? {
        get {
            for member in members where member.key == key { return member.value }
            return nil
        }
        set {
            if let index = members.firstIndex(where: { $0.key == key }) {
                if let newValue { members[index].value = newValue } else { members.remove(at: index) }
            } else if let newValue {
                members.append((key, newValue))
            }
        }
    }

    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        lhs.members.count == rhs.members.count
            && zip(lhs.members, rhs.members).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }
}
