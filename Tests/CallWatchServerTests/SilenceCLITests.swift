import CallWatchTestSupport
import Foundation
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Silences end to end: `callwatch silence add|list|expire` against a real `callwatch serve` through its API, with
/// the credentials of the rules file; the API refuses requests without them; a silence mutes the next alert of
/// its key at once and survives a restart.
@Suite(.enabled(if: DurabilityDaemon.binaryExists, "needs .build/debug/callwatch (make test builds it first)"))
struct SilenceCLITests {
    static let secret = "Bearer s1lence-test"

    static let rules = """
        version: 1
        server:
          path: /v1/call-status
          auth: {authorization: "\(secret)"}
        rules:
          - name: failed-call
            when: {callStatus: CALL_DISCONNECTED, sipCode: {gte: 400}}
            by: [destination]
            actions: [{log: {message: "failed call"}}]
        """

    /// Runs the CLI; returns its status and standard output.
    static func cli(
        _ arguments: [String],
        in directory: String
    ) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: DurabilityDaemon.binary)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let out = directory + "/cli.stdout"
        let err = directory + "/cli.stderr"
        _ = FileManager.default.createFile(atPath: out, contents: nil)
        _ = FileManager.default.createFile(atPath: err, contents: nil)
        process.standardOutput = FileHandle(forWritingAtPath: out)
        process.standardError = FileHandle(forWritingAtPath: err)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return (
            process.terminationStatus,
            (try? String(contentsOfFile: out, encoding: .utf8)) ?? "",
            (try? String(contentsOfFile: err, encoding: .utf8)) ?? ""
        )
    }

    static func request(
        _ method: String,
        _ url: String,
        body: String? = nil,
        authorized: Bool = true
    ) async throws -> (status: Int, body: String) {
        var request = URLRequest(url: URL(string: url)!)
        request.httpMethod = method
        if authorized { request.setValue(secret, forHTTPHeaderField: "Authorization") }
        if let body {
            request.httpBody = Data(body.utf8)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    @Test func silencesThroughTheCLIMuteAtOnceAndSurviveARestart() async throws {
        try await withTemporaryDirectory(prefix: "callwatch-silence") { directory in
            try Self.rules.write(toFile: directory + "/rules.yaml", atomically: true, encoding: .utf8)
            let port = try unusedPort()
            var daemon: DurabilityDaemon? = try DurabilityDaemon(
                directory: directory,
                rules: directory + "/rules.yaml",
                store: directory + "/cw.db",
                port: port,
                label: "first"
            )
            let client = DurabilityClient()
            try await daemon!.waitUntilHealthy(client: client)
            let base = "http://127.0.0.1:\(port)"
            let target = ["-c", "rules.yaml", "--url", base]

            #expect(try await Self.request("GET", base + "/api/v1/silences", authorized: false).status == 401)
            #expect(
                try await Self.request("POST", base + "/api/v1/silences", body: "{}", authorized: false).status == 401
            )
            #expect(try await Self.request("DELETE", base + "/api/v1/silences/x", authorized: false).status == 401)
            let refused = try await Self.request("POST", base + "/api/v1/silences", body: #"{"comment": "x"}"#)
            #expect(refused.status == 400)
            #expect(refused.body.contains("endsAt"))

            let added = try Self.cli(
                ["silence", "add"] + target + [
                    "--match", #"destination=~\+65.*"#, "--for", "1h", "--comment", "carrier maintenance",
                    "--author", "ops",
                ],
                in: directory
            )
            #expect(added.status == 0, "\(added.stderr)")
            let id = added.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(!id.isEmpty)
            let listed = try Self.cli(["silence", "list"] + target, in: directory)
            #expect(listed.stdout.hasPrefix("\(id) active "))
            #expect(listed.stdout.contains(#"destination=~\+65.*"#))
            #expect(listed.stdout.contains("carrier maintenance (ops)"))

            for (eventID, destination) in [("e1", "+6511"), ("e2", "+6211")] {
                let answer = try await Self.request(
                    "POST",
                    base + "/v1/call-status",
                    body: Fixture.event(id: eventID, destination: destination)
                )
                #expect(answer.status == 200)
            }
            let alerts = try await Self.request("GET", base + "/api/v1/alerts")
            let list = try #require(try JSONSerialization.jsonObject(with: Data(alerts.body.utf8)) as? [[String: Any]])
            let states = Dictionary(list.map { ($0["key"] as? String ?? "", $0["state"] as? String ?? "") }) { a, _ in a
            }
            #expect(states == ["destination=+6511": "silenced", "destination=+6211": "notified"])
            let metrics = try await Self.request("GET", base + "/metrics")
            #expect(metrics.body.contains(#"callwatch_alerts_total{rule="failed-call",state="silenced"} 1"#))

            _ = try await daemon!.terminate()
            daemon = try DurabilityDaemon(
                directory: directory,
                rules: directory + "/rules.yaml",
                store: directory + "/cw.db",
                port: port,
                label: "second"
            )
            try await daemon!.waitUntilHealthy(client: client)
            #expect(try Self.cli(["silence", "list"] + target, in: directory).stdout.hasPrefix("\(id) active "))
            let expired = try Self.cli(["silence", "expire"] + target + [id], in: directory)
            #expect(expired.status == 0, "\(expired.stderr)")
            #expect(try Self.cli(["silence", "list"] + target, in: directory).stdout.isEmpty)
            #expect(
                try Self.cli(["silence", "list", "--all"] + target, in: directory).stdout.hasPrefix("\(id) expired ")
            )
            let missing = try Self.cli(["silence", "expire"] + target + ["no-such-id"], in: directory)
            #expect(missing.status != 0)
            #expect(missing.stderr.contains("no silence 'no-such-id'"))
            _ = try await daemon!.terminate()
        }
    }
}
