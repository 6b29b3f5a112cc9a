import Foundation

/// The time an `ActionDispatcher` waits by: between retries, for a resumed retry's `notBefore`, and for the
/// `notBefore` dates it reports. Wall-clock dates, because a retry's time is stored and outlives the process.
/// Tests inject a manual clock, so retries run without waiting in real time.
public protocol DispatchClock: Sendable {
    func now() -> Date
    /// Returns at `deadline` (at once if it has passed); throws `CancellationError` if the task is cancelled first.
    func sleep(until deadline: Date) async throws
}
