import Foundation

/// The id of a condition's alert, derived from rule, key, status and the instant it began firing, so replay and
/// recovery give the same ids: its fire and each repeat share one id, its resolution has another.
public enum ConditionAlertID {
    /// `key` holds the rule's `by` values in order (empty without `by`). FNV-1a as `Alert.makeID`, over the rule,
    /// the key and `status` with `startsAt` in whole milliseconds since 1970, printed in UUID form.
    ///
    /// The same digest and text as `Alert.makeID(rule:key:eventIdentity:)` with the key's values joined by U+0001
    /// and `eventIdentity` = status, U+0000, milliseconds; hashed piece by piece and written as bytes, because a tick
    /// that fires many keys makes one per key (building the joined strings and slicing `Character`s took half of
    /// such a tick).
    public static func make(rule: String, key: [String], status: AlertStatus, startsAt: Date) -> String {
        var hasher = FNV1a128()
        hasher.combine(rule.utf8)
        hasher.combine(CollectionOfOne(0))
        for (position, value) in key.enumerated() {
            if position > 0 { hasher.combine(CollectionOfOne(1)) }
            hasher.combine(value.utf8)
        }
        hasher.combine(CollectionOfOne(0))
        hasher.combine(status.rawValue.utf8)
        hasher.combine(CollectionOfOne(0))
        hasher.combine(String(ConditionTime.milliseconds(startsAt)).utf8)
        return uuidForm(hasher.hex)
    }

    /// 32 hex digits as 8-4-4-4-12.
    static func uuidForm(_ hex: String) -> String {
        var hex = hex
        return hex.withUTF8 { digits in
            String(unsafeUninitializedCapacity: digits.count + 4) { text in
                var written = 0
                for (index, digit) in digits.enumerated() {
                    if index == 8 || index == 12 || index == 16 || index == 20 {
                        text[written] = UInt8(ascii: "-")
                        written += 1
                    }
                    text[written] = digit
                    written += 1
                }
                return written
            }
        }
    }
}
