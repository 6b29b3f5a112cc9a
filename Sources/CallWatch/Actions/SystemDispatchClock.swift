import Foundation

/// The system's wall clock, the dispatcher's default.
public struct SystemDispatchClock: DispatchClock {
    public init() {}

    public func now() -> Date { Date() }

    public func sleep(until deadline: Date) async throws {
        let delay = deadline.timeIntervalSinceNow
        guard delay > 0 else { return }
        try await Task.sleep(for: .seconds(delay))
    }
}
