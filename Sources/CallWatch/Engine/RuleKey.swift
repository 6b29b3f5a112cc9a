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

    var values: [String] {
        switch self {
        case .all: []
        case .one(let value): [value]
        case .many(let values): values
        }
    }
}
