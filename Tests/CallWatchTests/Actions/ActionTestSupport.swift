import Foundation
import Logging
import Synchronization
import Testing

@testable import CallWatch

#if canImport(Glibc)
import Glibc
import CallWatchTestSupport
#endif

/// The parent suite of every action test, so `swift test --filter Actions` selects them all.
@Suite enum Actions {}

/// A test waited for something that never came.
struct TestDeadline: Error, CustomStringConvertible {
    var description: String
}

/// Alerts and compiled actions for the action tests.
enum ActionFixture {
    /// A CALL_DISCONNECTED payload with the given fields replacing or adding to the defaults.
    static func payload(_ overrides: [(String, JSONValue)] = []) -> JSONObject {
        var payload = JSONObject([
            ("eventId", .string(UUID().uuidString.lowercased())),
            ("callId", .string("5b0c2a8f-4f1d-11f1-9c2b-0242ac120002")),
            ("sessionId", .string("5b0c2a8e-4f1d-11f1-9c2b-0242ac120002")),
            ("subAccountId", .string("acme_ops")),
            ("callStatus", .string("CALL_DISCONNECTED")),
            ("source", .string("+6583891703")),
            ("destination", .string("+622150996455")),
            ("callDuration", .number(12)),
            ("sipCode", .number(486)),
            ("timestamp", .string("2026-01-06T10:17:19.375Z")),
        ])
        for (key, value) in overrides { payload[key] = value }
        return payload
    }

    /// An alert of rule `hook-test` whose last (only) event has `payload(fields)`; a fresh id every call.
    static func alert(_ fields: [(String, JSONValue)] = [], rule: String = "hook-test") throws -> Alert {
        let event = CallEvent(envelope: JSONObject(), payload: payload(fields))
        let destination = event[.destination]?.stringValue ?? ""
        let now = Date()
        return Alert(
            id: UUID().uuidString.lowercased(),
            rule: rule,
            description: "a test alert",
            key: [("destination", destination)],
            count: 3,
            match: nil,
            firstAt: now.addingTimeInterval(-60),
            lastAt: now,
            firedAt: now,
            events: [event]
        )
    }

    /// Loads a rules file with one rule whose `actions:` list is `yaml` (a YAML list, written unindented).
    static func actions(_ yaml: String) throws -> [ActionSpec] {
        let indented = yaml.split(separator: "\n", omittingEmptySubsequences: false)
            .map { "      " + $0 }
            .joined(separator: "\n")
        let file = """
            version: 1
            rules:
              - name: hook-test
                when: {callStatus: CALL_DISCONNECTED}
                actions:
            \(indented)
            """
        return try RulesLoader.load(yaml: file, path: "actions-test.yaml", environment: [:]).rules[0].actions
    }

    /// Writes an executable `#!/bin/sh` script.
    static func writeScript(_ body: String, to path: String) throws {
        try ("#!/bin/sh\n" + body + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
    }

    /// The resident set size of this process, from /proc/self/status, in bytes.
    static func residentBytes() throws -> Int {
        let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
            let kilobytes = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) })
        else { throw TestDeadline(description: "no VmRSS in /proc/self/status") }
        return kilobytes * 1024
    }

}

/// Collects the dispatcher's outcomes: final ones (success, failure, timeout) and the `pending` notices sent
/// before each retry. `wait(for:)` returns once enough final outcomes arrived, or fails the test at a deadline.
final class OutcomeCollector: Sendable {
    private let outcomes = Mutex<[ActionOutcome]>([])

    func append(_ outcome: ActionOutcome) {
        outcomes.withLock { $0.append(outcome) }
    }

    /// Every outcome reported, retry notices included, in order.
    var all: [ActionOutcome] { outcomes.withLock { $0 } }

    /// The final outcomes, in order.
    var final: [ActionOutcome] { all.filter(\.isFinal) }

    /// The retry notices, in order.
    var retries: [ActionOutcome] { all.filter { !$0.isFinal } }

    func wait(for count: Int, timeout: Duration = .seconds(20)) async throws -> [ActionOutcome] {
        try await waitUntil("\(count) final action outcome(s)", timeout: timeout) { final.count >= count }
        return final
    }
}

/// Runs `body` with a running dispatcher; finishes it and waits for its queues to drain afterwards. `jitter`, when
/// given, replaces the random jitter factor of every retry.
func withDispatcher<T>(
    execConcurrency: Int = 8,
    httpConcurrency: Int = 8,
    killGrace: Duration = .seconds(1),
    backoffBase: Duration = .milliseconds(100),
    backoffCap: Duration = .seconds(60),
    jitter: Double? = nil,
    clock: any DispatchClock = SystemDispatchClock(),
    logger: Logger = Logger(label: "callwatch.test", factory: { _ in SwiftLogNoOpLogHandler() }),
    _ body: (ActionDispatcher, OutcomeCollector) async throws -> T
) async throws -> T {
    var configuration = ActionDispatcher.Configuration(
        execConcurrency: execConcurrency,
        httpConcurrency: httpConcurrency
    )
    configuration.killGrace = killGrace
    configuration.backoffBase = backoffBase
    configuration.backoffCap = backoffCap
    if let jitter { configuration.jitter = { jitter } }
    let collector = OutcomeCollector()
    let dispatcher = ActionDispatcher(configuration: configuration, logger: logger, clock: clock) {
        collector.append($0)
    }
    async let running: Void = dispatcher.run()
    let result: T
    do {
        result = try await body(dispatcher, collector)
    } catch {
        // A failed test does not wait for what is still running or scheduled (a retry on a manual clock would
        // never come): leaving the scope without awaiting `running` cancels it.
        dispatcher.finish()
        throw error
    }
    dispatcher.finish()
    await running
    return result
}
