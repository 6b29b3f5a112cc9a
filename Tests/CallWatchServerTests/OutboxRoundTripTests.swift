import CallWatchTestSupport
import Foundation
import HTTPTypes
import Synchronization
import Testing

@testable import CallWatch

/// An action still pending when the daemon is killed with SIGKILL renders, once resumed by the next start, exactly
/// what the live attempt rendered: every template field, the envelope's included.
@Suite(
    .enabled(if: DurabilityDaemon.binaryExists, "needs .build/debug/callwatch (make test builds it first)")
)
struct OutboxRoundTripTests {
    /// Every name a template can use, each under its own key of the `json:` body, and two of them in a header.
    static func rules(sinkPort: Int) -> String {
        let fields = [
            "namespace", "eventType", "description", "eventId", "callId", "sessionId", "callStatus", "sipCode",
            "destination", "source", "callDuration", "subAccountId", "timestamp", "rule.name", "rule.description",
            "alert.id", "alert.count", "alert.key", "alert.match", "alert.firstAt", "alert.lastAt", "alert.firedAt",
            "alert.status", "alert.value", "alert.startsAt", "alert.endsAt", "alert.json",
        ]
        let body = fields.map { "\($0.replacingOccurrences(of: ".", with: "_")): \"{{\($0)}}\"" }
        return """
            version: 1
            server: {path: /v1/call-status}
            defaults:
              http: {timeout: 1s, retries: 30}
            rules:
              - name: failed-call
                description: a call failed
                when: {callStatus: CALL_DISCONNECTED, sipCode: {gte: 400}}
                by: [destination]
                actions:
                  - http:
                      url: "http://127.0.0.1:\(sinkPort)/hook"
                      headers: {X-Event: "{{namespace}}/{{eventType}}"}
                      json: {\(body.joined(separator: ", "))}
            """
    }

    static let event = """
        {"namespace":"VOICE","eventType":"CALL_STATUS","description":"Status update of a call","payload":{\
        "eventId":"rt-1","callId":"call-rt-1","sessionId":"session-rt-1","subAccountId":"account_x",\
        "callStatus":"CALL_DISCONNECTED","sipCode":486,"destination":"+6591230001","source":"+6283891703225",\
        "callDuration":0,"timestamp":"2026-11-24T10:00:00Z"}}
        """

    @Test func aResumedActionRendersEveryTemplateFieldAsTheLiveOneDid() async throws {
        try await withTemporaryDirectory(prefix: "callwatch-outbox") { directory in
            let client = DurabilityClient()
            let port = try unusedPort()
            // Failing until the restart: the live attempts get 503 and the action stays pending.
            let failing = Mutex(true)
            try await withSink(respond: { _ in failing.withLock { $0 } ? .serviceUnavailable : .ok }) { sink in
                let rulesPath = directory + "/rules.yaml"
                try Self.rules(sinkPort: sink.port).write(toFile: rulesPath, atomically: true, encoding: .utf8)
                func start(_ label: String) throws -> DurabilityDaemon {
                    try DurabilityDaemon(
                        directory: directory,
                        rules: rulesPath,
                        store: directory + "/cw.db",
                        port: port,
                        label: label
                    )
                }
                let first = try start("live")
                try await first.waitUntilHealthy(client: client)
                let accepted = await client.post(first.baseURL + "/v1/call-status", body: Data(Self.event.utf8))
                #expect(accepted?.status == 200)
                let live = try #require(await sink.waitFor(count: 1, timeout: .seconds(20))?.first)
                try await first.kill9()
                failing.withLock { $0 = false }
                let attemptsBeforeKill = sink.received.count

                let second = try start("resumed")
                try await second.waitUntilHealthy(client: client)
                let received = try #require(await sink.waitFor(count: attemptsBeforeKill + 1, timeout: .seconds(20)))
                let resumed = received[attemptsBeforeKill]
                try await waitUntil("the outbox to record the success", timeout: .seconds(20)) {
                    try await client.alerts(second.baseURL).values.joined().contains { $0.status == "success" }
                }
                _ = try await second.terminate()

                #expect(resumed.body == live.body)
                #expect(resumed.headers[HTTPField.Name("X-Event")!] == "VOICE/CALL_STATUS")
                #expect(live.headers[HTTPField.Name("X-Event")!] == "VOICE/CALL_STATUS")
                #expect(resumed.idempotencyKey == live.idempotencyKey)
                let rendered = try #require(resumed.json)
                #expect(rendered["namespace"] as? String == "VOICE")
                #expect(rendered["eventType"] as? String == "CALL_STATUS")
                #expect(rendered["description"] as? String == "Status update of a call")
                #expect(rendered["sipCode"] as? String == "486")
                #expect(rendered["alert_key"] as? String == "destination=+6591230001")
                #expect(rendered["rule_description"] as? String == "a call failed")
                #expect(rendered["alert_status"] as? String == "firing")
                #expect(rendered["alert_value"] as? String == "")
                #expect(rendered["alert_startsAt"] as? String == rendered["alert_firedAt"] as? String)
                #expect(rendered["alert_endsAt"] as? String == "")
            }
        }
    }
}
