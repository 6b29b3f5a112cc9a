import CallWatchTestSupport
import Foundation
import Logging
import Testing

@testable import CallWatch

extension Actions {
    /// `exec` actions against real child processes: shell scripts written at test time that record what they got.
    @Suite struct ExecActionTests {
        /// Runs the actions of `yaml` for `alert`; returns once every action has a final outcome.
        static func run(
            _ yaml: String,
            for alert: Alert,
            logger: LogCapture? = nil
        ) async throws -> OutcomeCollector {
            let actions = try ActionFixture.actions(yaml)
            let quiet = Logger(label: "callwatch.test") { _ in SwiftLogNoOpLogHandler() }
            return try await withDispatcher(logger: logger?.logger ?? quiet) { dispatcher, outcomes in
                dispatcher.submit(alert, actions: actions)
                _ = try await outcomes.wait(for: actions.count)
                return outcomes
            }
        }

        @Test func injectionAttemptsStayLiteralArguments() async throws {
            try await withTemporaryDirectory(prefix: "callwatch-actions") { dir in
                let hook = try RecordingHook.write(in: dir)
                let canary = dir + "/canary"
                try "alive".write(toFile: canary, atomically: true, encoding: .utf8)
                let hostile: [(String, String)] = [
                    ("destination", "; rm -rf \(canary)"),
                    ("source", "$(touch \(dir)/pwned-dollar)"),
                    ("callId", "`touch \(dir)/pwned-backtick`"),
                    ("sessionId", #"it's "quoted" \ and 'single'"#),
                    ("subAccountId", "x > \(dir)/pwned-redirect | cat && touch \(dir)/pwned-and"),
                    ("eventData", "two\nlines * ? [a] ~ $HOME"),
                ]
                let alert = try ActionFixture.alert(hostile.map { ($0.0, .string($0.1)) })
                let collected = try await Self.run(
                    """
                    - exec:
                        command: ["\(hook)", "{{destination}}", "{{source}}", "{{callId}}", "{{sessionId}}",
                                  "{{subAccountId}}", "{{eventData}}", "--to={{destination}}", "{{{source}}}"]
                    """,
                    for: alert
                )
                let outcomes = collected.final
                #expect(outcomes.map(\.status) == [.success])
                let runs = try RecordingHook.runs(in: dir + "/runs")
                try #require(runs.count == 1)
                let expected = hostile.map(\.1) + ["--to=; rm -rf \(canary)", "$(touch \(dir)/pwned-dollar)"]
                #expect(runs[0].arguments == expected)
                #expect(runs[0].environment["CALLWATCH_DESTINATION"] == "; rm -rf \(canary)")
                #expect(runs[0].environment["CALLWATCH_SOURCE"] == "$(touch \(dir)/pwned-dollar)")
                #expect(FileManager.default.fileExists(atPath: canary))
                for name in ["pwned-dollar", "pwned-backtick", "pwned-redirect", "pwned-and"] {
                    #expect(!FileManager.default.fileExists(atPath: "\(dir)/\(name)"), "\(name) was created")
                }
            }
        }

        @Test func environmentCarriesAlertPayloadAndEnvTemplates() async throws {
            try await withTemporaryDirectory(prefix: "callwatch-actions") { dir in
                let hook = try RecordingHook.write(in: dir)
                var alert = try ActionFixture.alert([
                    ("sourceRefId", .null),
                    ("destinationCountryCode", .string("ID")),
                    ("details", .object(JSONObject([("reason", .string("busy")), ("tries", .number(2))]))),
                ])
                alert.status = .resolved
                alert.value = 0.375
                let collected = try await Self.run(
                    """
                    - exec:
                        command: ["\(hook)"]
                        env:
                          PAGER_TEXT: "{{alert.count}} failures to {{destination}} (SIP {{sipCode}}, rule {{rule.name}})"
                          PLAIN: constant
                          HOME: /overridden/home
                    """,
                    for: alert
                )
                let outcomes = collected.final
                #expect(outcomes.map(\.status) == [.success])
                let runs = try RecordingHook.runs(in: dir + "/runs")
                try #require(runs.count == 1)
                let environment = runs[0].environment
                #expect(environment["CALLWATCH_ALERT_ID"] == alert.id)
                #expect(environment["CALLWATCH_RULE"] == "hook-test")
                #expect(environment["CALLWATCH_ALERT_STATUS"] == "resolved")
                #expect(environment["CALLWATCH_ALERT_VALUE"] == "0.375")
                #expect(environment["CALLWATCH_SIP_CODE"] == "486")
                #expect(environment["CALLWATCH_CALL_DURATION"] == "12")
                #expect(environment["CALLWATCH_DESTINATION"] == "+622150996455")
                #expect(environment["CALLWATCH_CALL_STATUS"] == "CALL_DISCONNECTED")
                #expect(environment["CALLWATCH_SOURCE_REF_ID"] == "")
                #expect(environment["CALLWATCH_DESTINATION_COUNTRY_CODE"] == "ID")
                #expect(environment["CALLWATCH_EVENT_ID"] == alert.events[0].payload["eventId"]?.stringValue)
                let details = try #require(environment["CALLWATCH_DETAILS"])
                let parsed = try JSONSerialization.jsonObject(with: Data(details.utf8)) as? [String: Any]
                #expect(parsed?["reason"] as? String == "busy")
                #expect(parsed?["tries"] as? Int == 2)
                #expect(environment["PAGER_TEXT"] == "3 failures to +622150996455 (SIP 486, rule hook-test)")
                #expect(environment["PLAIN"] == "constant")
                // The daemon's own environment is passed on; an `env:` entry replaces an inherited variable.
                #expect(environment["PATH"] == ProcessInfo.processInfo.environment["PATH"])
                #expect(environment["HOME"] == "/overridden/home")
            }
        }

        @Test func environmentRowsReplaceInheritedVariablesOnce() {
            let rows = ExecRunner.environmentRows(["PATH": "/hook/bin", "NEW_ONE": "x=y", "": "no name", "A=B": "bad"])
            let texts = rows.map { String(decoding: $0.dropLast(), as: UTF8.self) }
            #expect(rows.allSatisfy { $0.last == 0 })
            #expect(texts.filter { $0.hasPrefix("PATH=") } == ["PATH=/hook/bin"])
            #expect(texts.contains("NEW_ONE=x=y"))
            #expect(!texts.contains { $0.hasPrefix("=") || $0.hasPrefix("A=B") })
            let inherited = ProcessInfo.processInfo.environment.filter { $0.key != "PATH" }
            #expect(texts.count == inherited.count + 2)
        }

        @Test func stdinIsTheAlertJSON() async throws {
            try await withTemporaryDirectory(prefix: "callwatch-actions") { dir in
                let hook = try RecordingHook.write(in: dir)
                let alert = try ActionFixture.alert()
                let collected = try await Self.run("- exec: {command: [\"\(hook)\"]}", for: alert)
                let outcomes = collected.final
                #expect(outcomes.map(\.status) == [.success])
                let runs = try RecordingHook.runs(in: dir + "/runs")
                try #require(runs.count == 1)
                #expect(runs[0].stdin == alert.jsonString)
                let json = try #require(
                    try JSONSerialization.jsonObject(with: Data(runs[0].stdin.utf8)) as? [String: Any]
                )
                #expect(json["id"] as? String == alert.id)
                #expect(json["rule"] as? String == "hook-test")
                #expect(json["count"] as? Int == 3)
                #expect((json["key"] as? [String: String]) == ["destination": "+622150996455"])
                let events = try #require(json["events"] as? [[String: Any]])
                #expect(events.count == 1)
                #expect(events.first?["sipCode"] as? Int == 486)
                #expect(events.first?["callStatus"] as? String == "CALL_DISCONNECTED")
            }
        }

