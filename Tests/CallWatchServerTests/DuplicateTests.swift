import Foundation
import GRDB
import Testing

@testable import CallWatch
@testable import CallWatchServer

/// 8x8 may retry; an event already seen is answered `duplicate` and not evaluated again.
@Suite("Duplicates")
struct DuplicateTests {
    @Test("a duplicate is not evaluated: it neither completes a window nor counts as a rule match")
    func duplicateIsNotReEvaluated() async throws {
        let rule = "e2e-duplicate-window"
        let rules = Fixture.config(rules: Fixture.windowRule(name: rule, count: 3))
        try await withServer(rules: rules) { server in
            let events = (1...6).map { Fixture.event(id: "dup-\($0)") }
            let start = try await server.metrics()
            for event in events[0..<3] { try await server.accept(event) }
            #expect(try await server.alerts(rule: rule).count == 1)

            // Retries of events of the window that already fired.
            let matchesBefore = try await server.metrics()
            for event in [events[2], events[0]] {
                let result = try await server.post(event)
                #expect(result.status == .ok)
                #expect(result.statusField == "duplicate")
            }
            let matchesAfter = try await server.metrics()
            #expect(matchesAfter.delta("callwatch_rule_matches_total", ["rule": rule], since: matchesBefore) == 0)
            #expect(matchesAfter.delta("callwatch_events_total", ["outcome": "duplicate"], since: matchesBefore) >= 2)

            // Two new events and a retry of the 3rd: were the retry evaluated, this would be a second window of 3.
            try await server.accept(events[3])
            try await server.accept(events[4])
            #expect(try await server.post(events[2]).statusField == "duplicate")
            #expect(try await server.post(events[4]).statusField == "duplicate")
            #expect(try await server.alerts(rule: rule).count == 1)

            // The next new event does complete it.
            try await server.accept(events[5])
            #expect(try await server.alerts(rule: rule).count == 2)
            let end = try await server.metrics()
            #expect(end.delta("callwatch_rule_matches_total", ["rule": rule], since: start) == 6)
            #expect(end.delta("callwatch_alerts_total", ["rule": rule, "state": "fired"], since: start) == 2)
            #expect(Set(try await server.storedIdentities()) == Set((1...6).map { "CALL_STATUS:dup-\($0)" }))
        }
    }

    @Test("an event journaled before identities were namespaced by event type is still a duplicate after the upgrade")
    func journaledBeforeTheUpgrade() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let event = Fixture.event(id: "pre-upgrade-1")
        do {
            // The store as the previous release left it: schema v3, the identity the bare eventId.
            let previous = try DatabaseQueue(path: scratch.path("state.db"))
            try SQLiteStore.migrator.migrate(previous, upTo: "v3")
            try await previous.write { db in
                try db.execute(
                    sql: "INSERT INTO events (identity, received_at, body) VALUES (?, ?, ?)",
                    arguments: ["pre-upgrade-1", Date().timeIntervalSince1970, Data(event.utf8)]
                )
            }
        }
        let rules = Fixture.config(rules: Fixture.windowRule(name: "e2e-upgrade", count: 2))
        try await withServer(rules: rules, scratch: scratch) { server in
            #expect(try await server.post(event).statusField == "duplicate")
            try await server.accept(Fixture.event(id: "pre-upgrade-2"))
            #expect(try await server.storedIdentities() == ["CALL_STATUS:pre-upgrade-1", "CALL_STATUS:pre-upgrade-2"])
        }
    }

    @Test("a session summary without eventId is identified by eventType + sessionId")
    func sessionSummaryIdentity() async throws {
        let rules = Fixture.config(
            rules: """
                - name: e2e-duplicate-session
                  when: {eventType: SESSION_SUMMARY}
                  actions:
                    - log: {level: debug, message: "session {{sessionId}}"}
                """
        )
        try await withServer(rules: rules) { server in
            let before = try await server.metrics()
            #expect(try await server.post(Fixture.sessionSummary(sessionId: "s-1")).statusField == "accepted")
            #expect(try await server.post(Fixture.sessionSummary(sessionId: "s-1")).statusField == "duplicate")
            #expect(try await server.post(Fixture.sessionSummary(sessionId: "s-2")).statusField == "accepted")
            let after = try await server.metrics()
            #expect(after.delta("callwatch_rule_matches_total", ["rule": "e2e-duplicate-session"], since: before) == 2)
            #expect(try await server.alerts(rule: "e2e-duplicate-session").count == 2)
        }
    }

    @Test("an event journaled before a restart is a duplicate after it, and still not evaluated twice")
    func duplicateAcrossRestart() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let rule = "e2e-duplicate-restart"
        let rules = Fixture.config(rules: Fixture.windowRule(name: rule, count: 3))
        let first = Fixture.event(id: "restart-1")
        try await withServer(rules: rules, scratch: scratch) { server in
            try await server.accept(first)
        }
        try await withServer(rules: rules, scratch: scratch) { server in
            // The window is rebuilt from the journal (restart-1); the retry must not add to it again.
            #expect(try await server.post(first).statusField == "duplicate")
            try await server.accept(Fixture.event(id: "restart-2"))
            #expect(try await server.alerts(rule: rule).isEmpty)
            try await server.accept(Fixture.event(id: "restart-3"))
            #expect(try await server.alerts(rule: rule).count == 1)
        }
    }
}
