import CallWatch
import CallWatchTestSupport
import Foundation
import Logging
import NIOCore
import Synchronization
import Testing

@testable import CallWatchServer

/// Every 8x8 webhook shape (Tests/CallWatchTests/Fixtures/8x8) posted to the real server: accepted once, then
/// `duplicate`; identities that must not collide; malformed bodies answered with line and column.
@Suite("Webhook shapes")
struct WebhookShapesTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("CallWatchTests/Fixtures/8x8")

    static func fixture(_ name: String) throws -> String {
        try String(contentsOf: fixtures.appendingPathComponent(name), encoding: .utf8)
    }

    static let rules = """
        version: 1
        server:
          path: \(Fixture.ingestPath)
        rules:
        \(WebhookShapes.rulesYAML { #"[{log: {level: debug, message: "\#($0)"}}]"# })\
          - name: agent
            when: {callStatus: {in: [DTMF_RECEIVED, ACTION_COMPLETED]}}
            by: [callId]
            sequence: {field: dtmf, pattern: '\\*9#', within: 30s}
            actions:
              - log: {level: debug, message: "agent {{alert.match}}"}

        """

    static let shapes = WebhookShapes.rules.map { ($0.file, $0.rule) }

    @Test("each documented shape is accepted, fires its rule, and a redelivery is a duplicate")
    func everyShapeIsAcceptedOnce() async throws {
        try await withServer(rules: Self.rules) { server async throws in
            for (file, rule) in Self.shapes {
                let body = try Self.fixture(file)
                let first = try await server.post(body)
                #expect(first.status == .ok, "\(file): \(first.body)")
                #expect(first.statusField == "accepted", "\(file)")
                let again = try await server.post(body)
                #expect(again.statusField == "duplicate", "\(file)")
                #expect(try await server.alerts(rule: rule).count == 1, "\(file) fires \(rule) once")
            }
            let identities = try await server.storedIdentities()
            #expect(identities.count == Self.shapes.count)
            #expect(identities.filter { $0.hasPrefix("CALL_RECORDING_STATUS:") }.count == 2)
            #expect(identities.contains { $0.hasPrefix("VIRTUAL_NUMBER_UPDATE:") })
        }
    }

    @Test("two recording-status events of one session are both accepted")
    func recordingStatusesOfOneSession() async throws {
        try await withServer(rules: Self.rules) { server async throws in
            #expect(try await server.post(try Self.fixture("recording-status-uploaded.json")).statusField == "accepted")
            #expect(
                try await server.post(try Self.fixture("recording-status-upload-failed.json")).statusField == "accepted"
            )
        }
    }

    @Test("a CALL_ACTION event with a CALL_STATUS event's eventId is a different event")
    func eventIdsArePerEventType() async throws {
        let status = #"{"eventType": "CALL_STATUS", "payload": {"eventId": "shared-1", "callStatus": "CALL_RECEIVED"}}"#
        let action = #"{"eventType": "CALL_ACTION", "payload": {"eventId": "shared-1", "callStatus": "CALL_RECEIVED"}}"#
        try await withServer(rules: Self.rules) { server async throws in
            #expect(try await server.post(status).statusField == "accepted")
            #expect(try await server.post(action).statusField == "accepted")
            #expect(try await server.post(action).statusField == "duplicate")
            #expect(Set(try await server.storedIdentities()) == ["CALL_STATUS:shared-1", "CALL_ACTION:shared-1"])
        }
    }

    @Test("digits from payload.dtmf, eventData.dtmf and an eventData string drive one sequence")
    func dtmfFromEachPlace() async throws {
        let events = [
            #"{"eventType": "CALL_STATUS", "payload": {"eventId": "k1", "callId": "c9", "callStatus": "DTMF_RECEIVED", "dtmf": "*"}}"#,
            #"{"eventType": "CALL_ACTION", "payload": {"eventId": "k2", "callId": "c9", "callStatus": "ACTION_COMPLETED", "eventData": {"dtmf": 9}}}"#,
            ##"{"eventType": "CALL_STATUS", "payload": {"eventId": "k3", "callId": "c9", "callStatus": "DTMF_RECEIVED", "eventData": "#"}}"##,
        ]
        try await withServer(rules: Self.rules) { server async throws in
            for event in events { try await server.accept(event) }
            let alerts = try await server.alerts(rule: "agent")
            #expect(alerts.map(\.key) == ["callId=c9"])
        }
    }

    @Test("a malformed body's error names line and column; a body without a payload object is 400")
    func malformedBodies() async throws {
        try await withServer(rules: Self.rules) { server async throws in
            let commented = try await server.post(try Self.fixture("vca-call-received-commented.json"))
            #expect(commented.status == .badRequest)
            #expect(commented.errorField == "malformed JSON at line 21, column 21: expected a member name")
            for body in [#"{"payload": []}"#, #"{"payload": "x"}"#, #"{"eventId": "bare"}"#, #"{"eventType": "X"}"#] {
                let result = try await server.post(body)
                #expect(result.status == .badRequest, "\(body)")
                #expect(result.errorField == "no 'payload' object", "\(body)")
            }
            #expect(try await server.storedIdentities().isEmpty)
        }
    }

    @Test("any payload object is accepted: no eventId and no sessionId is identified by its content")
    func payloadWithoutIds() async throws {
        try await withServer(rules: Self.rules) { server async throws in
            #expect(try await server.post(#"{"payload": {"callStatus": "CALL_UPDATED"}}"#).statusField == "accepted")
            #expect(try await server.post(#"{"payload": {"callStatus":"CALL_UPDATED"}}"#).statusField == "duplicate")
            #expect(try await server.post(#"{"payload": {}}"#).statusField == "accepted")
        }
    }
}

/// `serve` warns once that it gives no call flow to a Voice Call Action webhook.
@Suite struct CallActionWarningTests {
    @Test func warnsOnTheFirstCallActionOnly() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("callwatch-vca-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var ruleSet = try RulesLoader.load(
            yaml: Fixture.config(rules: Fixture.windowRule(name: "never")),
            path: directory + "/rules.yaml",
            environment: [:]
        )
        ruleSet.state.path = directory + "/callwatch.db"
        let capture = LogCapture()
        let logger = capture.logger
        let store = try SQLiteStore(path: ruleSet.state.path)
        let dispatcher = ActionDispatcher(configuration: .init(defaults: ruleSet.defaults), logger: logger)
        let pipeline = Pipeline(ruleSet: ruleSet, store: store, dispatcher: dispatcher, logger: logger)
        let reloader = ConfigReloader(path: directory + "/rules.yaml", pipeline: pipeline, logger: logger)
        let endpoint = IngestEndpoint(pipeline: pipeline, reloader: reloader, path: ruleSet.server.path)

        func admit(_ body: String) {
            _ = endpoint.admit(ByteBuffer(string: body), oversize: false, requestGuard: endpoint.requestGuard)
        }
        func warnings() -> [String] {
            capture.entries.filter { $0.level == .warning }.map(\.message).filter { $0.contains("CALL_ACTION") }
        }
        admit(#"{"eventType": "CALL_STATUS", "payload": {"eventId": "s1"}}"#)
        #expect(warnings().isEmpty)
        admit(#"{"eventType": "CALL_ACTION", "payload": {"eventId": "a1"}}"#)
        admit(#"{"eventType": "CALL_ACTION", "payload": {"eventId": "a2"}}"#)
        #expect(warnings().count == 1)
    }
}
