import Foundation

/// Request bodies and rules files for the end-to-end tests.
enum Fixture {
    static let ingestPath = "/v1/call-status"

    /// An 8x8 Call Status envelope. `extra` adds or replaces payload fields.
    static func event(
        id: String = UUID().uuidString,
        status: String = "CALL_DISCONNECTED",
        sipCode: Int = 486,
        destination: String = "+622150996455",
        callId: String = "a1d6a5e3-efec-11e9-b999-7d370b5f90d1",
        extra: [String: String] = [:]
    ) -> String {
        var payload: [String: Any] = [
            "eventId": id,
            "callId": callId,
            "sessionId": "a1d6a5e2-efec-11e9-b999-efc71013a78f",
            "subAccountId": "account_x",
            "callStatus": status,
            "callDirection": "OUTBOUND",
            "callType": "PSTN",
            "source": "+6283891703225",
            "destination": destination,
            "callDuration": 0,
            "eventData": " ",
            "sipCode": sipCode,
            "timestamp": "2019-10-16T08:12:01Z",
        ]
        for (key, value) in extra { payload[key] = value }
        return json([
            "namespace": "VOICE", "eventType": "CALL_STATUS", "description": "Status update of a call",
            "payload": payload,
        ])
    }

    /// An 8x8 Voice Session Summary envelope: no eventId, identified by eventType + sessionId.
    static func sessionSummary(sessionId: String) -> String {
        json([
            "namespace": "VOICE", "eventType": "SESSION_SUMMARY",
            "payload": [
                "sessionId": sessionId, "subAccountId": "account_x", "sessionStatus": "FAILED", "callCount": 2,
                "lastAction": "CALL_DISCONNECTED",
            ] as [String: Any],
        ])
    }

    static func json(_ object: [String: Any]) -> String {
        let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    /// A rules file: `server` lines go under `server:` (after path and a 1 KiB max_body), `rules` is the YAML
    /// list under `rules:` (written flush left: `- name: …`).
    static func config(server: [String] = [], rules: String) -> String {
        var lines = ["version: 1", "server:", "  path: \(ingestPath)", "  max_body: 1KiB"]
        lines += server.map { "  " + $0 }
        lines += ["rules:", rules]
        return lines.joined(separator: "\n") + "\n"
    }

    /// A rule that fires when `count` failed calls to one destination arrive within 5 minutes.
    static func windowRule(
        name: String,
        count: Int = 3,
        destination: String? = nil,
        cooldown: String = "0s",
        actions: String = #"  - log: {level: debug, message: "{{alert.count}} failures to {{destination}}"}"#
    ) -> String {
        let destinationLine = destination.map { "\n    destination: \"\($0)\"" } ?? ""
        return """
            - name: \(name)
              when:
                callStatus: CALL_DISCONNECTED
                sipCode: {gte: 400}\(destinationLine)
              by: [destination]
              window: {count: \(count), within: 5m}
              cooldown: \(cooldown)
              actions:
            \(actions)
            """
    }
}
