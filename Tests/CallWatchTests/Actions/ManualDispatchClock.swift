import CallWatchTestSupport
import Foundation
import Synchronization

@testable import CallWatch

/// A `DispatchClock` that moves only when the test says: `advance(to:)` and `advance(by:)` resume, in deadline
/// order, every sleeper whose deadline has passed, before they return. `waitForSleepers(_:)` waits until the
/// dispatcher is sleeping on it, so a test knows a retry is scheduled.
final class ManualDispatchClock: DispatchClock {
    private struct Sleeper {
        var id: Int
        var deadline: Date
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now: Date
        var nextID = 0
        var sleepers: [Sleeper] = []
        /// Sleepers cancelled before they were registered.
        var cancelled: Set<Int> = []
    }

    private let state: Mutex<State>

    init(now: Date = Date(timeIntervalSince1970: 1_800_000_000)) {
        state = Mutex(State(now: now))
    }

    func now() -> Date { state.withLock { $0.now } }

    /// The deadlines of the tasks sleeping now, earliest first.
    var deadlines: [Date] { state.withLock { $0.sleepers.map(\.deadline).sorted() } }

    func sleep(until deadline: Date) async throws {
        let id = state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let resumeNow = state.withLock { state -> Result<Void, any Error>? in
                    if state.cancelled.remove(id) != nil { return .failure(CancellationError()) }
                    if deadline <= state.now { return .success(()) }
                    state.sleepers.append(Sleeper(id: id, deadline: deadline, continuation: continuation))
                    return nil
                }
                if let resumeNow { continuation.resume(with: resumeNow) }
            }
        } onCancel: {
            let sleeper = state.withLock { state -> Sleeper? in
                guard let index = state.sleepers.firstIndex(where: { $0.id == id }) else {
                    state.cancelled.insert(id)
                    return nil
                }
                return state.sleepers.remove(at: index)
            }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Sets the time to `date` (never backwards) and resumes the sleepers due by then.
    func advance(to date: Date) {
        let due = state.withLock { state -> [Sleeper] in
            state.now = max(state.now, date)
            let now = state.now
            let due = state.sleepers.filter { $0.deadline <= now }.sorted { $0.deadline < $1.deadline }
            state.sleepers.removeAll { $0.deadline <= now }
            return due
        }
        for sleeper in due { sleeper.continuation.resume() }
    }

    func advance(by duration: Duration) {
        advance(to: now().addingTimeInterval(duration.seconds))
    }

    /// Waits until at least `count` tasks sleep on this clock; throws if `timeout` (real time) passes first.
    func waitForSleepers(_ count: Int, timeout: Duration = .seconds(10)) async throws {
        try await waitUntil("\(count) sleeper(s) on the manual clock", timeout: timeout, poll: .milliseconds(1)) {
            state.withLock { $0.sleepers.count } >= count
        }
    }
}
