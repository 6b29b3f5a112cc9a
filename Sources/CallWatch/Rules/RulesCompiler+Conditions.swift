import Yams

extension RulesCompiler {
    /// `ratio`, `aggregate`, `absent` or `gauge`: the rule's condition over time, if it has one (the first, when a
    /// rule wrongly has several; that is reported by the caller).
    mutating func compileCondition(_ entries: DiagnosingNodeReader.Entries, context: String) -> RuleCondition? {
        if let node = entries["ratio"] { return compileRatio(node, context: context) }
        if let node = entries["aggregate"] { return compileAggregate(node, context: context) }
        if let node = entries["absent"] { return compileAbsent(node, context: context) }
        if let node = entries["gauge"] { return compileGauge(node, context: context) }
        return nil
    }

    /// `for`, `keep_firing_for`, `repeat`, `send_resolved`: only condition rules take them, and those take no
    /// `cooldown`.
    mutating func compileTiming(
        _ entries: DiagnosingNodeReader.Entries,
        isCondition: Bool,
        context: String
    ) -> ConditionTiming {
        var timing = ConditionTiming()
        if isCondition, let node = entries.keyNode("cooldown") {
            let kind = RulesLoader.conditionKeys.first(where: entries.has) ?? "condition"
            reader.error(
                node,
                "'cooldown' does not apply to a \(kind) rule\(context): its alert fires once and resolves; use "
                    + "'keep_firing_for' to keep it firing through short recoveries, or 'repeat' to notify again while it fires"
            )
        }
        for key in RulesLoader.timingKeys where !isCondition {
            if let node = entries.keyNode(key) {
                reader.error(node, "'\(key)' applies only to ratio, aggregate, absent and gauge rules\(context)")
            }
        }
        guard isCondition else { return timing }
        if let node = entries["for"], let duration = reader.duration(node, what: "for", context: context) {
            timing.pending = duration
        }
        if let node = entries["keep_firing_for"],
            let duration = reader.duration(node, what: "keep_firing_for", context: context)
        {
            timing.keepFiringFor = duration
        }
        if let node = entries["repeat"], let duration = reader.duration(node, what: "repeat", context: context) {
            if duration <= .zero {
                reader.error(node, "repeat must be longer than 0\(context) (leave it out never to repeat)")
            } else {
                timing.repeatInterval = duration
            }
        }
        if let node = entries["send_resolved"], let flag = reader.bool(node, what: "send_resolved", context: context) {
            timing.sendResolved = flag
        }
        return timing
    }

    private mutating func compileRatio(_ node: Node, context: String) -> RuleCondition? {
        let keys = ["of", "within", "min_events", "below", "above"]
        guard let fields = reader.mapping(node, allowed: keys, what: "ratio", context: context) else { return nil }
        let of = required(fields, "of", in: node, kind: "ratio", context: context).flatMap {
            compilePredicate($0, context: context)
        }
        let within = window(fields, in: node, kind: "ratio", context: context)
        let minEvents = minimumEvents(fields, kind: "ratio", context: context)
        let bound = bound(fields, in: node, kind: "ratio", context: context)
        guard let of, let within, let minEvents, let bound else { return nil }
        return .ratio(of: of, within: within, minEvents: minEvents, bound: bound)
    }

    private mutating func compileAggregate(_ node: Node, context: String) -> RuleCondition? {
        let keys = ["function", "field", "within", "min_events", "below", "above"]
        guard let fields = reader.mapping(node, allowed: keys, what: "aggregate", context: context) else { return nil }
        var function: AggregateFunction?
        if let functionNode = required(fields, "function", in: node, kind: "aggregate", context: context),
            let text = reader.string(functionNode, what: "aggregate.function", context: context)
        {
            function = AggregateFunction(rawValue: text)
            if function == nil {
                let names = AggregateFunction.allCases.map(\.rawValue)
                reader.error(
                    functionNode,
                    "unknown aggregate function '\(text)'\(context)" + Suggestion.hint(for: text, in: names)
                        + " (one of \(names.joined(separator: ", ")))"
                )
            }
        }
        var field: FieldPath?
        if let fieldNode = fields["field"],
            let name = reader.string(fieldNode, what: "aggregate.field", context: context)
        {
            field = fieldPath(name, fieldNode, context: context)
        }
        var valid = function != nil
        if function == .count {
            if let fieldNode = fields.keyNode("field") {
                reader.error(fieldNode, "aggregate function 'count' counts events and takes no 'field'\(context)")
                valid = false
            }
            if let minNode = fields.keyNode("min_events") {
                reader.error(
                    minNode,
                    "'min_events' does not apply to 'count'\(context): a count is judged however few events there are"
                )
                valid = false
            }
        } else if let function, field == nil, !fields.has("field") {
            reader.error(
                node,
                "aggregate function '\(function.rawValue)' needs a 'field' (e.g. callDuration)\(context)"
            )
            valid = false
        }
        let within = window(fields, in: node, kind: "aggregate", context: context)
        let minEvents = function == .count ? 1 : minimumEvents(fields, kind: "aggregate", context: context)
        let bound = bound(fields, in: node, kind: "aggregate", context: context)
        guard valid, let function, let within, let minEvents, let bound else { return nil }
        return .aggregate(function: function, field: field, within: within, minEvents: minEvents, bound: bound)
    }

