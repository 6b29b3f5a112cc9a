import Foundation

/// The clock of the condition state machines: whole milliseconds since 1970, so window edges and deadlines are
/// exact integers (no floating-point drift between `t + within` and `now - within`). A `Date` is rounded to the
/// nearest millisecond; a deadline read back as a `Date` converts to the same millisecond.
enum ConditionTime {
    @inline(__always)
    static func milliseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1000).rounded())
    }

    @inline(__always)
    static func milliseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1000 + Int64((Double(attoseconds) / 1e15).rounded())
    }

    @inline(__always)
    static func date(_ milliseconds: Int64) -> Date {
        Date(timeIntervalSince1970: Double(milliseconds) / 1000)
    }
}
