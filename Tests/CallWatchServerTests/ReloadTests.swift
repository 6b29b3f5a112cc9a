import CallWatch
import CallWatchTestSupport
import Foundation
import HTTPTypes
import Testing

@testable import CallWatchServer

/// Hot reload, in process: `POST /-/reload` and the file watch (SIGHUP is in `SignalTests`, against the
/// real binary). Serialized because the reload gauges are process-wide and some tests here wait on them.
@Suite("Hot reload", .serialized)
struct ReloadTests {
    static func rule(_ name: String, destination: String) -> String {
        """
        - name: \(name)
          when: {callStatus: CALL_DISCONNECTED, destination: "\(destination)"}
          actions:
            - log: {level: debug, message: "{{rule.name}} {{eventId}}"}
        """
    }

    /// A file with a misspelt key (line 10, column 3 of `Fixture.config` with one `rule(…)`).
    static func broken(keeping rule: String) -> String {
        Fixture.config(rules: rule + "\n  cooldwn: 5m")
    }

    /// Whether `rule` is loaded: its series appear in /metrics as soon as the rules are live.
    static func isLive(_ rule: String, on server: RunningServer) async -> Bool {
        (try? await server.metrics().value("callwatch_rule_matches_total", ["rule": rule])) != nil
    }

    @Test("POST /-/reload answers 200 when the new rules are live")
    func endpointReload() async throws {
        let old = Self.rule("e2e-reload-endpoint-old", destination: "+1001")
        let new = Self.rule("e2e-reload-endpoint-new", destination: "+1002")
        try await withServer(rules: Fixture.config(rules: old)) { server in
            try await server.accept(Fixture.event(destination: "+1002"))
            #expect(try await server.alerts(rule: "e2e-reload-endpoint-new").isEmpty)

            try server.scratch.write("rules.yaml", Fixture.config(rules: old + "\n" + new))
            let result = try await server.reload()
            #expect(result.status == .ok)
            #expect(result.isJSON)
            #expect(result.statusField == "reloaded")
            #expect(result.json?["rules"] as? Int == 2)

            // Live as soon as the answer is in: no waiting.
            try await server.accept(Fixture.event(destination: "+1002"))
            #expect(try await server.alerts(rule: "e2e-reload-endpoint-new").count == 1)
            try await server.accept(Fixture.event(destination: "+1001"))
            #expect(try await server.alerts(rule: "e2e-reload-endpoint-old").count == 1)
        }
    }

    @Test("a broken file is rejected with check's diagnostics and the running rules stay")
    func brokenFileRejected() async throws {
        let old = Self.rule("e2e-reload-broken-old", destination: "+2001")
        try await withServer(rules: Fixture.config(rules: old)) { server in
            try server.scratch.write("rules.yaml", Self.broken(keeping: old))
            let result = try await server.reload()
            #expect(result.status == .badRequest)
            #expect(result.isJSON)
            #expect(result.errorField?.contains("running rules stay") == true)
            let diagnostics = try #require(result.json?["diagnostics"] as? [String])
            let expected = "\(server.configPath):10:3: error: unknown key 'cooldwn'"
            #expect(diagnostics.contains { $0.hasPrefix(expected) }, "\(diagnostics)")
            #expect(diagnostics.contains { $0.contains("did you mean 'cooldown'?") }, "\(diagnostics)")

            try await server.accept(Fixture.event(destination: "+2001"))
            #expect(try await server.alerts(rule: "e2e-reload-broken-old").count == 1)

            // Fixing the file makes the next reload succeed.
            let new = Self.rule("e2e-reload-broken-fixed", destination: "+2002")
            try server.scratch.write("rules.yaml", Fixture.config(rules: new))
            #expect(try await server.reload().status == .ok)
            try await server.accept(Fixture.event(destination: "+2002"))
            #expect(try await server.alerts(rule: "e2e-reload-broken-fixed").count == 1)
            try await server.accept(Fixture.event(destination: "+2001"))
            #expect(try await server.alerts(rule: "e2e-reload-broken-old").count == 1, "the old rule is gone")
        }
    }

    enum Edit: String, Sendable, CaseIterable {
        case inPlace = "in-place"
        case rename = "rename"
        case replace = "replace"

        func apply(_ text: String, in scratch: Scratch) throws {
            switch self {
            case .inPlace: try scratch.write("rules.yaml", text)
            case .rename: try scratch.writeByRename("rules.yaml", text)
            case .replace: try scratch.replace("rules.yaml", text)
            }
        }
    }

