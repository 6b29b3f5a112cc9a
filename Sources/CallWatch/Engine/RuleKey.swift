/// The values of a rule's `by` fields for one event. One field (the common case) or none needs no array, so
/// looking up a key allocates nothing.
enum RuleKey: Hashable, Sendable {
    case all
    case one(String)
    case many([String])

    init(_ values: [String]) {
        switch values.count {
        case 0: self = .all
        case 1: self = .one(values[0])
        default: self = .many(values)
        }
    }

    /// The key of `event` for a rule with `by`: each field's value as text, "" when the event lacks it.
    init(_ event: CallEvent, by: [FieldPath]) {
        switch by.count {
        case 0: self = .all
        case 1: self = .one(event[by[0]]?.stringValue ?? "")
        default: self = .many(by.map { event[$0]?.stringValue ?? "" })
        }
    }

    var values: [String] {
        switch self {
        case .all: []
        case .one(let value): [value]
        case .many(let values): values
        }
    }
}
