import CallWatchTestSupport
import Foundation
import MetricsTestKit
import Testing

@testable import CallWatch

/// Each stage of a batch driven alone, and the writer's message handling driven without its thread: no sockets,
/// real SQLite files.
@Suite struct BatchStagesTests {
    @Test func insertSaysWhichEntriesAreNewAndFreshKeepsOnlyThose() async throws {
        try await withTemporaryDirectory(prefix: "callwatch-stages") { directory in
            let store = try SQLiteStore(path: directory + "/cw.db")
            let entries = try ["a", "b", "a"].map { try PipelineFixture.entry($0, tag: "x") }
            let inserted = try store.write { try BatchStages.insert(entries, into: $0) }
            #expect(inserted == [true, true, false])
            #expect(
                BatchStages.fresh(entries, inserted: inserted).map(\.identity) == ["CALL_STATUS:a", "CALL_STATUS:b"]
            )
            let again = try store.write { try BatchStages.insert([try PipelineFixture.entry("b", tag: "x")], into: $0) }
            #expect(again == [false])
            #expect(try store.write { try BatchStages.insert([], into: $0) } == [])
        }
    }

    @Test func evaluateCreditsEachRuleAndReturnsTheAlertsWithTheirActions() throws {
        let rules = try PipelineFixture.rules(["x", "y"], window: true, cooldown: "1h")
        var engine = Engine(ruleSet: rules)
        let metrics = TestMetrics()
        let ruleMetrics = RuleMetrics(rules: rules.rules, factory: metrics)
        let entries = try [("1", "x"), ("2", "y"), ("3", "x"), ("4", "x"), ("5", "x")].map {
            try PipelineFixture.entry($0.0, tag: $0.1)
        }
        let fired = BatchStages.evaluate(entries, engine: &engine, metrics: ruleMetrics)
        // x: 1+3 fire, 4+5 complete a second window inside the cooldown (suppressed); y: one match, no fire.
        #expect(fired.map(\.alert.rule) == ["tag-x"])
        #expect(fired.first?.alert.count == 2)
        #expect(fired.first?.actions.map(\.kind) == ["log"])
        #expect(fired.first?.record.actionKinds == ["log"])
        #expect(PipelineFixture.matches(metrics, "tag-x") == 4)
        #expect(PipelineFixture.matches(metrics, "tag-y") == 1)
        #expect(PipelineFixture.fired(metrics, "tag-x") == 1)
        #expect(PipelineFixture.suppressed(metrics, "tag-x") == 1)
        #expect(PipelineFixture.fired(metrics, "tag-y") == 0)
    }

    @Test func recordWritesAlertsOutboxRowsAndOutcomesInTheBatchTransaction() async throws {
        try await withTemporaryDirectory(prefix: "callwatch-stages") { directory in
            let store = try SQLiteStore(path: directory + "/cw.db")
            let first = try StoreFixture.alert(id: "alert-1", completedBy: "e1")
            let second = try StoreFixture.alert(id: "alert-2", completedBy: "e2")
            let log = try #require(try PipelineFixture.rules(["x"]).rules.first?.actions)
            try store.write {
                try BatchStages.record([.init(alert: first, actions: log)], outcomes: [], into: $0)
            }
            let outcome = ActionOutcome(
                alertID: "alert-1",
                rule: "burst",
                actionIndex: 0,
                kind: "log",
                status: .success,
                attempts: 1,
                reason: nil,
                duration: .zero
            )
            try store.write {
                try BatchStages.record([.init(alert: second, actions: log)], outcomes: [outcome], into: $0)
            }
            let alerts = try await store.recentAlerts(limit: 10)
            #expect(Set(alerts.map(\.id)) == ["alert-1", "alert-2"])
            #expect(try store.pendingActions().map(\.alert.id) == ["alert-2"])
            #expect(alerts.first { $0.id == "alert-1" }?.actions.map(\.status) == [.success])
        }
    }

    @Test func answerTellsEachRequestWhetherItsEventWasNew() throws {
        let metrics = TestMetrics()
        let counters = IngestCounters(factory: metrics)
        let answers = Answers()
        let batch = try ["a", "b"].map { answers.submission(try PipelineFixture.entry($0, tag: "x")) }
        BatchStages.answer(batch, inserted: [true, false], counters: counters)
        #expect(answers.all == ["CALL_STATUS:a: accepted", "CALL_STATUS:b: duplicate"])
        #expect(PipelineFixture.counter(metrics, "callwatch_events_total", [("outcome", "accepted")]) == 1)
        #expect(PipelineFixture.counter(metrics, "callwatch_events_total", [("outcome", "duplicate")]) == 1)
        BatchStages.refuse(batch, Pipeline.IngestError.shuttingDown)
        #expect(
            answers.all.suffix(2) == [
                "CALL_STATUS:a: callwatch is shutting down", "CALL_STATUS:b: callwatch is shutting down",
            ]
        )
    }

    // MARK: The writer's messages, in order

    @Test func aReloadAppliesBetweenTheEventsAroundItAndAnswersOnceLive() async throws {
        try await withTemporaryDirectory(prefix: "callwatch-stages") { directory in
            let store = try SQLiteStore(path: directory + "/cw.db")
            let metrics = TestMetrics()
            var writer = PipelineFixture.writer(try PipelineFixture.rules(["x"]), store: store, metrics: metrics)
            let answers = Answers()
            // Both events carry tag x and y; before the reload only tag-x exists, after it only tag-y (first in
            // a rule list of a different size and order).
            let before = answers.submission(try PipelineFixture.entry("before", tag: "x"))
            let after = answers.submission(try PipelineFixture.entry("after", tag: "y"))
            let reloaded = try PipelineFixture.rules(["y", "z"])
            writer.handle([
                .event(before),
                .reload(reloaded) { isLive in answers.note("reload: \(isLive)") },
                .event(after),
            ])
            #expect(answers.all == ["CALL_STATUS:before: accepted", "reload: true", "CALL_STATUS:after: accepted"])
            #expect(PipelineFixture.matches(metrics, "tag-x") == 1)
            #expect(PipelineFixture.matches(metrics, "tag-y") == 1)
            #expect(PipelineFixture.fired(metrics, "tag-y") == 1)
            #expect(writer.engine.ruleSet.rules.map(\.name) == ["tag-y", "tag-z"])
            let alerts = try await store.recentAlerts(limit: 10)
            #expect(Set(alerts.map(\.rule)) == ["tag-x", "tag-y"])
        }
    }

    @Test func outcomesAreCommittedWithTheNextBatchOrAloneWhenNoEventCame() async throws {
        try await withTemporaryDirectory(prefix: "callwatch-stages") { directory in
            let store = try SQLiteStore(path: directory + "/cw.db")
            var writer = PipelineFixture.writer(try PipelineFixture.rules(["x"]), store: store, metrics: TestMetrics())
            let answers = Answers()
            writer.handle([.event(answers.submission(try PipelineFixture.entry("e1", tag: "x")))])
            let alert = try #require(try store.pendingActions().first?.alert)
            #expect(writer.pendingActions == 1)
            func outcome(_ status: OutboxStatus, attempts: Int) -> ActionOutcome {
                ActionOutcome(
                    alertID: alert.id,
                    rule: alert.rule,
                    actionIndex: 0,
                    kind: "log",
                    status: status,
                    attempts: attempts,
                    reason: nil,
                    duration: .zero
                )
            }
            // With an event: one transaction holds both.
            writer.handle([
                .outcome(outcome(.pending, attempts: 1)),
                .event(answers.submission(try PipelineFixture.entry("e2", tag: "none"))),
            ])
            #expect(try store.pendingActions().first?.attempts == 1)
            #expect(writer.outcomes.isEmpty)
            // Alone.
            writer.handle([.outcome(outcome(.success, attempts: 2))])
            #expect(try store.pendingActions().isEmpty)
            #expect(writer.pendingActions == 0)
            #expect(answers.all == ["CALL_STATUS:e1: accepted", "CALL_STATUS:e2: accepted"])
        }
    }

    @Test func aTickDropsKeysThatCanNoLongerFireWithNoEventArriving() async throws {
        try await withTemporaryDirectory(prefix: "callwatch-stages") { directory in
            let store = try SQLiteStore(path: directory + "/cw.db")
            var writer = PipelineFixture.writer(
                try PipelineFixture.rules(["x"], window: true),
                store: store,
                metrics: TestMetrics()
            )
            let start = Date()
            let answers = Answers()
            writer.handle(
                try (0..<3).map {
                    .event(
                        answers.submission(
                            try PipelineFixture.entry("k\($0)", tag: "x", destination: "+65\($0)", at: start)
                        )
                    )
                }
            )
            #expect(writer.engine.stateCount == 3)
            writer.handle([.tick(start.addingTimeInterval(30 * 60))])
            #expect(writer.engine.stateCount == 3)  // the windows are still open
            writer.handle([.tick(start.addingTimeInterval(2 * 3600))])
            #expect(writer.engine.stateCount == 0)
        }
    }
}
