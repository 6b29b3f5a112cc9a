/// Routes an event to the rules that can match it: each rule is filed under the values one top-level equality (or
/// `in` list) of its `when` requires, on the most selective field it has, or in `unindexed` if it has none.
///
/// Equality follows `Scalar.matches`: a constant that reads as a number (`486`, `"486"`, `"+6591234567"`) matches
/// any event value with the same numeric value, so it is filed by number; any other constant only matches the
/// identical string, so it is filed by string. Looking up an event's value in both tables offers every rule that
/// could match (and perhaps a few the predicate then rejects): the index is a superset, never a filter.
struct RuleIndex: Sendable {
    struct Table: Sendable {
        var path: FieldPath
        var byString: [String: [Int]] = [:]
        var byNumber: [Double: [Int]] = [:]
    }

    var tables: [Table] = []
    var unindexed: [Int] = []

    /// Fields that split events into few large groups; used only when a rule has no more selective equality.
    static let coarseFields: [FieldPath] = [
        .known(.callStatus), .known(.eventType), .known(.sessionStatus), .known(.callDirection), .known(.callType),
        .known(.namespace),
    ]

    init(rules: [Rule]) {
        for (index, rule) in rules.enumerated() {
            let selective = rule.predicate.fieldPaths.filter { !Self.coarseFields.contains($0) }
            var chosen: (FieldPath, [Scalar])?
            for path in selective + Self.coarseFields {
                if let values = rule.predicate.requiredValues(on: path) {
                    chosen = (path, values)
                    break
                }
            }
            guard let (path, scalars) = chosen else {
                unindexed.append(index)
                continue
            }
            var position = tables.firstIndex { $0.path == path }
            if position == nil {
                tables.append(Table(path: path))
                position = tables.count - 1
            }
            // Once per key: `in: [486, "486"]` must not offer the rule twice.
            for scalar in scalars {
                if let number = scalar.number ?? JSONValue.parseNumber(scalar.string) {
                    if tables[position!].byNumber[number]?.last != index {
                        tables[position!].byNumber[number, default: []].append(index)
                    }
                } else if tables[position!].byString[scalar.string]?.last != index {
                    tables[position!].byString[scalar.string, default: []].append(index)
                }
            }
        }
    }

    /// Calls `body` with each candidate rule index. No allocation.
    @inline(__always)
    func forEachCandidate(_ event: CallEvent, _ body: (Int) -> Void) {
        for table in tables {
            switch event[table.path] {
            case .string(let value):
                if let candidates = table.byString[value] {
                    for index in candidates { body(index) }
                }
                if !table.byNumber.isEmpty, let number = JSONValue.parseNumber(value),
                    let candidates = table.byNumber[number]
                {
                    for index in candidates { body(index) }
                }
            case .number(let number):
                if let candidates = table.byNumber[number] {
                    for index in candidates { body(index) }
                }
            default:
                continue
            }
        }
        for index in unindexed { body(index) }
    }
}