    @Test("the file watch reloads on an edit, and keeps watching after it", arguments: Edit.allCases)
    func fileWatch(_ edit: Edit) async throws {
        let first = Self.rule("e2e-watch-\(edit.rawValue)-first", destination: "+3001")
        let second = Self.rule("e2e-watch-\(edit.rawValue)-second", destination: "+3002")
        let third = Self.rule("e2e-watch-\(edit.rawValue)-third", destination: "+3003")
        let configure = { (configuration: inout ServeConfiguration) in
            configuration.watchInterval = .milliseconds(100)
        }
        try await withServer(rules: Fixture.config(rules: first), configure: configure) { server in
            try edit.apply(Fixture.config(rules: first + "\n" + second), in: server.scratch)
            #expect(await eventually { await Self.isLive("e2e-watch-\(edit.rawValue)-second", on: server) })
            try await server.accept(Fixture.event(destination: "+3002"))
            #expect(try await server.alerts(rule: "e2e-watch-\(edit.rawValue)-second").count == 1)

            // A second edit of the same kind: the watch survived the first.
            try edit.apply(Fixture.config(rules: third), in: server.scratch)
            #expect(await eventually { await Self.isLive("e2e-watch-\(edit.rawValue)-third", on: server) })
            try await server.accept(Fixture.event(destination: "+3003"))
            #expect(try await server.alerts(rule: "e2e-watch-\(edit.rawValue)-third").count == 1)
            try await server.accept(Fixture.event(destination: "+3001"))
            #expect(try await server.alerts(rule: "e2e-watch-\(edit.rawValue)-first").isEmpty)
        }
    }

    @Test("a broken file saved by rename is rejected by the watch and the running rules stay")
    func fileWatchBrokenFile() async throws {
        let old = Self.rule("e2e-watch-broken-old", destination: "+4001")
        let configure = { (configuration: inout ServeConfiguration) in
            configuration.watchInterval = .milliseconds(100)
        }
        try await withServer(rules: Fixture.config(rules: old), configure: configure) { server in
            let gauge = "callwatch_config_last_reload_successful"
            #expect(try await server.metrics().value(gauge) == 1)
            try server.scratch.writeByRename("rules.yaml", Self.broken(keeping: old))
            // The gauge is process-wide and any server starting elsewhere sets it to 1: read the registry directly
            // and often, so the watch's 0 is seen before another test's start can hide it.
            let rejected = await eventually(poll: .milliseconds(1)) {
                MetricsSnapshot(text: String(decoding: MetricsSetup.render(), as: UTF8.self)).value(gauge) == 0
            }
            #expect(rejected, "the watch did not try the broken file")

            try await server.accept(Fixture.event(destination: "+4001"))
            #expect(try await server.alerts(rule: "e2e-watch-broken-old").count == 1)

            let fixed = Self.rule("e2e-watch-broken-fixed", destination: "+4002")
            try server.scratch.writeByRename("rules.yaml", Fixture.config(rules: old + "\n" + fixed))
            #expect(await eventually { await Self.isLive("e2e-watch-broken-fixed", on: server) })
            #expect(try await server.metrics().value(gauge) == 1)
            try await server.accept(Fixture.event(destination: "+4002"))
            #expect(try await server.alerts(rule: "e2e-watch-broken-fixed").count == 1)
        }
    }

    enum Trigger: String, Sendable, CaseIterable {
        case endpoint
        case fileRename = "file-rename"
    }

    @Test("a window's state survives a reload that leaves its rule unchanged", arguments: Trigger.allCases)
    func windowStateSurvivesReload(_ trigger: Trigger) async throws {
        let rule = "e2e-reload-keeps-\(trigger.rawValue)"
        let windowRule = Fixture.windowRule(name: rule, count: 3)
        let unrelated = Self.rule("e2e-reload-unrelated-\(trigger.rawValue)", destination: "+5001")
        let configure = { (configuration: inout ServeConfiguration) in
            if trigger == .fileRename { configuration.watchInterval = .milliseconds(100) }
        }
        try await withServer(rules: Fixture.config(rules: windowRule), configure: configure) { server in
            try await server.accept(Fixture.event(id: "keep-1"))
            try await server.accept(Fixture.event(id: "keep-2"))
            #expect(try await server.alerts(rule: rule).isEmpty)

            let edited = Fixture.config(rules: windowRule + "\n" + unrelated)
            switch trigger {
            case .endpoint:
                try server.scratch.write("rules.yaml", edited)
                #expect(try await server.reload().status == .ok)
            case .fileRename:
                try server.scratch.writeByRename("rules.yaml", edited)
                #expect(
                    await eventually { await Self.isLive("e2e-reload-unrelated-\(trigger.rawValue)", on: server) }
                )
            }

            try await server.accept(Fixture.event(id: "keep-3"))
            let alerts = try await server.alerts(rule: rule)
            #expect(alerts.count == 1, "the 3rd event after the reload should complete the window")
        }
    }

    @Test("a reload applies new credentials to ingest and to the reload endpoint itself")
    func reloadAppliesAuth() async throws {
        let rule = Self.rule("e2e-reload-auth", destination: "+6001")
        try await withServer(rules: Fixture.config(rules: rule)) { server in
            try await server.accept(Fixture.event())
            let secured = Fixture.config(server: [#"auth: {authorization: "Bearer reloaded"}"#], rules: rule)
            try server.scratch.write("rules.yaml", secured)
            #expect(try await server.reload().status == .ok)

            #expect(try await server.post(Fixture.event()).status == .unauthorized)
            try await server.accept(Fixture.event(), headers: [.authorization: "Bearer reloaded"])
            #expect(try await server.reload().status == .unauthorized)
            #expect(try await server.reload(headers: [.authorization: "Bearer reloaded"]).status == .ok)
        }
    }
}
