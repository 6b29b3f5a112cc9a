import CallWatchTestSupport
import Foundation
import Testing

@testable import CallWatch

/// `group: {wait, interval}` on a timeline of plain dates: the writer's grouping state, then the pipeline on a real
/// SQLite file posting to a real HTTP sink, told the time by explicit ticks (nothing sleeps for timing).
@Suite struct GroupingTests {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    static func alert(_ key: String, at seconds: Double, rule: String = "failures") -> Alert {
        Alert(
            id: "\(rule)-\(key)",
            rule: rule,
            description: "",
            key: [(field: "destination", value: key)],
            count: 1,
            match: nil,
            firstAt: t0.addingTimeInterval(seconds),
            lastAt: t0.addingTimeInterval(seconds),
            firedAt: t0.addingTimeInterval(seconds),
            events: []
        )
    }

    static func at(_ seconds: Double) -> Date { t0.addingTimeInterval(seconds) }

    @Test func threeAlertsInsideWaitGoTogetherAndAFourthWaitsForTheInterval() {
        let group = Rule.Group(wait: .seconds(30), interval: .seconds(300))
        var groups = NotificationGroups()
        for (key, time) in [("A", 0.0), ("B", 10), ("C", 29)] {
            groups.add(Self.alert(key, at: time), group: group, actions: [0: "http"])
        }
        #expect(groups.due(at: Self.at(29.9)).isEmpty)
        let first = groups.due(at: Self.at(30))
        #expect(first.map { $0.members.map(\.keyText) } == [["destination=A", "destination=B", "destination=C"]])
        groups.sent(rule: "failures", at: Self.at(30))
        #expect(groups.isEmpty)

        // A fourth alert, after the first group went: it waits for the interval from that notification.
        groups.add(Self.alert("D", at: 40), group: group, actions: [0: "http"])
        #expect(groups.due(at: Self.at(329)).isEmpty)
        #expect(groups.due(at: Self.at(330)).map { $0.members.map(\.keyText) } == [["destination=D"]])
        groups.sent(rule: "failures", at: Self.at(330))

        // Once the interval has passed with nothing sent, an alert opens a new group with its own wait.
        groups.add(Self.alert("E", at: 1000), group: group, actions: [0: "http"])
        #expect(groups.pending["failures"]?.due == Self.at(1030))
    }

    @Test func rulesAreGroupedApartAndARestoredGroupKeepsEachAlertOnce() {
        let group = Rule.Group(wait: .seconds(10), interval: .seconds(60))
        var groups = NotificationGroups()
        groups.add(Self.alert("A", at: 0), group: group, actions: [0: "http"])
        groups.add(Self.alert("A", at: 5, rule: "other"), group: group, actions: [1: "slack"])
        #expect(groups.due(at: Self.at(10)).map(\.rule) == ["failures"])
        #expect(groups.due(at: Self.at(15)).map(\.rule) == ["failures", "other"])

        var restored = NotificationGroups()
        // One outbox row per waiting action: the same alert comes back once per action.
        restored.restore(Self.alert("A", at: 0), group: group, actionIndex: 0, kind: "http")
        restored.restore(Self.alert("A", at: 0), group: group, actionIndex: 1, kind: "log")
        restored.restore(Self.alert("B", at: 3), group: group, actionIndex: 0, kind: "http")
        let pending = restored.pending["failures"]
        #expect(pending?.members.map(\.keyText) == ["destination=A", "destination=B"])
        #expect(pending?.actions == [0: "http", 1: "log"])
        #expect(pending?.due == Self.at(10))
    }

    /// Failed calls to `+65…` destinations, one alert each, grouped; `+1…` events match nothing (barriers: an
    /// answer to one means every message before it was handled).
    static func rules(sink: String, wait: String = "30s", interval: String = "5m") throws -> RuleSet {
        try RulesLoader.load(
            yaml: """
                version: 1
                receivers:
                  chat:
                    - slack: {url: "\(sink)/slack"}
                    - pagerduty: {url: "\(sink)/pd", routing_key: rk}
                rules:
                  - name: failures
                    description: a failed call
                    when: {callStatus: CALL_DISCONNECTED, destination: {prefix: "+65"}}
                    by: [destination]
                    group: {wait: \(wait), interval: \(interval)}
                    actions:
                      - http: {url: "\(sink)/hook"}
                    notify: [chat]
                """,
            path: "rules.yaml",
            environment: [:]
        )
    }