        @Test func stdinNoneGivesEmptyStdin() async throws {
            try await withTemporaryDirectory(prefix: "callwatch-actions") { dir in
                let hook = try RecordingHook.write(in: dir)
                let collected = try await Self.run(
                    "- exec: {command: [\"\(hook)\"], stdin: none}",
                    for: try ActionFixture.alert()
                )
                let outcomes = collected.final
                #expect(outcomes.map(\.status) == [.success])
                let runs = try RecordingHook.runs(in: dir + "/runs")
                try #require(runs.count == 1)
                #expect(runs[0].stdin == "")
            }
        }

        /// A hook that exits without reading a large alert from stdin: writing the rest gives EPIPE, which must
        /// neither kill the daemon (SIGPIPE) nor turn the hook's success into a failure.
        @Test func hookThatDoesNotReadStdinStillSucceeds() async throws {
            try await withTemporaryDirectory(prefix: "callwatch-actions") { dir in
                let hook = dir + "/deaf.sh"
                try ActionFixture.writeScript("exit 0", to: hook)
                // 40 events of 4 KiB: far more than a pipe buffer (64 KiB), so the write cannot complete before
                // the hook exits.
                var alert = try ActionFixture.alert()
                let big: [(String, JSONValue)] = [("eventData", .string(String(repeating: "x", count: 4096)))]
                alert.events = (0..<40).map { _ in
                    CallEvent(envelope: JSONObject(), payload: ActionFixture.payload(big))
                }
                #expect(alert.jsonString.utf8.count > 128 << 10)
                let collected = try await Self.run("- exec: {command: [\"\(hook)\"]}", for: alert)
                let outcome = try #require(collected.final.first)
                #expect(outcome.status == .success, "\(outcome.status): \(outcome.reason ?? "")")
                #expect(outcome.attempts == 1)
            }
        }

