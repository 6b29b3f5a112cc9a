import Foundation

/// Durations (`250ms`, `30s`, `5m`, `2h`, `7d`, sums like `1h30m`) and sizes (`65536`, `64KiB`, `1MiB`).
public enum Units {
    public static func duration(_ text: String) -> Duration? {
        var milliseconds: Int64 = 0
        var rest = Substring(text.trimmingCharacters(in: .whitespaces))
        guard !rest.isEmpty else { return nil }
        if rest == "0" { return .zero }
        while !rest.isEmpty {
            let digits = rest.prefix { $0.isASCII && $0.isNumber }
            guard !digits.isEmpty, digits.count < 12, let value = Int64(digits) else { return nil }
            rest = rest.dropFirst(digits.count)
            let unit = rest.prefix { $0.isASCII && $0.isLetter }
            rest = rest.dropFirst(unit.count)
            let scale: Int64
            switch unit {
            case "ms": scale = 1
            case "s": scale = 1000
            case "m": scale = 60000
            case "h": scale = 3_600_000
            case "d": scale = 86_400_000
            default: return nil
            }
            // Absurd sums (`99999999999d99999999999d`) are invalid, not an overflow trap.
            let (product, overflowed) = value.multipliedReportingOverflow(by: scale)
            let (sum, overflowedSum) = milliseconds.addingReportingOverflow(product)
            guard !overflowed, !overflowedSum else { return nil }
            milliseconds = sum
        }
        return .milliseconds(milliseconds)
    }

    public static func size(_ text: String) -> Int? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let digits = trimmed.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, let value = Int(digits) else { return nil }
        let scale: Int
        switch trimmed.dropFirst(digits.count).trimmingCharacters(in: .whitespaces) {
        case "", "B": scale = 1
        case "KiB": scale = 1024
        case "MiB": scale = 1024 * 1024
        default: return nil
        }
        let (size, overflowed) = value.multipliedReportingOverflow(by: scale)
        return overflowed ? nil : size
    }
}

extension Duration {
    /// Seconds as a Double, for arithmetic with `Date`.
    public var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
