/// Routes an event to the rules that can match it. Each rule is filed under the values one top-level equality (or
/// `in` list) of its `when` requires, on the most selective field it has, or in `unindexed` if it has none. A key
/// shared by many rules (a sub-account, a country) gets an index of its own over the rules' other equalities, so an
/// event meets only the rules whose every indexed equality it satisfies. A rule whose `when` is an `any` of
/// branches that can each be filed is filed once per branch, so it can be offered more than once: callers
/// de-duplicate (`Engine` does).
///
/// Equality follows `Scalar.matches`: a constant that reads as a number (`486`, `"486"`, `"+6591234567"`) matches
/// any event value with the same numeric value, so it is filed by number; any other constant only matches the
/// identical string, so it is filed by string. Looking up an event's value in both tables offers every rule that
/// could match (and perhaps a few the predicate then rejects): the index is a superset, never a filter.
struct RuleIndex: Sendable {
    /// One field's lookup tables; the values are positions in `buckets`. A table of a few strings (statuses, event
    /// types) or numbers is also kept as a list: comparing a handful of keys is cheaper than hashing one.
    struct Table: Sendable {
        var path: FieldPath
        var byString: [String: Int] = [:]
        var byNumber: [Double: Int] = [:]
        var fewStrings: [(key: String, bucket: Int)]? = nil
        var fewNumbers: [(key: Double, bucket: Int)]? = nil

        static let fewKeysLimit = 4

        func bucket(forString value: String) -> Int? {
            guard let fewStrings else { return byString[value] }
            for entry in fewStrings where entry.key == value { return entry.bucket }
            return nil
        }

        func bucket(forNumber value: Double) -> Int? {
            guard let fewNumbers else { return byNumber[value] }
            for entry in fewNumbers where entry.key == value { return entry.bucket }
            return nil
        }
    }

    /// One level of the index: its tables and the rules it could not file (ranges of `tables` and `ruleIDs`).
    struct Level: Sendable {
        var tables: Range<Int>
        var unindexed: Range<Int>
    }

    /// The rules under one key (a range of `ruleIDs`) or, when `level` is not nil, the level that tells them apart.
    struct Bucket: Sendable {
        var rules: Range<Int>
        var level: Int?
    }

    /// The index as flat arrays, so looking up an event's candidates copies no collections. `levels[0]` is the root.
    var levels: [Level] = []
    var tables: [Table] = []
    var buckets: [Bucket] = []
    var ruleIDs: [Int] = []

    /// Rules every event meets.
    var unindexed: ArraySlice<Int> { ruleIDs[levels[0].unindexed] }

    init(rules: [Rule]) {
        let tree = Tree(
            entries: rules.enumerated().map { Tree.Entry(rule: $0.offset, predicate: $0.element.predicate) },
            used: []
        )
        _ = append(tree)
    }

    /// Appends `tree` as a level (its tables contiguous, then its buckets' levels); returns the level's position.
    private mutating func append(_ tree: Tree) -> Int {
        let position = levels.count
        let unindexedStart = ruleIDs.count
        ruleIDs += tree.unindexed
        let firstTable = tables.count
        levels.append(
            Level(tables: firstTable..<firstTable + tree.tables.count, unindexed: unindexedStart..<ruleIDs.count)
        )
        tables += tree.tables.map { Table(path: $0.path) }
        for (offset, table) in tree.tables.enumerated() {
            for (key, bucket) in table.byString { tables[firstTable + offset].byString[key] = append(bucket) }
            for (key, bucket) in table.byNumber { tables[firstTable + offset].byNumber[key] = append(bucket) }
            let strings = tables[firstTable + offset].byString
            if strings.count <= Table.fewKeysLimit {
                tables[firstTable + offset].fewStrings = strings.map { (key: $0.key, bucket: $0.value) }
            }
            let numbers = tables[firstTable + offset].byNumber
            if numbers.count <= Table.fewKeysLimit {
                tables[firstTable + offset].fewNumbers = numbers.map { (key: $0.key, bucket: $0.value) }
            }
        }
        return position
    }

    private mutating func append(_ bucket: Tree.Bucket) -> Int {
        let start = ruleIDs.count
        ruleIDs += bucket.rules
        let level = bucket.nested.first.map { append($0) }
        buckets.append(Bucket(rules: start..<start + bucket.rules.count, level: level))
        return buckets.count - 1
    }

    /// Appends each candidate rule index to `candidates` (a rule filed by several `any` branches may come more than
    /// once). Allocates nothing once `candidates` has grown to its working size.
    func collectCandidates(_ event: CallEvent, into candidates: inout [Int]) {
        collect(level: 0, event, into: &candidates)
    }

    private func collect(level position: Int, _ event: CallEvent, into candidates: inout [Int]) {
        let level = levels[position]
        for table in level.tables {
            event.withValue(at: tables[table].path) { (value: borrowing JSONValue?) in
                lookUp(table, value, event, into: &candidates)
            }
        }
        for position in level.unindexed { candidates.append(ruleIDs[position]) }
    }

