import Foundation
import Testing

@testable import CallWatch

extension Actions {
    /// An alert's rendering inputs (template context, alert JSON, exec environment) are built once per alert.
    @Suite struct AlertRenderingTests {
        static let yaml = """
            - exec: {command: ["/bin/true", "{{destination}}"]}
            - http: {url: "http://127.0.0.1/{{rule.name}}"}
            - log: "fired for {{destination}}"
            - exec: {command: ["/bin/echo"], env: {TO: "{{destination}}"}}
            """

        @Test func actionsOfOneAlertShareOneRendering() throws {
            let alert = try ActionFixture.alert()
            let pending = PendingAction.all(for: alert, actions: try ActionFixture.actions(Self.yaml))
            try #require(pending.count == 4)
            #expect(pending.map(\.actionIndex) == [0, 1, 2, 3])
            #expect(pending.allSatisfy { $0.rendering === pending[0].rendering })
            #expect(pending[0].rendering.json == alert.jsonString)
            // Another alert gets its own.
            let other = PendingAction.all(for: try ActionFixture.alert(), actions: try ActionFixture.actions(Self.yaml))
            #expect(other[0].rendering !== pending[0].rendering)
        }

        @Test func noActionsBuildNoRendering() throws {
            #expect(PendingAction.all(for: try ActionFixture.alert(), actions: []).isEmpty)
        }

        /// A retry resumed after a restart comes alone and builds its own.
        @Test func resumedActionBuildsItsOwnRendering() throws {
            let alert = try ActionFixture.alert([("destination", .string("+6591234567"))])
            let action = try #require(try ActionFixture.actions(Self.yaml).first)
            let pending = PendingAction(alert: alert, actionIndex: 0, action: action, attempts: 2, notBefore: Date())
            #expect(pending.rendering.json == alert.jsonString)
            #expect(pending.rendering.environment == AlertContext.environment(for: alert))
            #expect(pending.rendering.environment["CALLWATCH_DESTINATION"] == "+6591234567")
        }

        /// `alert.status`, `alert.value`, `alert.startsAt` and `alert.endsAt`: value and end render empty when null.
        @Test func templatesSeeStatusValueAndTimes() throws {
            let template = try Template("{{alert.status}}|{{alert.value}}|{{alert.startsAt}}|{{alert.endsAt}}")
            var alert = try ActionFixture.alert()
            alert.firedAt = Date(timeIntervalSince1970: 1_795_514_460)
            alert.startsAt = alert.firedAt
            #expect(AlertContext(alert: alert).render(template) == "firing||2026-11-24T10:01:00.000Z|")
            alert.status = .resolved
            alert.value = 486
            alert.startsAt = Date(timeIntervalSince1970: 1_795_514_400)
            alert.endsAt = Date(timeIntervalSince1970: 1_795_514_700.25)
            #expect(
                AlertContext(alert: alert).render(template)
                    == "resolved|486|2026-11-24T10:00:00.000Z|2026-11-24T10:05:00.250Z"
            )
            alert.value = 0.375
            #expect(AlertContext(alert: alert).render(try Template("{{alert.value}}")) == "0.375")
        }

        @Test func environmentCarriesStatusAndAnEmptyValueWhenThereIsNone() throws {
            let environment = AlertContext.environment(for: try ActionFixture.alert())
            #expect(environment["CALLWATCH_ALERT_STATUS"] == "firing")
            #expect(environment["CALLWATCH_ALERT_VALUE"] == "")
        }

        /// A payload field whose name maps to one of the hook's own variables does not replace it.
        @Test func payloadFieldsDoNotReplaceTheHooksOwnVariables() throws {
            let alert = try ActionFixture.alert([
                ("alertId", .string("forged")), ("alert_id", .string("forged")), ("rule", .string("forged")),
                ("alertStatus", .string("forged")),
            ])
            let environment = AlertContext.environment(for: alert)
            #expect(environment["CALLWATCH_ALERT_ID"] == alert.id)
            #expect(environment["CALLWATCH_RULE"] == alert.rule)
            #expect(environment["CALLWATCH_ALERT_STATUS"] == "firing")
        }

        /// A NUL in a payload field cannot reach a C string: it is dropped from the environment and the argv.
        @Test func aNULInAFieldIsDroppedFromTheHooksEnvironmentAndArguments() throws {
            let alert = try ActionFixture.alert([("destination", .string("+65\u{0}91"))])
            let rows = ExecRunner.environmentRows(AlertContext.environment(for: alert))
            let row = try #require(rows.first { $0.starts(with: Array("CALLWATCH_DESTINATION=".utf8)) })
            #expect(row == Array("CALLWATCH_DESTINATION=+6591\u{0}".utf8))
            let actions = try ActionFixture.actions(#"- exec: {command: [/bin/echo, "{{destination}}"]}"#)
            guard case .exec(let exec) = actions[0] else { throw TestDeadline(description: "not exec") }
            #expect(ExecRunner.invocation(for: exec, rendering: AlertRendering(alert: alert)).argv.last == "+6591")
        }

        /// Exec and HTTP render from the rendering they are given; nothing is rebuilt from the alert.
        @Test func execAndHTTPRenderFromTheGivenRendering() throws {
            let alert = try ActionFixture.alert([("destination", .string("+6591234567"))])
            let rendering = AlertRendering(alert: alert)
            let actions = try ActionFixture.actions(Self.yaml)
            guard case .exec(let exec) = actions[0], case .http(let http) = actions[1],
                case .exec(let withEnv) = actions[3]
            else {
                Issue.record("unexpected action kinds: \(actions.map(\.kind))")
                return
            }
            let invocation = ExecRunner.invocation(for: exec, rendering: rendering)
            #expect(invocation.argv == ["/bin/true", "+6591234567"])
            #expect(invocation.stdin == rendering.json)
            #expect(invocation.environment == rendering.environment)
            let overridden = ExecRunner.invocation(for: withEnv, rendering: rendering)
            #expect(overridden.environment["TO"] == "+6591234567")
            #expect(overridden.environment["CALLWATCH_ALERT_ID"] == alert.id)
            let request = HTTPSender.request(for: http, alert: alert, rendering: rendering)
            #expect(request.url == "http://127.0.0.1/hook-test")
            #expect(request.body == Data(rendering.json.utf8))
            #expect(request.headers.filter { $0.name == "Idempotency-Key" }.map(\.value) == [alert.id])
        }
    }
}