        @Test func workdirIsTheHooksWorkingDirectory() async throws {
            try await withTemporaryDirectory(prefix: "callwatch-actions") { dir in
                let hook = try RecordingHook.write(in: dir)
                let workdir = dir + "/work"
                try FileManager.default.createDirectory(atPath: workdir, withIntermediateDirectories: true)
                let collected = try await Self.run(
                    "- exec: {command: [\"\(hook)\"], workdir: \"\(workdir)\"}",
                    for: try ActionFixture.alert()
                )
                let outcomes = collected.final
                #expect(outcomes.map(\.status) == [.success])
                let runs = try RecordingHook.runs(in: dir + "/runs")
                try #require(runs.count == 1)
                #expect(runs[0].workingDirectory == workdir)
            }
        }

        @Test func nonZeroExitIsAFailureWithItsOutputLogged() async throws {
            try await withTemporaryDirectory(prefix: "callwatch-actions") { dir in
                // 10,000 bytes on stdout: only the first 4 KiB may reach the log.
                let hook = try RecordingHook.write(
                    in: dir,
                    trailer: """
                        printf 'boom'
                        head -c 10000 /dev/zero | tr '\\0' 'x'
                        echo 'disk on fire' >&2
                        exit 3
                        """
                )
                let capture = LogCapture()
                let alert = try ActionFixture.alert()
                let collected = try await Self.run("- exec: {command: [\"\(hook)\"]}", for: alert, logger: capture)
                let outcomes = collected.final
                let outcome = try #require(outcomes.first)
                #expect(outcome.status == .failure)
                #expect(outcome.attempts == 1)
                #expect(outcome.kind == "exec")
                #expect(outcome.alertID == alert.id)
                #expect(outcome.reason?.contains("exited(3)") == true, "reason: \(outcome.reason ?? "nil")")
                let failed = try #require(capture.entries.first { $0.message == "exec action failed" })
                #expect(failed.level == .warning)
                #expect(failed.metadata["stderr"] == "disk on fire")
                let stdout = try #require(failed.metadata["stdout"])
                #expect(stdout.hasPrefix("boomxxx"))
                #expect(stdout.utf8.count == ExecRunner.outputLimit)
                #expect(failed.metadata["status"] == "exited(3)")
                #expect(failed.metadata["alert"] == alert.id)
                #expect(failed.metadata["rule"] == "hook-test")
                #expect(capture.entries.contains { $0.message == "action gave up" && $0.level == .error })
            }
        }

        @Test func failingHookIsRetriedThenReportedAsFailure() async throws {
            try await withTemporaryDirectory(prefix: "callwatch-actions") { dir in
                let hook = try RecordingHook.write(in: dir, trailer: "exit 1")
                let alert = try ActionFixture.alert()
                let collected = try await Self.run("- exec: {command: [\"\(hook)\"], retries: 2}", for: alert)
                let outcomes = collected.final
                let outcome = try #require(outcomes.first)
                #expect(outcome.status == .failure)
                #expect(outcome.attempts == 3)
                // Each failed attempt but the last is reported as a retry, with when it will run again.
                #expect(collected.retries.map(\.attempts) == [1, 2])
                #expect(collected.retries.allSatisfy { $0.status == .pending && $0.notBefore != nil })
                let runs = try RecordingHook.runs(in: dir + "/runs")
                #expect(runs.count == 3)
                #expect(runs.allSatisfy { $0.environment["CALLWATCH_ALERT_ID"] == alert.id })
            }
        }

        @Test func retriesStopAtTheFirstSuccess() async throws {
            try await withTemporaryDirectory(prefix: "callwatch-actions") { dir in
                // Fails on the first run, succeeds on the second.
                let hook = try RecordingHook.write(
                    in: dir,
                    trailer: """
                        [ "$(ls "\(dir)/runs" | wc -l)" -ge 2 ] || exit 1
                        """
                )
                let collected = try await Self.run(
                    "- exec: {command: [\"\(hook)\"], retries: 5}",
                    for: try ActionFixture.alert()
                )
                let outcomes = collected.final
                let outcome = try #require(outcomes.first)
                #expect(outcome.status == .success)
                #expect(outcome.attempts == 2)
                #expect(try RecordingHook.runs(in: dir + "/runs").count == 2)
            }
        }

        @Test func commandThatCannotStartFailsWithoutRetrying() async throws {
            try await withTemporaryDirectory(prefix: "callwatch-actions") { dir in
                let collected = try await Self.run(
                    "- exec: {command: [\"\(dir)/no-such-hook\"], retries: 3}",
                    for: try ActionFixture.alert()
                )
                let outcomes = collected.final
                let outcome = try #require(outcomes.first)
                #expect(outcome.status == .failure)
                #expect(outcome.attempts == 1)
                #expect(outcome.reason?.contains("no-such-hook") == true, "reason: \(outcome.reason ?? "nil")")
            }
        }
    }
}