    /// Offers the rules `table` files under the event's `value` (lent, not copied: no retain per lookup).
    @inline(__always)
    private func lookUp(_ table: Int, _ value: borrowing JSONValue?, _ event: CallEvent, into candidates: inout [Int]) {
        switch value {
        case .string(let value):
            if let bucket = tables[table].bucket(forString: value) {
                collect(bucket: bucket, event, into: &candidates)
            }
            if !tables[table].byNumber.isEmpty, let number = JSONValue.parseNumber(value),
                let bucket = tables[table].bucket(forNumber: number)
            {
                collect(bucket: bucket, event, into: &candidates)
            }
        case .number(let number):
            if let bucket = tables[table].bucket(forNumber: number) {
                collect(bucket: bucket, event, into: &candidates)
            }
        default:
            return
        }
    }

    private func collect(bucket position: Int, _ event: CallEvent, into candidates: inout [Int]) {
        let bucket = buckets[position]
        if let level = bucket.level {
            collect(level: level, event, into: &candidates)
        } else {
            for position in bucket.rules { candidates.append(ruleIDs[position]) }
        }
    }
}

/// The index as a tree, while it is built.
private struct Tree {
    struct Table {
        var path: FieldPath
        var byString: [String: Bucket] = [:]
        var byNumber: [Double: Bucket] = [:]
    }

    /// The rules filed under one key: a list, or (when the list was long and the rules have further equalities) an
    /// index of its own over those.
    struct Bucket: Sendable {
        var rules: [Int] = []
        var nested: [Tree] = []  // empty, or the one nested index
    }

    /// One rule as the index sees it: its position and the predicate (or `any` branch) it is filed by.
    struct Entry: Equatable {
        var rule: Int
        var predicate: Predicate
    }

    var tables: [Table] = []
    var unindexed: [Int] = []

    /// Fields that split events into few large groups; used only when a rule has no more selective equality.
    static let coarseFields: [FieldPath] = [
        .known(.callStatus), .known(.eventType), .known(.sessionStatus), .known(.callDirection), .known(.callType),
        .known(.namespace),
    ]

    /// A bucket with more rules than this gets a nested index.
    static let nestingThreshold = 2

    /// Indexes `entries` on fields other than `used` (the keys of the enclosing levels).
    init(entries: [Entry], used: [FieldPath]) {
        var filed: [[String: [Entry]]] = []
        var filedByNumber: [[Double: [Entry]]] = []
        for entry in entries {
            guard let filings = Self.filings(for: entry.predicate, excluding: used) else {
                if unindexed.last != entry.rule { unindexed.append(entry.rule) }
                continue
            }
            for filing in filings {
                var position = tables.firstIndex { $0.path == filing.path }
                if position == nil {
                    tables.append(Table(path: filing.path))
                    filed.append([:])
                    filedByNumber.append([:])
                    position = tables.count - 1
                }
                let branch = Entry(rule: entry.rule, predicate: filing.predicate)
                // Once per key and branch: `in: [486, "486"]` must not offer the rule twice, but two `any` branches
                // under one key both stay, so a nested level indexes each of them.
                for scalar in filing.values {
                    if let number = scalar.number ?? JSONValue.parseNumber(scalar.string) {
                        if filedByNumber[position!][number]?.last != branch {
                            filedByNumber[position!][number, default: []].append(branch)
                        }
                    } else if filed[position!][scalar.string]?.last != branch {
                        filed[position!][scalar.string, default: []].append(branch)
                    }
                }
            }
        }
        for position in tables.indices {
            let keyUsed = used + [tables[position].path]
            tables[position].byString = filed[position].mapValues { Self.bucket($0, used: keyUsed) }
            tables[position].byNumber = filedByNumber[position].mapValues { Self.bucket($0, used: keyUsed) }
        }
    }

    static func bucket(_ entries: [Entry], used: [FieldPath]) -> Bucket {
        var bucket = Bucket(rules: entries.map(\.rule))
        guard entries.count > nestingThreshold else { return bucket }
        let nested = Tree(entries: entries, used: used)
        // Only worth a level if it tells some rules apart.
        if nested.unindexed.count < entries.count { bucket.nested = [nested] }
        return bucket
    }

    /// Where a predicate can be filed: under the values one of its top-level equalities requires, or (for an `any`
    /// whose every branch can be filed) under each branch's. Nil when it cannot be filed.
    static func filings(
        for predicate: Predicate,
        excluding used: [FieldPath]
    ) -> [(path: FieldPath, values: [Scalar], predicate: Predicate)]? {
        let paths = predicate.fieldPaths.filter { !used.contains($0) }
        let selective = paths.filter { !coarseFields.contains($0) }
        for path in selective + coarseFields where !used.contains(path) {
            if let values = predicate.requiredValues(on: path) { return [(path, values, predicate)] }
        }
        alternatives: for branches in predicate.topLevelAlternatives {
            var filings: [(path: FieldPath, values: [Scalar], predicate: Predicate)] = []
            for branch in branches {
                guard let branchFilings = Self.filings(for: branch, excluding: used) else { continue alternatives }
                filings += branchFilings
            }
            if !filings.isEmpty { return filings }
        }
        return nil
    }
}