    private mutating func compileAbsent(_ node: Node, context: String) -> RuleCondition? {
        guard let fields = reader.mapping(node, allowed: ["for", "forget"], what: "absent", context: context) else {
            return nil
        }
        guard let forNode = required(fields, "for", in: node, kind: "absent", context: context),
            let duration = reader.duration(forNode, what: "absent.for", context: context)
        else { return nil }
        if duration <= .zero {
            reader.error(forNode, "absent.for must be longer than 0\(context)")
            return nil
        }
        var forget = AbsenceTracker.defaultForget
        if let forgetNode = fields["forget"] {
            guard let value = reader.duration(forgetNode, what: "absent.forget", context: context) else { return nil }
            forget = value
        }
        return .absent(for: duration, forget: forget)
    }

    private mutating func compileGauge(_ node: Node, context: String) -> RuleCondition? {
        let keys = ["open", "close", "id", "above", "below", "max_age"]
        guard let fields = reader.mapping(node, allowed: keys, what: "gauge", context: context) else { return nil }
        let open = required(fields, "open", in: node, kind: "gauge", context: context).flatMap {
            compilePredicate($0, context: context)
        }
        let close = required(fields, "close", in: node, kind: "gauge", context: context).flatMap {
            compilePredicate($0, context: context)
        }
        var id: FieldPath?
        if let idNode = required(fields, "id", in: node, kind: "gauge", context: context),
            let name = reader.string(idNode, what: "gauge.id", context: context)
        {
            id = fieldPath(name, idNode, context: context)
        }
        var maxAge = GaugeState.defaultMaxAge
        if let ageNode = fields["max_age"] {
            guard let value = reader.duration(ageNode, what: "gauge.max_age", context: context) else { return nil }
            if value <= .zero {
                reader.error(ageNode, "gauge.max_age must be longer than 0\(context)")
                return nil
            }
            maxAge = value
        }
        let bound = bound(fields, in: node, kind: "gauge", context: context)
        guard let open, let close, let id, let bound else { return nil }
        return .gauge(open: open, close: close, id: id, bound: bound, maxAge: maxAge)
    }

    private mutating func required(
        _ fields: DiagnosingNodeReader.Entries,
        _ key: String,
        in node: Node,
        kind: String,
        context: String
    ) -> Node? {
        if let value = fields[key] { return value }
        reader.error(node, "\(kind) needs '\(key)'\(context)")
        return nil
    }

    private mutating func window(
        _ fields: DiagnosingNodeReader.Entries,
        in node: Node,
        kind: String,
        context: String
    ) -> Duration? {
        guard let withinNode = required(fields, "within", in: node, kind: kind, context: context),
            let within = reader.duration(withinNode, what: "\(kind).within", context: context)
        else { return nil }
        guard within > .zero else {
            reader.error(withinNode, "\(kind).within must be longer than 0\(context)")
            return nil
        }
        return within
    }

    private mutating func minimumEvents(_ fields: DiagnosingNodeReader.Entries, kind: String, context: String) -> Int? {
        guard let node = fields["min_events"] else { return 1 }
        return reader.int(node, what: "\(kind).min_events", range: 1...10_000_000, context: context)
    }

    /// Exactly one of `below` and `above`: a number, or for a ratio a percentage (`40%`).
    private mutating func bound(
        _ fields: DiagnosingNodeReader.Entries,
        in node: Node,
        kind: String,
        context: String
    ) -> ConditionBound? {
        switch (fields["below"], fields["above"]) {
        case (nil, nil):
            reader.error(node, "\(kind) needs a bound: 'below: X' or 'above: X'\(context)")
            return nil
        case (.some, .some):
            reader.error(
                fields.keyNode("above"),
                "\(kind) takes one bound, 'below' or 'above', not both\(context) (write two rules for a band)"
            )
            return nil
        case (let below?, nil):
            return number(below, what: "\(kind).below", context: context).map(ConditionBound.below)
        case (nil, let above?):
            return number(above, what: "\(kind).above", context: context).map(ConditionBound.above)
        }
    }

    private mutating func number(_ node: Node, what: String, context: String) -> Double? {
        guard let text = reader.string(node, what: what, context: context) else { return nil }
        let plain = text.replacingOccurrences(of: "_", with: "")
        let value = plain.hasSuffix("%") ? Double(plain.dropLast()).map { $0 / 100 } : Double(plain)
        guard let value, value.isFinite else {
            reader.error(node, "\(what) must be a number (e.g. 0.4, 40% or 10)\(context)")
            return nil
        }
        return value
    }
}
