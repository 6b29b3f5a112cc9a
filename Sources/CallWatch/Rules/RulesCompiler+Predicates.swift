import Yams

extension RulesCompiler {
    /// `when`: a map of field → condition (all must hold), with `all`, `any`, `not` to any depth.
    mutating func compilePredicate(_ node: Node, context: String) -> Predicate? {
        guard let entries = reader.mapping(node, allowed: nil, what: "a predicate", context: context) else {
            return nil
        }
        var parts: [Predicate] = []
        for (key, keyNode, value) in entries.entries {
            switch key {
            case "all", "any":
                guard let list = value.sequence else {
                    reader.error(value, "'\(key)' takes a list of predicates\(context)")
                    continue
                }
                let children = list.compactMap { compilePredicate($0, context: context) }
                parts.append(key == "all" ? .all(children) : .any(children))
            case "not":
                if let child = compilePredicate(value, context: context) { parts.append(.not(child)) }
            default:
                let path = fieldPath(key, keyNode, context: context)
                if let conditions = compileConditions(value, field: key, context: context) {
                    parts.append(.field(path, conditions))
                }
            }
        }
        return parts.count == 1 ? parts[0] : .all(parts)
    }

    mutating func compileConditions(_ node: Node, field: String, context: String) -> [Condition]? {
        if node.scalar != nil {
            guard let scalar = reader.scalar(node, what: "the value of '\(field)'", context: context) else {
                return nil
            }
            checkEquality(scalar, node, field: field, context: context)
            return [.equals(scalar)]
        }
        guard node.mapping != nil else {
            reader.error(node, "a condition is a value or a map of operators; for a list use {in: [...]}\(context)")
            return nil
        }
        guard
            let entries = reader.mapping(
                node,
                allowed: RulesLoader.operators,
                what: "the condition on '\(field)'",
                context: context
            )
        else { return nil }
        var conditions: [Condition] = []
        for (op, _, value) in entries.entries {
            let what = "'\(op)' on '\(field)'"
            switch op {
            case "eq", "ne":
                guard let scalar = reader.scalar(value, what: what, context: context) else { continue }
                checkEquality(scalar, value, field: field, context: context)
                conditions.append(op == "eq" ? .equals(scalar) : .notEquals(scalar))
            case "lt", "lte", "gt", "gte":
                guard let scalar = reader.scalar(value, what: what, context: context) else { continue }
                guard let bound = scalar.number ?? JSONValue.parseNumber(scalar.string) else {
                    reader.error(value, "\(what) needs a number, not '\(scalar.string)'\(context)")
                    continue
                }
                switch op {
                case "lt": conditions.append(.lessThan(bound))
                case "lte": conditions.append(.lessThanOrEqual(bound))
                case "gt": conditions.append(.greaterThan(bound))
                default: conditions.append(.greaterThanOrEqual(bound))
                }
            case "in", "not_in":
                guard let list = value.sequence else {
                    reader.error(value, "\(what) takes a list of values\(context)")
                    continue
                }
                var scalars: [Scalar] = []
                for element in list {
                    guard let scalar = reader.scalar(element, what: what, context: context) else { continue }
                    checkEquality(scalar, element, field: field, context: context)
                    scalars.append(scalar)
                }
                conditions.append(op == "in" ? .oneOf(scalars) : .noneOf(scalars))
            case "regex":
                guard let pattern = reader.string(value, what: what, context: context),
                    let regex = compileRegex(pattern, value, context: context)
                else { continue }
                conditions.append(.regex(regex))
            case "prefix", "suffix", "contains":
                guard let text = reader.string(value, what: what, context: context) else { continue }
                conditions.append(op == "prefix" ? .prefix(text) : op == "suffix" ? .suffix(text) : .contains(text))
            default:
                guard let flag = reader.bool(value, what: what, context: context) else { continue }
                conditions.append(.exists(flag))
            }
        }
        if conditions.isEmpty, entries.entries.isEmpty {
            reader.error(node, "the condition on '\(field)' has no operator\(context)")
        }
        return conditions
    }
}
