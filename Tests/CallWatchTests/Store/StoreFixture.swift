import CallWatchTestSupport
import Foundation
import GRDB
import Logging
import Metrics
import Synchronization
import Testing

@testable import CallWatch

/// The real store, with one fault a test can switch on: the next batch runs its work, then fails as a commit that
/// could not be written would.
final class FailingStore: EventStore {
    struct InjectedFailure: Error {}

    let store: SQLiteStore
    let failNext = StoreFixture.Box(false)

    init(_ store: SQLiteStore) { self.store = store }

    /// Runs the batch's work in a real transaction, then (when asked to) fails it: the work's writes roll back.
    func write<T>(_ work: (any JournalTransaction) throws -> T) throws -> T {
        var fail = false
        failNext.update {
            fail = $0
            $0 = false
        }
        return try store.write { transaction in
            let result = try work(transaction)
            if fail { throw InjectedFailure() }
            return result
        }
    }

    func forEachEntry(since: Date, _ body: (JournalEntry) throws -> Void) throws -> Int {
        try store.forEachEntry(since: since, body)
    }

    func alertIDs(since: Date) throws -> Set<String> { try store.alertIDs(since: since) }
    func alerts(rules: [String], since: Date) throws -> [Alert] { try store.alerts(rules: rules, since: since) }
    func pendingActions() throws -> [OutboxEntry] { try store.pendingActions() }
    func silences() throws -> [Silence] { try store.silences() }
    func save(_ silence: Silence) throws { try store.save(silence) }
    func recentAlerts(limit: Int) async throws -> [AlertSummary] { try await store.recentAlerts(limit: limit) }
    func prune(before: Date) async throws -> Int { try await store.prune(before: before) }
}

extension SQLiteStore {
    /// One batch through the unit of work as the writer runs it: insert, `evaluate` the new entries (only when
    /// there are any), record the alerts it returns, commit.
    func append(_ entries: [JournalEntry], evaluate: ([JournalEntry]) -> [AlertRecord]) throws -> [Bool] {
        try write { transaction in
            let inserted = try transaction.insert(entries)
            let fresh = zip(entries, inserted).compactMap { $1 ? $0 : nil }
            if !fresh.isEmpty { try transaction.record(evaluate(fresh)) }
            return inserted
        }
    }
}

/// Temporary stores, journal entries, alerts and pipelines for the store and pipeline tests.
enum StoreFixture {
    final class Box<Value: Sendable>: Sendable {
        private let storage: Mutex<Value>
        init(_ value: Value) { storage = Mutex(value) }
        var value: Value { storage.withLock { $0 } }
        func update(_ body: (inout Value) -> Void) { storage.withLock { body(&$0) } }
    }

    static let quiet = Logger(label: "callwatch.test.store") { _ in SwiftLogNoOpLogHandler() }

    static func body(_ id: String, destination: String = "+6591234567") -> Data {
        Data(
            """
            {"eventType":"CALL_STATUS","payload":{"eventId":"\(id)","callId":"call-\(id)","callStatus":\
            "CALL_DISCONNECTED","destination":"\(destination)","sipCode":486,"callDuration":0}}
            """.utf8
        )
    }

    static func entry(_ id: String, at receivedAt: Date = Date(), bodySize: Int? = nil) -> JournalEntry {
        var body = body(id)
        if let bodySize, body.count < bodySize {
            body += Data(repeating: UInt8(ascii: " "), count: bodySize - body.count)
        }
        return JournalEntry(identity: id, receivedAt: receivedAt, body: body)
    }

    static func alert(id: String, completedBy eventID: String, firedAt: Date = Date()) throws -> Alert {
        let event = try CallEvent.decode(String(decoding: body(eventID), as: UTF8.self))
        return Alert(
            id: id,
            rule: "burst",
            description: "three in a row",
            key: [("destination", "+6591234567")],
            count: 1,
            match: nil,
            firstAt: firedAt,
            lastAt: firedAt,
            firedAt: firedAt,
            events: [event]
        )
    }

    /// The `SQLiteStore.OpenError` opening `path` throws, or nil (recorded as an issue) when it opens or throws
    /// anything else.
    static func openError(_ path: String, sourceLocation: SourceLocation = #_sourceLocation) -> SQLiteStore.OpenError? {
        do {
            _ = try SQLiteStore(path: path)
            Issue.record("the store at \(path) opened", sourceLocation: sourceLocation)
        } catch let error as SQLiteStore.OpenError {
            return error
        } catch {
            Issue.record("expected SQLiteStore.OpenError, got \(error)", sourceLocation: sourceLocation)
        }
        return nil
    }

    /// A window of 3 per destination within an hour.
    static func windowRules(action: String = "{log: {message: \"fired\"}}") throws -> RuleSet {
        try RulesLoader.load(
            yaml: """
                version: 1
                rules:
                  - name: burst
                    when: {callStatus: CALL_DISCONNECTED}
                    by: [destination]
                    window: {count: 3, within: 1h}
                    actions: [\(action)]
                """,
            path: "window.yaml",
            environment: [:]
        )
    }

    /// Opens the store, builds a pipeline, runs its writer (which recovers first) and dispatcher around `body`,
    /// then drains them: what one run of the daemon does. Returns the writer's recovery report.
    @discardableResult
    static func withPipeline(
        _ rules: RuleSet,
        path: String,
        runDispatcher: Bool = true,
        store wrap: (SQLiteStore) -> any EventStore = { $0 },
        metrics: (any MetricsFactory)? = nil,
        _ body: (Pipeline) async throws -> Void
    ) async throws -> Pipeline.RecoveryReport? {
        let store = wrap(try SQLiteStore(path: path))
        var configuration = ActionDispatcher.Configuration()
        configuration.backoffBase = .milliseconds(50)
        let dispatcher = ActionDispatcher(configuration: configuration, logger: quiet)
        let pipeline = Pipeline(
            ruleSet: rules,
            store: store,
            dispatcher: dispatcher,
            logger: quiet,
            metricsFactory: metrics ?? MetricsSystem.factory
        )
        dispatcher.setOutcomeHandler { pipeline.record($0) }
        let report = Box<Pipeline.RecoveryReport?>(nil)
        async let writer: Void = pipeline.run { recovered in report.update { $0 = recovered } }
        async let actions: Void = run(runDispatcher ? dispatcher : nil)
        var failure: (any Error)?
        do {
            try await body(pipeline)
        } catch {
            failure = error
        }
        // As the daemon stops: actions finish (their outcomes reach the writer), then the writer drains.
        if runDispatcher { dispatcher.finish() }
        await actions
        pipeline.finish()
        try await writer
        if let failure { throw failure }
        return report.value
    }

    private static func run(_ dispatcher: ActionDispatcher?) async {
        await dispatcher?.run()
    }

    static func ingest(
        _ pipeline: Pipeline,
        _ id: String,
        destination: String,
        at receivedAt: Date = Date()
    ) async throws {
        let bytes = body(id, destination: destination)
        let event = try CallEvent.decode(String(decoding: bytes, as: UTF8.self))
        #expect(try await pipeline.ingest(event, body: bytes, receivedAt: receivedAt) == .accepted)
    }

}
