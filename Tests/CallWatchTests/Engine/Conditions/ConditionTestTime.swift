import Foundation

@testable import CallWatch

/// Instants for the condition tests: seconds after a fixed origin, never the wall clock. They are on the
/// millisecond grid the conditions keep time in, built as the conditions build the instants they report, so a
/// reported deadline compares equal to the instant a test names.
enum ConditionTestTime {
    static let origin: Int64 = 1_795_514_400_000  // 2026-11-24T10:00:00Z

    static func at(_ seconds: Double) -> Date { ConditionTime.date(origin + Int64((seconds * 1000).rounded())) }
}
