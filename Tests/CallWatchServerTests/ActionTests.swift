import CallWatch
import CallWatchTestSupport
import Foundation
import HTTPTypes
import Testing

@testable import CallWatchServer

/// An alert runs real hooks and reaches a real HTTP receiver; ingest never waits for them.
@Suite("Actions end to end")
struct ActionTests {
    /// Records its arguments, environment and stdin, each file renamed into place once complete.
    static let recordingHook = """
        dir="$1"; shift
        cat > "$dir/hook.stdin.tmp"
        {
          printf 'args=%s\\n' "$*"
          printf 'rule=%s\\n' "$CALLWATCH_RULE"
          printf 'alert=%s\\n' "$CALLWATCH_ALERT_ID"
          printf 'sip=%s\\n' "$CALLWATCH_SIP_CODE"
        } > "$dir/hook.env.tmp"
        mv "$dir/hook.stdin.tmp" "$dir/hook.stdin"
        mv "$dir/hook.env.tmp" "$dir/hook.env"

        """

    @Test("the event that completes a window runs a real exec hook and reaches a real HTTP sink")
    func windowRunsExecAndHTTP() async throws {
        let rule = "e2e-actions-window"
        try await withSink { sink in
            let scratch = try Scratch()
            defer { scratch.remove() }
            let hook = try scratch.script("hook.sh", Self.recordingHook)
            let actions = """
                  - exec: {command: [/bin/sh, "\(hook)", "\(scratch.directory)", "{{alert.count}}", "{{destination}}"]}
                  - http:
                      url: "\(sink.url("/hook/json"))"
                      json: {text: "{{rule.name}} for {{destination}}", count: "{{alert.count}}"}
                  - http: {url: "\(sink.url("/hook/alert"))"}
                """
            let rules = Fixture.config(rules: Fixture.windowRule(name: rule, count: 3, actions: actions))
            try await withServer(rules: rules, scratch: scratch) { server in
                let before = try await server.metrics()
                let destination = "+622150996455"
                try await server.accept(Fixture.event(id: "act-1", sipCode: 486, destination: destination))
                try await server.accept(Fixture.event(id: "act-2", sipCode: 503, destination: destination))
                // Two of three: no alert was recorded with those events, so nothing can have run.
                #expect(try await server.alerts(rule: rule).isEmpty)
                #expect(!scratch.exists("hook.env"))
                #expect(sink.received.isEmpty)

                try await server.accept(Fixture.event(id: "act-3", sipCode: 480, destination: destination))
                let alert = try #require(try await server.alerts(rule: rule).first)
                #expect(alert.key == "destination=\(destination)")

                // The exec hook: argv templates, environment, the alert JSON on stdin.
                #expect(await eventually { scratch.exists("hook.env") }, "the hook did not run")
                let env = try #require(scratch.read("hook.env"))
                #expect(env.contains("args=3 \(destination)\n"))
                #expect(env.contains("rule=\(rule)\n"))
                #expect(env.contains("alert=\(alert.id)\n"))
                #expect(env.contains("sip=480\n"))
                let stdin = try #require(scratch.read("hook.stdin"))
                let stdinAlert = try #require(
                    try JSONSerialization.jsonObject(with: Data(stdin.utf8)) as? [String: Any]
                )
                #expect(stdinAlert["id"] as? String == alert.id)
                #expect(stdinAlert["count"] as? Int == 3)

                // The HTTP sink: both requests, each with the alert id as Idempotency-Key.
                let received = try #require(await sink.waitFor(count: 2), "the sink got \(sink.received.count)")
                #expect(received.count == 2)
                for request in received {
                    #expect(request.method == .post)
                    #expect(request.headers[HTTPField.Name("Idempotency-Key")!] == alert.id)
                    #expect(request.headers[.contentType]?.hasPrefix("application/json") == true)
                }
                let json = try #require(received.first { $0.path == "/hook/json" }?.json)
                #expect(json["text"] as? String == "\(rule) for \(destination)")
                #expect(json["count"] as? String == "3")
                let body = try #require(received.first { $0.path == "/hook/alert" }?.json)
                #expect(body["id"] as? String == alert.id)
                #expect(body["rule"] as? String == rule)
                #expect(body["count"] as? Int == 3)
                #expect((body["key"] as? [String: Any])?["destination"] as? String == destination)
                let events = try #require(body["events"] as? [[String: Any]])
                #expect(events.compactMap { $0["eventId"] as? String } == ["act-1", "act-2", "act-3"])

                // The outbox and the metrics record the three successes.
                let done = await eventually {
                    let actions = (try? await server.alerts(rule: rule).first?.actions) ?? []
                    return actions.count == 3 && actions.allSatisfy { $0.status == "success" }
                }
                let outbox = try await server.alerts(rule: rule).first?.actions ?? []
                #expect(done, "outbox: \(outbox)")
                let after = try await server.metrics()
                let labels = ["rule": rule, "outcome": "success"]
                #expect(
                    after.delta("callwatch_actions_total", labels.merging(["action": "exec"]) { $1 }, since: before)
                        == 1
                )
                #expect(
                    after.delta("callwatch_actions_total", labels.merging(["action": "http"]) { $1 }, since: before)
                        == 2
                )
                #expect(after.delta("callwatch_alerts_total", ["rule": rule, "state": "fired"], since: before) == 1)
                #expect(after.delta("callwatch_action_duration_seconds_count", ["action": "exec"], since: before) >= 1)
                #expect(after.delta("callwatch_action_duration_seconds_count", ["action": "http"], since: before) >= 2)
            }
        }
    }

    @Test("ingest answers while the hook it triggered is still running")
    func ingestDoesNotWaitForActions() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let hook = try scratch.script(
            "gate.sh",
            """
            dir="$1"
            touch "$dir/started"
            while [ ! -f "$dir/release" ]; do sleep 0.05; done
            touch "$dir/done"

            """
        )
        let rule = "e2e-actions-gate"
        let actions = #"  - exec: {command: [/bin/sh, "\#(hook)", "\#(scratch.directory)"]}"#
        let rules = Fixture.config(rules: Fixture.windowRule(name: rule, count: 1, actions: actions))
        try await withServer(rules: rules, scratch: scratch) { server in
            defer { try? scratch.write("release", "") }
            // Were the answer held until the hook ends, this would time out: the hook waits for `release`.
            let result = try await server.post(Fixture.event(id: "gate-1"), timeout: .seconds(5))
            #expect(result.statusField == "accepted")
            #expect(await eventually { scratch.exists("started") }, "the hook did not start")
            #expect(!scratch.exists("done"))
            // Further events are answered too while the hook runs.
            try await server.accept(Fixture.event(id: "gate-2", destination: "+6200000009"))

            try scratch.write("release", "")
            #expect(await eventually { scratch.exists("done") })
            #expect(
                await eventually {
                    let alerts = (try? await server.alerts(rule: rule)) ?? []
                    return alerts.count == 2 && alerts.allSatisfy { $0.actions.first?.status == "success" }
                }
            )
        }
    }

    @Test("failed, rejected and timed-out actions are counted and recorded in the outbox")
    func failedActions() async throws {
        let respond: @Sendable (String) -> HTTPResponse.Status = { $0.contains("reject") ? .badRequest : .ok }
        try await withSink(respond: respond) { sink in
            let rules = Fixture.config(
                rules: """
                    - name: e2e-actions-exec-fails
                      when: {destination: "+100"}
                      actions:
                        - exec: {command: [/bin/sh, -c, "exit 3"]}
                    - name: e2e-actions-http-rejected
                      when: {destination: "+200"}
                      actions:
                        - http: {url: "\(sink.url("/reject"))", retries: 3}
                    - name: e2e-actions-exec-times-out
                      when: {destination: "+300"}
                      actions:
                        - exec: {command: [/bin/sh, -c, "sleep 10"], timeout: 200ms}
                    """
            )
            let shortKillGrace = { (configuration: inout ServeConfiguration) in
                configuration.killGrace = .milliseconds(200)
            }
            try await withServer(rules: rules, configure: shortKillGrace) { server in
                let before = try await server.metrics()
                for destination in ["+100", "+200", "+300"] {
                    try await server.accept(Fixture.event(destination: destination))
                }
                let expected = [
                    ("e2e-actions-exec-fails", "exec", "failure"),
                    ("e2e-actions-http-rejected", "http", "failure"),
                    ("e2e-actions-exec-times-out", "exec", "timeout"),
                ]
                for (rule, kind, status) in expected {
                    let recorded = await eventually {
                        let action = try? await server.alerts(rule: rule).first?.actions.first
                        return action?.status == status
                    }
                    let actions = try await server.alerts(rule: rule).first?.actions ?? []
                    #expect(recorded, "\(rule): \(actions)")
                    #expect(actions.first?.kind == kind)
                    #expect(actions.first?.attempts == 1, "a 4xx or a non-retried failure is tried once")
                    #expect(actions.first?.reason?.isEmpty == false)
                }
                #expect(sink.received.count == 1)
                let after = try await server.metrics()
                for (rule, kind, status) in expected {
                    let labels = ["rule": rule, "action": kind, "outcome": status]
                    #expect(after.delta("callwatch_actions_total", labels, since: before) == 1, "\(labels)")
                    let success = ["rule": rule, "action": kind, "outcome": "success"]
                    #expect(after.delta("callwatch_actions_total", success, since: before) == 0)
                }
            }
        }
    }
}
