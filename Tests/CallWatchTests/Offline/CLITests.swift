import CallWatchTestSupport
import Foundation
import Testing

@testable import CallWatch

/// The built `callwatch` executable, run as a real child process. The test target does not depend on the
/// executable, so these tests use `.build/debug/callwatch` (the Makefile builds it before `swift test`).
/// Tests/CallWatchTests/Offline/CLITests.swift → the package root.
private let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()
private let executable = packageRoot.appendingPathComponent(".build/debug/callwatch")

@Suite(
    .enabled(
        if: FileManager.default.isExecutableFile(atPath: executable.path),
        "no .build/debug/callwatch: build the CLI first (swift build --product callwatch, or make test)"
    )
)
final class CLITests {
    static let packageRoot = CallWatchTests.packageRoot
    static let executable = CallWatchTests.executable
    static let fixtures = packageRoot.appendingPathComponent("Tests/CallWatchTests/Fixtures")
    static let rulesPath = packageRoot.appendingPathComponent("rules.yaml").path

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        var stdoutLines: [String] { stdout.split(separator: "\n").map(String.init) }
        var stderrLines: [String] { stderr.split(separator: "\n").map(String.init) }
    }

    /// Runs the CLI in the package root; output goes through files so a chatty child can never block on a pipe.
    static func run(_ arguments: [String], stdin: String? = nil) throws -> Result {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let outURL = directory.appendingPathComponent("stdout")
        let errURL = directory.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let out = try FileHandle(forWritingTo: outURL)
        let err = try FileHandle(forWritingTo: errURL)
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.currentDirectoryURL = packageRoot
        var environment = ProcessInfo.processInfo.environment
        environment["CALLWATCH_CONFIG"] = nil
        process.environment = environment
        process.standardOutput = out
        process.standardError = err
        let input = Pipe()
        process.standardInput = stdin == nil ? FileHandle.nullDevice : input
        try process.run()
        if let stdin {
            input.fileHandleForWriting.write(Data(stdin.utf8))
            try input.fileHandleForWriting.close()
        }
        process.waitUntilExit()
        try out.close()
        try err.close()
        #expect(
            process.terminationReason == .exit,
            "callwatch \(arguments) was killed by signal \(process.terminationStatus)"
        )
        return Result(
            status: process.terminationStatus,
            stdout: try String(contentsOf: outURL, encoding: .utf8),
            stderr: try String(contentsOf: errURL, encoding: .utf8)
        )
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("callwatch-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// This test's scratch directory, removed when the test ends.
    let scratch: URL

    init() throws {
        scratch = try Self.temporaryDirectory()
    }

    deinit {
        try? FileManager.default.removeItem(at: scratch)
    }

    /// Writes `contents` to the file `name` in the scratch directory; returns its path.
    func write(_ contents: String, named name: String) throws -> String {
        let url = scratch.appendingPathComponent(name)
        try contents.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    static let idPattern = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"

    // MARK: check

    @Test func checkAcceptsTheShippedRules() throws {
        let result = try Self.run(["check", "-c", "rules.yaml"])
        #expect(result.status == 0)
        #expect(result.stdoutLines == ["rules.yaml: 8 rules OK"])
        let strict = try Self.run(["check", "--strict", "--config", "rules.yaml"])
        #expect(strict.status == 0)
        #expect(strict.stdoutLines == ["rules.yaml: 8 rules OK"])
    }

    @Test func checkReportsEveryProblemAndFails() throws {
        let path = try write(
            """
            version: 1
            rules:
              - name: broken
                when: {callStatus: CALL_DISCONNECTED, destination: {regex: '[x'}}
                cooldwn: 5m
                actions: []
            """,
            named: "broken.yaml"
        )
        let result = try Self.run(["check", "-c", path])
        #expect(result.status == 1)
        #expect(
            result.stdoutLines == [
                "\(path):5:5: error: unknown key 'cooldwn' in rule 'broken'; did you mean 'cooldown'?",
                "\(path):4:64: error: invalid regular expression '[x': expected ']' in rule 'broken'",
            ]
        )
        #expect(!result.stdout.contains("rules OK"))
    }

    @Test func checkFailsOnAMissingFileOrGarbage() throws {
        let missing = try Self.run(["check", "-c", "/nonexistent/rules.yaml"])
        #expect(missing.status == 1)
        #expect(missing.stdout.hasPrefix("/nonexistent/rules.yaml:1:1: error: cannot read the file"))

        var bytes = [UInt8](repeating: 0, count: 4096)
        var generator = SeededGenerator(seed: 42)
        for index in bytes.indices { bytes[index] = UInt8.random(in: 0...255, using: &generator) }
        let url = scratch.appendingPathComponent("garbage.yaml")
        try Data(bytes).write(to: url)
        let garbage = try Self.run(["check", "-c", url.path])
        #expect(garbage.status == 1)
        #expect(garbage.stdout.contains("error:"))
    }

    @Test func strictTurnsWarningsIntoFailure() throws {
        let path = try write(
            """
            version: 1
            rules:
              - name: extra-field
                when: {callStatus: CALL_DISCONNECTED, customerTier: gold}
                actions: []
            """,
            named: "warning.yaml"
        )
        let warning =
            "\(path):4:43: warning: unknown event field 'customerTier' in rule 'extra-field' "
            + "(8x8 may add fields; it matches only events that carry it)"
        let lenient = try Self.run(["check", "-c", path])
        #expect(lenient.status == 0)
        #expect(lenient.stdoutLines == [warning, "\(path): 1 rules OK"])
        let strict = try Self.run(["check", "--strict", "-c", path])
        #expect(strict.status == 1)
        #expect(strict.stdoutLines == [warning])
    }

    @Test func configDefaultsToTheEnvironmentVariable() throws {
        let path = try write(
            "version: 1\nrules: [{name: a, when: {callStatus: CALL_CONNECTED}, actions: []}]\n",
            named: "env.yaml"
        )
        let directory = scratch.appendingPathComponent("elsewhere")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let process = Process()
        process.executableURL = Self.executable
        process.arguments = ["check"]
        process.currentDirectoryURL = directory
        process.environment = ["CALLWATCH_CONFIG": path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(output == "\(path): 1 rules OK\n")
    }

    // MARK: replay

    static let failuresJSONL = """
        {"eventId": "f1", "callStatus": "CALL_DISCONNECTED", "sipCode": 486, "destination": "+6511", "timestamp": "2026-11-24T10:00:00Z"}
        {"eventId": "f2", "callStatus": "CALL_DISCONNECTED", "sipCode": "503", "destination": "+6511", "timestamp": "2026-11-24T10:01:00Z"}

        {"eventId": "f3", "callStatus": "CALL_DISCONNECTED", "sipCode": 480, "destination": "+6511", "timestamp": "2026-11-24T10:02:00.5Z"}
        {"namespace": "VOICE", "payload": {"eventId": "d1", "callStatus": "DTMF_RECEIVED", "callId": "c1", "eventData": {"dtmf": "*9"}, "timestamp": "2026-11-24T10:03:00Z"}}
        {"eventId": "d2", "callStatus": "DTMF_RECEIVED", "callId": "c1", "eventData": "#", "timestamp": "2026-11-24T10:03:02Z"}

        """

    @Test func replayPrintsOneLinePerAlert() throws {
        let fixtures = try Self.run([
            "replay", "-c", "rules.yaml", Self.fixtures.appendingPathComponent("vcs-call-status.jsonl").path,
            Self.fixtures.appendingPathComponent("vss-session-summary.json").path,
        ])
        #expect(fixtures.status == 0)
        #expect(fixtures.stderr.isEmpty)
        #expect(fixtures.stdoutLines.count == 1)
        #expect(
            fixtures.stdout.wholeMatch(
                of: try Regex(
                    #"2019-10-16T08:12:10\.000Z failed-session subAccountId=account_x count=1 id="# + Self.idPattern
                        + "\n"
                )
            ) != nil,
            "\(fixtures.stdout)"
        )

        let path = try write(Self.failuresJSONL, named: "events.jsonl")
        let result = try Self.run(["replay", "-c", "rules.yaml", path])
        #expect(result.status == 0)
        #expect(result.stderr.isEmpty)
        let lines = result.stdoutLines
        #expect(lines.count == 2)
        #expect(
            lines.first?.hasPrefix("2026-11-24T10:02:00.500Z repeated-sip-failures destination=+6511 count=3 id=")
                == true
        )
        #expect(
            lines.last?.hasPrefix("2026-11-24T10:03:02.000Z caller-asks-for-agent callId=c1 count=2 match=*9# id=")
                == true
        )
    }

    @Test func replayExecuteExitsOneWhenAnActionGaveUp() throws {
        let rules = """
            version: 1
            rules:
              - name: every-hangup
                when: {callStatus: CALL_DISCONNECTED}
                actions:
                  - exec: {command: ["\(scratch.path)/hook.sh", "{{eventId}}"]}
            """
        let hook = try write("#!/bin/sh\n[ \"$1\" = ok ] || exit 3\n", named: "hook.sh")
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: hook)
        let config = try write(rules, named: "hooks.yaml")
        let event = { (id: String) in
            #"{"eventId": "\#(id)", "callStatus": "CALL_DISCONNECTED", "timestamp": "2026-11-24T10:00:00Z"}"#
        }
        let good = try Self.run(["replay", "-c", config, "--execute", try write(event("ok") + "\n", named: "ok.jsonl")])
        #expect(good.status == 0, "\(good.stderr)")
        let bad = try Self.run([
            "replay", "-c", config, "--execute", try write(event("ok") + "\n" + event("no") + "\n", named: "no.jsonl"),
        ])
        #expect(bad.status == 1)
        #expect(bad.stdoutLines.count == 2)
        #expect(bad.stderr.contains("callwatch: 1 action(s) gave up (see the log above)"), "\(bad.stderr)")
    }

    @Test func replayUntilCarriesTheClockPastTheLastEvent() throws {
        let path = try write(Self.failuresJSONL, named: "events.jsonl")
        let plain = try Self.run(["replay", "-c", "rules.yaml", path])
        #expect(!plain.stdout.contains("no-connected-calls"))
        // No connected call from the first event (10:00:00) on: the shipped absence rule fires ten minutes later.
        let carried = try Self.run(["replay", "-c", "rules.yaml", "--until", "+15m", path])
        #expect(carried.status == 0)
        #expect(carried.stdoutLines.count == plain.stdoutLines.count + 1)
        #expect(
            carried.stdoutLines.last?.hasPrefix("2026-11-24T10:10:00.000Z no-connected-calls count=0 value=600 id=")
                == true,
            "\(carried.stdout)"
        )
        let absolute = try Self.run(["replay", "-c", "rules.yaml", "--until", "2026-11-24T10:09:59Z", path])
        #expect(absolute.stdoutLines == plain.stdoutLines)
        let connected = #"{"eventId": "k1", "callStatus": "CALL_CONNECTED", "timestamp": "2026-11-24T10:20:00Z"}"#
        let resolved = try Self.run([
            "replay", "-c", "rules.yaml", "--until", "+1m",
            try write(Self.failuresJSONL + connected + "\n", named: "more.jsonl"),
        ])
        #expect(
            resolved.stdoutLines.last?.hasPrefix(
                "2026-11-24T10:20:00.000Z no-connected-calls resolved count=1 value=0 id="
            )
                == true,
            "\(resolved.stdout)"
        )
        let invalid = try Self.run(["replay", "-c", "rules.yaml", "--until", "soon", path])
        #expect(invalid.status != 0)
        #expect(invalid.stderr.contains("invalid --until 'soon'"))
    }

    @Test func replayJSONPrintsAlertObjects() throws {
        let path = try write(Self.failuresJSONL, named: "events.jsonl")
        let result = try Self.run(["replay", "--json", "-c", "rules.yaml", path])
        #expect(result.status == 0)
        let lines = result.stdoutLines
        #expect(lines.count == 2)
        let fields = [
            "id", "rule", "description", "key", "count", "match", "firstAt", "lastAt", "firedAt", "status", "value",
            "startsAt", "endsAt", "events",
        ]
        for line in lines {
            guard case .object(let object) = try JSONParser.parse(line) else {
                Issue.record("not a JSON object: \(line)")
                continue
            }
            #expect(object.members.map(\.key) == fields)
            let foundation = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(foundation != nil, "Foundation parses it too")
        }
        let sip = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any]
        #expect(sip?["rule"] as? String == "repeated-sip-failures")
        #expect(sip?["description"] as? String == "the same destination failed 3 times within 5 minutes")
        #expect(sip?["key"] as? [String: String] == ["destination": "+6511"])
        #expect(sip?["count"] as? Int == 3)
        #expect(sip?["match"] is NSNull)
        #expect(sip?["firstAt"] as? String == "2026-11-24T10:00:00.000Z")
        #expect(sip?["lastAt"] as? String == "2026-11-24T10:02:00.500Z")
        #expect(sip?["firedAt"] as? String == "2026-11-24T10:02:00.500Z")
        #expect(sip?["status"] as? String == "firing")
        #expect(sip?["value"] is NSNull)
        #expect(sip?["startsAt"] as? String == "2026-11-24T10:02:00.500Z")
        #expect(sip?["endsAt"] is NSNull)
        #expect((sip?["events"] as? [[String: Any]])?.compactMap { $0["eventId"] as? String } == ["f1", "f2", "f3"])
        #expect((sip?["id"] as? String)?.wholeMatch(of: try Regex(Self.idPattern)) != nil)
        let dtmf = try JSONSerialization.jsonObject(with: Data(lines[1].utf8)) as? [String: Any]
        #expect(dtmf?["match"] as? String == "*9#")
        #expect(dtmf?["key"] as? [String: String] == ["callId": "c1"])
    }

    @Test func replayReportsBadLinesAndKeepsGoing() throws {
        let path = try write(
            """
            {"eventId": "ok", "callStatus": "CALL_CONNECTED", "timestamp": "2026-11-24T10:00:00Z"}
            {"eventId": "broken", "callStatus":
            {"callStatus": "CALL_DISCONNECTED"}
            {"eventType": "SESSION_SUMMARY", "payload": {"sessionId": "s1", "subAccountId": "acme", "sessionStatus": "ERROR", "lastAction": "makeCall", "callCount": 1, "timestamp": "2026-11-24T10:00:05Z"}}
            """,
            named: "bad.jsonl"
        )
        let result = try Self.run(["replay", "-c", "rules.yaml", path])
        #expect(result.status == 1)
        #expect(result.stderrLines.count == 2)
        #expect(result.stderrLines.first?.hasPrefix("\(path):2: error: malformed JSON") == true)
        #expect(result.stderrLines.last?.hasPrefix("\(path):3: error: no 'payload' object") == true)
        #expect(result.stdoutLines.count == 1, "the event after the bad lines is still evaluated")
        #expect(
            result.stdoutLines.first?.hasPrefix("2026-11-24T10:00:05.000Z failed-session subAccountId=acme count=1 id=")
                == true
        )
    }

    @Test func replayReadsStandardInput() throws {
        let fromFile = try Self.run([
            "replay", "-c", "rules.yaml", try write(Self.failuresJSONL, named: "events.jsonl"),
        ])
        let fromStdin = try Self.run(["replay", "-c", "rules.yaml", "-"], stdin: Self.failuresJSONL)
        #expect(fromStdin.status == 0)
        #expect(fromStdin.stdoutLines.count == 2)
        #expect(fromStdin.stdout == fromFile.stdout, "the same events give the same alerts and ids")

        let bad = try Self.run(["replay", "-c", "rules.yaml", "-"], stdin: "{not json}\n")
        #expect(bad.status == 1)
        #expect(bad.stderr.hasPrefix("<stdin>:1: error: malformed JSON"))
    }

    @Test func replayGivesOnePrettyPrintedFileWithAnErrorOneError() throws {
        let path = Self.fixtures.appendingPathComponent("8x8/vca-call-received-commented.json").path
        let result = try Self.run(["replay", "-c", "rules.yaml", path])
        #expect(result.status == 1)
        #expect(
            result.stderrLines == [
                "\(path):21: error: malformed JSON at line 21, column 21: expected a member name"
            ]
        )
        #expect(result.stdout.isEmpty)
    }

    @Test func replayNamesTheFileLineOfABadJSONLine() throws {
        let path = try write(
            """
            {"eventId": "ok", "callStatus": "CALL_CONNECTED", "timestamp": "2026-11-24T10:00:00Z"}
            {"eventId": "broken" "callStatus": "CALL_CONNECTED"}
            """,
            named: "bad.jsonl"
        )
        let result = try Self.run(["replay", "-c", "rules.yaml", path])
        #expect(result.stderrLines == ["\(path):2: error: malformed JSON at line 2, column 22: expected ',' or '}'"])
    }

    @Test func replaySkipsARedeliveredEventUnlessAskedToKeepIt() throws {
        // The third failure is a redelivery of the second: serve would answer it duplicate, so no window of 3.
        let events = """
            {"eventId": "r1", "callStatus": "CALL_DISCONNECTED", "sipCode": 486, "destination": "+6512", "timestamp": "2026-11-24T10:00:00Z"}
            {"eventId": "r2", "callStatus": "CALL_DISCONNECTED", "sipCode": 486, "destination": "+6512", "timestamp": "2026-11-24T10:01:00Z"}
            {"eventId": "r2", "callStatus": "CALL_DISCONNECTED", "sipCode": 486, "destination": "+6512", "timestamp": "2026-11-24T10:01:00Z"}

            """
        let path = try write(events, named: "redelivered.jsonl")
        let skipped = try Self.run(["replay", "-c", "rules.yaml", path])
        #expect(skipped.status == 0)
        #expect(skipped.stdout.isEmpty)
        #expect(skipped.stderrLines == ["callwatch: 1 duplicate event(s) skipped (--keep-duplicates evaluates them)"])

        let kept = try Self.run(["replay", "--keep-duplicates", "-c", "rules.yaml", path])
        #expect(kept.status == 0)
        #expect(kept.stderr.isEmpty)
        #expect(kept.stdoutLines.count == 1)
        #expect(kept.stdoutLines.first?.contains("repeated-sip-failures destination=+6512 count=3") == true)

        // Across files of one run too.
        let again = try write(events.split(separator: "\n").last.map(String.init) ?? "", named: "again.jsonl")
        let twoFiles = try Self.run(["replay", "-c", "rules.yaml", path, again])
        #expect(twoFiles.stderrLines == ["callwatch: 2 duplicate event(s) skipped (--keep-duplicates evaluates them)"])
    }

    @Test func replayReadsEveryDocumentedShape() throws {
        let directory = Self.fixtures.appendingPathComponent("8x8")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
            .filter { !$0.contains("commented") }
        #expect(files.count >= 7)
        let result = try Self.run(
            ["replay", "-c", "rules.yaml"] + files.map { directory.appendingPathComponent($0).path }
        )
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.isEmpty)
    }

    @Test func replayAcceptsAJSONArray() throws {
        let array = "[" + Self.failuresJSONL.split(separator: "\n").joined(separator: ",\n") + "]"
        let result = try Self.run(["replay", "-c", "rules.yaml", "-"], stdin: array)
        #expect(result.status == 0)
        #expect(result.stdoutLines.count == 2)
    }

    @Test func replayFailsOnBrokenRules() throws {
        let rules = try write("version: 1\nrules: [{name: a, cooldown: soon}]\n", named: "rules.yaml")
        let result = try Self.run(["replay", "-c", rules, "-"], stdin: "")
        #expect(result.status == 1)
        #expect(result.stderr.contains("\(rules):2:29: error: invalid duration 'soon' for cooldown in rule 'a'"))
    }

    // MARK: test

    @Test func ruleTestsOfTheShippedRulesPass() throws {
        let result = try Self.run(["test", "tests/rules.test.yaml"])
        #expect(result.status == 0)
        let lines = result.stdoutLines
        #expect(lines.last == "23 passed, 0 failed")
        #expect(lines.dropLast().count == 23)
        #expect(lines.dropLast().allSatisfy { $0.hasPrefix("PASS ") })
        #expect(lines.first == "PASS three failures to one destination fire once")
    }

    @Test func configOptionReplacesTheTestFilesRules() throws {
        // The shipped tests against rules without the SIP-failure rule: its cases must now fail.
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let reduced = directory.appendingPathComponent("reduced.yaml").path
        let shipped = try String(contentsOfFile: Self.rulesPath, encoding: .utf8)
        let start = try #require(shipped.range(of: "  - name: repeated-sip-failures"))
        let end = try #require(shipped.range(of: "  # 2. A call that connected"))
        try shipped.replacingCharacters(in: start.lowerBound..<end.lowerBound, with: "")
            .write(toFile: reduced, atomically: true, encoding: .utf8)
        let result = try Self.run(["test", "-c", reduced, "tests/rules.test.yaml"])
        #expect(result.status == 1)
        #expect(result.stdoutLines.contains { $0.hasPrefix("FAIL three failures to one destination fire once") })
        #expect(result.stdoutLines.contains("PASS two failures stay quiet"))
        let missing = try Self.run(["test", "-c", "/nonexistent/rules.yaml", "tests/rules.test.yaml"])
        #expect(missing.status == 1)
        #expect(missing.stdoutLines.first == "/nonexistent/rules.yaml:1:1: error: cannot read the file: no such file")
    }

    @Test func failingRuleTestIsReported() throws {
        let path = try write(
            """
            config: \(Self.rulesPath)
            start: 2026-11-24T10:00:00Z
            tests:
              - name: one failure is quiet
                events:
                  - {at: 0s, callStatus: CALL_DISCONNECTED, sipCode: 486, destination: "+6511"}
                expect: []
              - name: wrongly expects an alert
                events:
                  - {at: 0s, callStatus: CALL_DISCONNECTED, sipCode: 486, destination: "+6511"}
                  - {at: 1m, callStatus: CALL_DISCONNECTED, sipCode: 486, destination: "+6511"}
                expect:
                  - {rule: repeated-sip-failures, count: 2}
            """,
            named: "failing.test.yaml"
        )
        let result = try Self.run(["test", path])
        #expect(result.status == 1)
        #expect(
            result.stdoutLines == [
                "PASS one failure is quiet",
                "FAIL wrongly expects an alert: expected 1 alert(s), got 0; missing: [rule=repeated-sip-failures count=2]",
                "1 passed, 1 failed",
            ]
        )
    }

    @Test func ruleTestEventsKeepTheirYAMLTypes() throws {
        let rules = try write(
            """
            version: 1
            rules:
              - name: no-country
                when: {callStatus: CALL_DISCONNECTED, destinationCountryCode: null, sipCode: {gte: 400}}
                actions: []
            """,
            named: "rules.yaml"
        )
        let path = try write(
            """
            config: \(rules)
            tests:
              - name: null and absent match null, a string does not
                events:
                  - {at: 0s, callStatus: CALL_DISCONNECTED, sipCode: 486}
                  - {at: 1s, callStatus: CALL_DISCONNECTED, sipCode: 486, destinationCountryCode: null}
                  - {at: 2s, callStatus: CALL_DISCONNECTED, sipCode: 486, destinationCountryCode: ID}
                  - {at: 3s, callStatus: CALL_DISCONNECTED, sipCode: 200}
                expect:
                  - {rule: no-country, count: 1}
                  - {rule: no-country, count: 1}
            """,
            named: "types.test.yaml"
        )
        let result = try Self.run(["test", path])
        #expect(result.stdoutLines == ["PASS null and absent match null, a string does not", "1 passed, 0 failed"])
        #expect(result.status == 0)
    }

    @Test func unexpectedAlertFailsARuleTest() throws {
        let path = try write(
            """
            config: \(Self.rulesPath)
            start: 2026-11-24T10:00:00Z
            tests:
              - name: expects silence
                events:
                  - {at: 0s, callStatus: CALL_DISCONNECTED, sipCode: 200, callDuration: 0, callId: c9}
                none: true
            """,
            named: "unexpected.test.yaml"
        )
        let result = try Self.run(["test", path])
        #expect(result.status == 1)
        #expect(
            result.stdoutLines.first?.hasPrefix(
                "FAIL expects silence: expected 0 alert(s), got 1; unexpected: [rule=zero-duration-disconnect"
            ) == true
        )
        #expect(result.stdoutLines.last == "0 passed, 1 failed")
    }

    // MARK: version

    @Test func versionPrintsTheVersion() throws {
        let result = try Self.run(["version"])
        #expect(result.status == 0)
        #expect(result.stdout == CallWatchVersion.current + "\n")
        #expect(result.stdout.wholeMatch(of: /\d+\.\d+\.\d+\n/) != nil)
    }
}
