/// Whether an alert reports a condition that began (`firing`, also each `repeat`) or one that stopped (`resolved`).
/// Rules without a condition over time always fire.
public enum AlertStatus: String, Sendable, Hashable, CaseIterable {
    case firing
    case resolved
}
