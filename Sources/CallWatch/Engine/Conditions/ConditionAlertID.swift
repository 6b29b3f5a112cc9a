import Foundation

/// The id of a condition's alert, derived from rule, key, status and the instant it began firing, so replay and
/// recovery give the same ids: its fire and each repeat share one id, its resolution has another.
public enum ConditionAlertID {
    /// `key` holds the rule's `by` values in order (empty without `by`). FNV-1a as `Alert.makeID`, over the rule,
    /// the key and `status` with `startsAt` in whole milliseconds since 1970, printed in UUID form.
    public static func make(rule: String, key: [String], status: AlertStatus, startsAt: Date) -> String {
        Alert.makeID(
            rule: rule,
            key: key.joined(separator: "\u{1}"),
            eventIdentity: "\(status.rawValue)\u{0}\(ConditionTime.milliseconds(startsAt))"
        )
    }
}
