import CallWatchTestSupport
import Foundation
import GRDB
import MetricsTestKit
import Synchronization
import Testing

@testable import CallWatch

/// Reloads between rule sets of different sizes and orders while several threads submit events, as fast as the
/// writer takes them. When a reload swapped the engine and the metric handles under two locks, a batch could index
/// one with the other's rule numbers: the process trapped, or a match was credited to the wrong rule.
@Suite struct ReloadStressTests {
    @Test func reloadsUnderLoadKeepTheProcessUpAndCreditEveryMetricToItsRule() async throws {
        try await withTemporaryDirectory(prefix: "callwatch-stress") { directory in
            let path = directory + "/cw.db"
            let sets = [
                try PipelineFixture.rules(["a"]),
                try PipelineFixture.rules(["c", "b", "a"]),
                try PipelineFixture.rules(["a", "b", "c"]),
                try PipelineFixture.rules(["b", "a"]),
            ]
            let tags = ["a", "b", "c"]
            let metrics = TestMetrics()
            let sent = Mutex<[String: Int]>([:])
            let answered = Atomic<Int>(0)
            let failed = Atomic<Int>(0)
            var reloads = 0
            try await StoreFixture.withPipeline(sets[0], path: path, metrics: metrics) { pipeline in
                // A fixed amount of work rather than a deadline: on a busy machine the senders may start late.
                let sending = StoreFixture.Box(4)
                let senders = (0..<4).map { sender in
                    Thread.detachedSender(name: "stress-\(sender)") {
                        var number = 0
                        var counts: [String: Int] = [:]
                        for _ in 0..<60 {
                            // A burst, then wait for its answers: the queue stays full without growing unbounded.
                            let burst = 64
                            let done = DispatchSemaphore(value: 0)
                            let remaining = Atomic<Int>(burst)
                            for _ in 0..<burst {
                                let tag = tags[number % tags.count]
                                let bytes = PipelineFixture.body("s\(sender)-\(number)", tag: tag)
                                number += 1
                                counts[tag, default: 0] += 1
                                let event = try! CallEvent.decode(String(decoding: bytes, as: UTF8.self))
                                pipeline.submit(event, body: bytes) { result in
                                    if case .failure = result { failed.add(1, ordering: .relaxed) }
                                    answered.add(1, ordering: .relaxed)
                                    if remaining.subtract(1, ordering: .relaxed).newValue == 0 { done.signal() }
                                }
                            }
                            done.wait()
                        }
                        sent.withLock { total in total.merge(counts, uniquingKeysWith: +) }
                        sending.update { $0 -= 1 }
                    }
                }
                // Several reloaders, so reloads land between many batches, not only after each full queue.
                reloads = await withTaskGroup(of: Int.self) { group in
                    for reloader in 0..<4 {
                        group.addTask {
                            var count = 0
                            repeat {
                                count += 1
                                #expect(await pipeline.reload(sets[(count + reloader) % sets.count]))
                            } while sending.value > 0
                            return count
                        }
                    }
                    return await group.reduce(0, +)
                }
                for sender in senders { await sender.value }
                // End on a set holding every rule, so the store can be compared with every counter.
                #expect(await pipeline.reload(sets[2]))
            }
            let sentByTag = sent.withLock { $0 }
            let total = sentByTag.values.reduce(0, +)
            #expect(answered.load(ordering: .relaxed) == total)
            #expect(failed.load(ordering: .relaxed) == 0)
            #expect(total == 4 * 60 * 64)
            print("reload stress: \(total) events, \(reloads) reloads")

            // tag-a is in every set: it matched every a-event, and only those.
            #expect(PipelineFixture.matches(metrics, "tag-a") == Int64(sentByTag["a"] ?? 0))
            let alertsByRule = try await DatabaseQueue(path: path).read { db in
                try Row.fetchAll(db, sql: "SELECT rule, COUNT(*) FROM alerts GROUP BY rule").reduce(into: [:]) {
                    (counts: inout [String: Int], row: Row) in counts[row[0]] = row[1]
                }
            }
            for tag in tags {
                let rule = "tag-\(tag)"
                let matched = PipelineFixture.matches(metrics, rule)
                #expect(matched <= Int64(sentByTag[tag] ?? 0), "\(rule) matched more events than carried its tag")
                // No window: every match fires; each fire is an alert the store recorded under that rule.
                #expect(PipelineFixture.fired(metrics, rule) == matched)
                #expect(Int64(alertsByRule[rule] ?? 0) == matched, "\(rule): store \(alertsByRule[rule] ?? 0)")
            }
        }
    }
}

extension Thread {
    /// Runs `body` on a new thread (a sender that blocks, off Swift's cooperative pool); the task ends with it.
    static func detachedSender(name: String, _ body: @escaping @Sendable () -> Void) -> Task<Void, Never> {
        Task {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                Thread.detachNewThread {
                    Thread.current.name = name
                    body()
                    continuation.resume()
                }
            }
        }
    }
}