    static func barrier(_ pipeline: Pipeline, _ id: String) async throws {
        try await StoreFixture.ingest(pipeline, id, destination: "+1555" + id)
    }

    /// The alerts of a grouped http body, by key.
    static func keys(_ request: HTTPSink.RecordedRequest) throws -> [String] {
        let body = try #require(try JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any])
        let alerts = try #require(body["alerts"] as? [[String: Any]])
        return alerts.compactMap { ($0["key"] as? [String: Any])?["destination"] as? String }
    }

    static func requests(_ sink: HTTPSink, _ path: String) -> [HTTPSink.RecordedRequest] {
        sink.requests.filter { $0.path == path }
    }

    @Test func aRulesGroupIsOneRequestPerActionAndPagerDutyStaysOnePerAlert() async throws {
        try await HTTPSink.withSink(responses: [.status(202)]) { sink in
            try await withTemporaryDirectory(prefix: "callwatch-grouping") { directory in
                let path = directory + "/cw.db"
                try await StoreFixture.withPipeline(try Self.rules(sink: sink.url("")), path: path) { pipeline in
                    for (index, seconds) in [0.0, 10, 20].enumerated() {
                        try await StoreFixture.ingest(
                            pipeline,
                            "g\(index)",
                            destination: "+6500\(index)",
                            at: Self.at(seconds)
                        )
                    }
                    // PagerDuty groups by itself: one event per alert, at once.
                    let paged = try await sink.waitForRequests(3)
                    #expect(paged.allSatisfy { $0.path == "/pd" })
                    pipeline.tick(at: Self.at(29))
                    try await Self.barrier(pipeline, "b1")
                    try await waitUntil("PagerDuty's outcomes, the grouped actions waiting", timeout: .seconds(10)) {
                        let alerts = try await pipeline.store.recentAlerts(limit: 10)
                        return alerts.count == 3
                            && alerts.allSatisfy { $0.actions.map(\.status) == [.waiting, .waiting, .success] }
                    }
                    pipeline.tick(at: Self.at(30))
                    _ = try await sink.waitForRequests(5)
                    let hook = try #require(Self.requests(sink, "/hook").first)
                    #expect(try Self.keys(hook) == ["+65000", "+65001", "+65002"])
                    let groupID = try #require(hook.header("Idempotency-Key"))
                    #expect(groupID.hasSuffix("~group"))
                    let slack = try #require(Self.requests(sink, "/slack").first)
                    let text = try #require(
                        (try JSONSerialization.jsonObject(with: Data(slack.body)) as? [String: Any])?["text"] as? String
                    )
                    #expect(text.hasPrefix("[FIRING] failures: 3 alerts\n"), "\(text)")
                    #expect(text.contains("• [FIRING] failures destination=+65002 — a failed call"), "\(text)")

                    // A fourth, after the group went: it waits for the interval from the group's notification.
                    try await StoreFixture.ingest(pipeline, "g3", destination: "+65003", at: Self.at(40))
                    pipeline.tick(at: Self.at(329))
                    try await Self.barrier(pipeline, "b2")
                    #expect(Self.requests(sink, "/hook").count == 1)
                    pipeline.tick(at: Self.at(330))
                    _ = try await sink.waitForRequests(8)
                    let second = try #require(Self.requests(sink, "/hook").last)
                    #expect(try Self.keys(second) == ["+65003"])
                    #expect(second.header("Idempotency-Key") != groupID)
                    try await waitUntil("the group's outcomes to be recorded", timeout: .seconds(10)) {
                        try await pipeline.store.recentAlerts(limit: 10).allSatisfy { alert in
                            alert.actions.allSatisfy { $0.status == .success }
                        }
                    }
                }
                #expect(Self.requests(sink, "/hook").count == 2)
                #expect(Self.requests(sink, "/slack").count == 2)
                #expect(Self.requests(sink, "/pd").count == 4)
            }
        }
    }

    @Test func aGroupWaitingAtAStopIsSentOnceAfterTheRestart() async throws {
        try await HTTPSink.withSink(responses: [.status(202)]) { sink in
            try await withTemporaryDirectory(prefix: "callwatch-grouping") { directory in
                let path = directory + "/cw.db"
                let rules = try Self.rules(sink: sink.url(""))
                try await StoreFixture.withPipeline(rules, path: path) { pipeline in
                    try await StoreFixture.ingest(pipeline, "r0", destination: "+65010", at: Self.at(0))
                    try await StoreFixture.ingest(pipeline, "r1", destination: "+65011", at: Self.at(5))
                }
                #expect(Self.requests(sink, "/hook").isEmpty)
                let waiting = try SQLiteStore(path: path).pendingActions()
                #expect(waiting.filter(\.waiting).count == 4)  // two alerts, two grouped actions each

                try await StoreFixture.withPipeline(rules, path: path) { pipeline in
                    try await Self.barrier(pipeline, "b1")  // recovered
                    pipeline.tick(at: Self.at(30))
                    let hook = try await sink.waitForRequests(4).filter { $0.path == "/hook" }
                    #expect(try hook.map(Self.keys) == [["+65010", "+65011"]])
                    try await waitUntil("the group's outcomes to be recorded", timeout: .seconds(10)) {
                        try SQLiteStore(path: path).pendingActions().isEmpty
                    }
                }
                // A third start finds nothing owed: the group is not sent again.
                try await StoreFixture.withPipeline(rules, path: path) { pipeline in
                    try await Self.barrier(pipeline, "b2")
                    pipeline.tick(at: Self.at(400))
                    try await Self.barrier(pipeline, "b3")
                }
                #expect(Self.requests(sink, "/hook").count == 1)
                #expect(Self.requests(sink, "/slack").count == 1)
            }
        }
    }

    @Test func aGroupSentButNotDeliveredAtAStopIsRetriedUnderItsID() async throws {
        try await HTTPSink.withSink(responses: [.status(503), .status(202)]) { sink in
            try await withTemporaryDirectory(prefix: "callwatch-grouping") { directory in
                let path = directory + "/cw.db"
                let rules = try RulesLoader.load(
                    yaml: """
                        version: 1
                        rules:
                          - name: failures
                            when: {callStatus: CALL_DISCONNECTED, destination: {prefix: "+65"}}
                            by: [destination]
                            group: {wait: 10s}
                            actions: [{http: {url: "\(sink.url("/hook"))", retries: 5}}]
                        """,
                    path: "rules.yaml",
                    environment: [:]
                )
                // The writer runs, the dispatcher does not: the sent group stays pending in the outbox.
                try await StoreFixture.withPipeline(rules, path: path, runDispatcher: false) { pipeline in
                    try await StoreFixture.ingest(pipeline, "s0", destination: "+65020", at: Self.at(0))
                    try await StoreFixture.ingest(pipeline, "s1", destination: "+65021", at: Self.at(1))
                    pipeline.tick(at: Self.at(10))
                    try await Self.barrier(pipeline, "b1")
                }
                let pending = try SQLiteStore(path: path).pendingActions()
                #expect(pending.count == 2 && pending.allSatisfy { !$0.waiting && $0.groupID != nil })
                try await StoreFixture.withPipeline(rules, path: path) { _ in
                    try await waitUntil("the group's retry to succeed", timeout: .seconds(10)) {
                        try SQLiteStore(path: path).pendingActions().isEmpty
                    }
                }
                let requests = sink.requests
                #expect(requests.count == 2)  // the 503, then its retry
                #expect(Set(requests.compactMap { $0.header("Idempotency-Key") }) == [pending[0].groupID])
                #expect(try requests.map(Self.keys) == [["+65020", "+65021"], ["+65020", "+65021"]])
                let alerts = try await SQLiteStore(path: path).recentAlerts(limit: 10)
                #expect(alerts.allSatisfy { $0.actions.map(\.status) == [.success] && $0.actions[0].attempts == 2 })
            }
        }
    }
}
