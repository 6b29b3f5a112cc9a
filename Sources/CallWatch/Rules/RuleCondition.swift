/// What a condition rule measures per key over time (`ratio`, `aggregate`, `absent`, `gauge`): the compiled form of
/// its kind's mapping. The engine turns each into a measure with a lifecycle (`ConditionRuntime`).
public enum RuleCondition: Sendable, Equatable {
    /// (events matching `when` and `of`) / (events matching `when`) in the sliding `within`.
    case ratio(of: Predicate, within: Duration, minEvents: Int, bound: ConditionBound)
    /// `function` over the numeric values of `field` (none for `count`) in the sliding `within`.
    case aggregate(
        function: AggregateFunction,
        field: FieldPath?,
        within: Duration,
        minEvents: Int,
        bound: ConditionBound
    )
    /// No matching event for `for`; a key seen is forgotten `forget` after it resolved or if it never fired.
    case absent(for: Duration, forget: Duration)
    /// Distinct `id`s opened by `open` and not yet closed by `close` nor older than `maxAge`.
    case gauge(open: Predicate, close: Predicate, id: FieldPath, bound: ConditionBound, maxAge: Duration)

    /// The rule key naming the kind, as written in the rules file.
    public var kind: String {
        switch self {
        case .ratio: "ratio"
        case .aggregate: "aggregate"
        case .absent: "absent"
        case .gauge: "gauge"
        }
    }

    /// How far back the measure looks: what recovery must replay before the measure is whole again.
    public var span: Duration {
        switch self {
        case .ratio(_, let within, _, _), .aggregate(_, _, let within, _, _): within
        case .absent(let duration, _): duration
        case .gauge(_, _, _, _, let maxAge): maxAge
        }
    }

    /// Everything that shapes the state, for `Rule.stateSignature`.
    var signature: String {
        switch self {
        case .ratio(let of, let within, let minEvents, let bound): "ratio=\(of)/\(within)/\(minEvents)/\(bound)"
        case .aggregate(let function, let field, let within, let minEvents, let bound):
            "aggregate=\(function)/\(field?.description ?? "")/\(within)/\(minEvents)/\(bound)"
        case .absent(let duration, let forget): "absent=\(duration)/\(forget)"
        case .gauge(let open, let close, let id, let bound, let maxAge):
            "gauge=\(open)/\(close)/\(id)/\(bound)/\(maxAge)"
        }
    }
}

/// The functions of an `aggregate` condition.
public enum AggregateFunction: String, Sendable, CaseIterable {
    case count, sum, avg, min, max, p50, p90, p95, p99

    /// 50, 90, 95 or 99 for the percentiles; nil for the others.
    public var percentile: Int? {
        switch self {
        case .p50: 50
        case .p90: 90
        case .p95: 95
        case .p99: 99
        default: nil
        }
    }
}

/// How a condition rule's alert moves through inactive → pending → firing → resolved.
public struct ConditionTiming: Sendable, Equatable {
    /// How long the condition must hold before it fires.
    public var pending: Duration = .zero
    /// How long it must be false before a firing alert resolves.
    public var keepFiringFor: Duration = .zero
    /// Notify again this often while firing; nil: never.
    public var repeatInterval: Duration?
    /// Whether the rule's actions run for the resolved notification too.
    public var sendResolved = true

    public init(
        pending: Duration = .zero,
        keepFiringFor: Duration = .zero,
        repeatInterval: Duration? = nil,
        sendResolved: Bool = true
    ) {
        self.pending = pending
        self.keepFiringFor = keepFiringFor
        self.repeatInterval = repeatInterval
        self.sendResolved = sendResolved
    }
}
