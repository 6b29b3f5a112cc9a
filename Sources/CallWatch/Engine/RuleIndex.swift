/// Routes an event to the rules that can match it: each rule is filed under one top-level string equality its
/// `when` requires (the most selective field it has), or in `unindexed` if it has none.
struct RuleIndex: Sendable {
    var tables: [(path: FieldPath, rules: [String: [Int]])] = []
    var unindexed: [Int] = []

    /// Fields that split events into few large groups; used only when a rule has no more selective equality.
    static let coarseFields: [FieldPath] = [
        .known(.callStatus), .known(.eventType), .known(.sessionStatus), .known(.callDirection), .known(.callType),
        .known(.namespace),
    ]

    init(rules: [Rule]) {
        var tables: [FieldPath: [String: [Int]]] = [:]
        var order: [FieldPath] = []
        for (index, rule) in rules.enumerated() {
            let selective = rule.predicate.fieldPaths.filter { !Self.coarseFields.contains($0) }
            var chosen: (FieldPath, String)?
            for path in selective + Self.coarseFields {
                if let value = rule.predicate.requiredEquality(on: path) {
                    chosen = (path, value)
                    break
                }
            }
            guard let (path, value) = chosen else {
                unindexed.append(index)
                continue
            }
            if tables[path] == nil { order.append(path) }
            tables[path, default: [:]][value, default: []].append(index)
        }
        self.tables = order.map { ($0, tables[$0]!) }
    }

    /// Calls `body` with each candidate rule index. No allocation.
    @inline(__always)
    func forEachCandidate(_ event: CallEvent, _ body: (Int) -> Void) {
        for table in tables {
            guard case .string(let value) = event[table.path], let candidates = table.rules[value] else { continue }
            for index in candidates { body(index) }
        }
        for index in unindexed { body(index) }
    }
}
