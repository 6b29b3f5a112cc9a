import Foundation
import Testing

@testable import CallWatch

extension Actions {
    /// Retries wait by the dispatcher's injected clock: on a manual clock, a schedule of many seconds runs in no
    /// real time, against a real HTTP sink.
    @Suite struct RetryScheduleTests {
        @Test func httpRetriesWaitOnTheClockForThePolicysDelays() async throws {
            let clock = ManualDispatchClock()
            let start = clock.now()
            let realStart = ContinuousClock.now
            try await HTTPSink.withSink(responses: [.status(503), .status(503), .status(200)]) { sink in
                let alert = try ActionFixture.alert()
                let actions = try ActionFixture.actions("- http: {url: \"\(sink.url())\", retries: 5}")
                let collected = try await withDispatcher(backoffBase: .seconds(10), jitter: 1, clock: clock) {
                    dispatcher,
                    outcomes in
                    dispatcher.submit(alert, actions: actions)
                    // The first attempt got a 503: a retry is due one backoff base (10 s) later.
                    try await clock.waitForSleepers(1)
                    #expect(sink.requests.count == 1)
                    #expect(outcomes.retries.map(\.notBefore) == [start + 10])
                    #expect(clock.deadlines == [start + 10])
                    clock.advance(by: .milliseconds(9_999))
                    #expect(clock.deadlines == [start + 10], "the retry ran before its time")
                    clock.advance(to: start + 10)
                    // The second attempt got a 503 too: the delay doubles.
                    try await clock.waitForSleepers(1)
                    #expect(sink.requests.count == 2)
                    #expect(outcomes.retries.map(\.notBefore) == [start + 10, start + 30])
                    #expect(clock.deadlines == [start + 30])
                    clock.advance(to: start + 30)
                    _ = try await outcomes.wait(for: 1)
                    return outcomes
                }
                let outcome = try #require(collected.final.first)
                #expect(outcome.status == .success)
                #expect(outcome.attempts == 3)
                #expect(collected.retries.map(\.status) == [.pending, .pending])
                #expect(collected.retries.map(\.attempts) == [1, 2])
                #expect(collected.retries.map(\.reason) == ["HTTP 503", "HTTP 503"])
                let requests = sink.requests
                #expect(requests.count == 3)
                #expect(requests.allSatisfy { $0.headerValues("Idempotency-Key") == [alert.id] })
            }
            // 30 s of backoff on the manual clock; far less than the first 10 s in real time.
            let elapsed = ContinuousClock.now - realStart
            #expect(elapsed < .seconds(10), "took \(elapsed)")
        }

        /// An action resumed after a restart waits on the clock for its `notBefore`, holding no permit.
        @Test func resumedRetryWaitsOnTheClockForItsNotBefore() async throws {
            let clock = ManualDispatchClock()
            let due = clock.now() + 3600
            try await HTTPSink.withSink { sink in
                let alert = try ActionFixture.alert()
                let action = try #require(
                    try ActionFixture.actions("- http: {url: \"\(sink.url())\", retries: 5}").first
                )
                let collected = try await withDispatcher(httpConcurrency: 1, clock: clock) { dispatcher, outcomes in
                    dispatcher.submit(
                        PendingAction(alert: alert, actionIndex: 0, action: action, attempts: 2, notBefore: due)
                    )
                    try await clock.waitForSleepers(1)
                    #expect(clock.deadlines == [due])
                    // It holds no permit while it waits: a new action runs meanwhile on the only one.
                    dispatcher.submit(try ActionFixture.alert(), actions: [action])
                    _ = try await outcomes.wait(for: 1)
                    #expect(sink.requests.count == 1)
                    clock.advance(to: due)
                    _ = try await outcomes.wait(for: 2)
                    return outcomes
                }
                let resumed = try #require(collected.final.first { $0.alertID == alert.id })
                #expect(resumed.status == .success)
                #expect(resumed.attempts == 3)
                #expect(sink.requests.count == 2)
                #expect(sink.requests.last?.headerValues("Idempotency-Key") == [alert.id])
            }
        }
    }
}
