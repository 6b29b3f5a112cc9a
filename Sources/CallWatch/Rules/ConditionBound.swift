/// A condition's threshold, `below: X` or `above: X`. Strict: `below: 0.4` holds at 0.39, not at 0.4; NaN holds
/// neither.
public enum ConditionBound: Sendable, Hashable {
    case below(Double)
    case above(Double)

    public func holds(_ value: Double) -> Bool {
        switch self {
        case .below(let bound): value < bound
        case .above(let bound): value > bound
        }
    }

    /// Whether `value` holds; no value (a measure below its `min_events`) never does.
    public func holds(_ value: Double?) -> Bool {
        value.map(holds) ?? false
    }
}
