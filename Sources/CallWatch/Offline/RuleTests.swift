import Foundation
import Yams

/// `callwatch test`: rule unit tests in the style of `promtool test rules`.
public struct RuleTests {
    public struct Expectation: Sendable {
        public var rule: String?
        public var key: [String: String]?
        public var count: Int?
        public var match: String?
        public var status: AlertStatus?
        /// Compared within `valueTolerance`; `.some(nil)` expects no value.
        public var value: Double??

        static let valueTolerance = 0.001

        func matches(_ alert: Alert) -> Bool {
            if let rule, rule != alert.rule { return false }
            if let key {
                guard key.count == alert.key.count else { return false }
                for (field, value) in alert.key where key[field] != value { return false }
            }
            if let count, count != alert.count { return false }
            if let match, match != alert.match { return false }
            if let status, status != alert.status { return false }
            if let value {
                switch (value, alert.value) {
                case (nil, nil): break
                case (let expected?, let actual?) where abs(expected - actual) <= Self.valueTolerance: break
                default: return false
                }
            }
            return true
        }

        var description: String {
            var parts: [String] = []
            if let rule { parts.append("rule=\(rule)") }
            if let key {
                parts.append(
                    "key={" + key.sorted { $0.key < $1.key }.map { "\($0)=\($1)" }.joined(separator: ",") + "}"
                )
            }
            if let count { parts.append("count=\(count)") }
            if let match { parts.append("match=\(match)") }
            if let status { parts.append("status=\(status.rawValue)") }
            if let value { parts.append("value=\(value.map { "\($0)" } ?? "null")") }
            return parts.joined(separator: " ")
        }
    }

    public struct Case: Sendable {
        public var name: String
        public var events: [(time: Date, event: CallEvent)]
        public var expected: [Expectation]
        /// Where the clock is carried after the last event (`until:`), if beyond it.
        public var until: Date?
    }

    public struct Outcome: Sendable {
        public var name: String
        public var failure: String?
        public var line: String { failure.map { "FAIL \(name): \($0)" } ?? "PASS \(name)" }
    }

    public var ruleSet: RuleSet
    public var cases: [Case]

    /// Loads a test file and the rules it names (`config`, when given, replaces the file's own `config:`).
    /// Problems come back as diagnostics against the test file (or the rules file).
    public static func load(
        path: String,
        config: String? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(RulesError) -> RuleTests {
        let text = try RulesLoader.readText(path)
        var reader = DiagnosingNodeReader(file: path, environment: environment)
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
        let root = try RulesLoader.compose(text, path: path, lines: lines)
        guard let root, let top = reader.mapping(root, allowed: ["config", "start", "tests"], what: "a test file")
        else {
            reader.error(nil, "a test file is a mapping with 'config' and 'tests'")
            throw RulesError(diagnostics: reader.diagnostics)
        }
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        let configPath = top["config"].flatMap { reader.string($0, what: "config") } ?? "rules.yaml"
        let resolved =
            config ?? (configPath.hasPrefix("/") ? configPath : directory.appendingPathComponent(configPath).path)
        var start = Date()
        if let node = top["start"], let text = reader.string(node, what: "start") {
            if let date = Timestamp.parse(text) {
                start = date
            } else {
                reader.error(node, "invalid start time '\(text)'")
            }
        }
        var cases: [Case] = []
        if let tests = top["tests"]?.sequence {
            for (offset, node) in tests.enumerated() {
                if let testCase = loadCase(node, number: offset + 1, start: start, reader: &reader) {
                    cases.append(testCase)
                }
            }
        } else {
            reader.error(top["tests"] ?? root, "'tests' must be a list of test cases")
        }
        if reader.hasErrors { throw RulesError(diagnostics: reader.diagnostics) }
        let ruleSet = try RulesLoader.load(path: resolved, environment: environment)
        return RuleTests(ruleSet: ruleSet, cases: cases)
    }

    static func loadCase(_ node: Node, number: Int, start: Date, reader: inout DiagnosingNodeReader) -> Case? {
        guard
            let entries = reader.mapping(
                node,
                allowed: ["name", "events", "until", "expect", "none"],
                what: "a test case"
            )
        else {
            return nil
        }
        let name = entries["name"].flatMap { reader.string($0, what: "name") } ?? "case \(number)"
        var events: [(Date, CallEvent)] = []
        for (offset, eventNode) in (entries["events"]?.sequence.map(Array.init) ?? []).enumerated() {
            guard case .object(var object) = reader.json(eventNode) else {
                reader.error(eventNode, "an event is a mapping (a bare payload or an envelope)")
                continue
            }
            var time = start
            if let at = object["at"] {
                object["at"] = nil
                if let text = at.stringValue, let offset = Units.duration(text) {
                    time = start.addingTimeInterval(offset.seconds)
                } else {
                    reader.error(eventNode, "invalid 'at' offset; use a duration such as 90s or 2m")
                }
            }
            var payload = object["payload"]?.objectValue ?? object
            if case .string(let text) = payload["timestamp"], let stamped = Timestamp.parse(text) {
                time = stamped
            } else {
                payload["timestamp"] = .string(Timestamp.format(time))
            }
            if payload["eventId"] == nil, payload["sessionStatus"] == nil {
                payload["eventId"] = .string("test-\(number)-\(offset + 1)")
            }
            if object["payload"] != nil { object["payload"] = .object(payload) } else { object = payload }
            do {
                events.append((time, try CallEvent(json: .object(object), allowBare: true)))
            } catch {
                reader.error(eventNode, "invalid event: \(error)")
            }
        }
        var expected: [Expectation] = []
        if let expectNode = entries["expect"] {
            guard let list = expectNode.sequence else {
                reader.error(expectNode, "'expect' is a list of alerts ([] for none)")
                return nil
            }
            for item in list {
                guard
                    let fields = reader.mapping(
                        item,
                        allowed: ["rule", "key", "count", "match", "status", "value"],
                        what: "an expected alert"
                    )
                else { continue }
                var expectation = Expectation()
                expectation.rule = fields["rule"].flatMap { reader.string($0, what: "rule") }
                expectation.count = fields["count"].flatMap { reader.int($0, what: "count", range: 0...1_000_000) }
                expectation.match = fields["match"].flatMap { reader.string($0, what: "match") }
                if let statusNode = fields["status"], let text = reader.string(statusNode, what: "status") {
                    expectation.status = AlertStatus(rawValue: text)
                    if expectation.status == nil {
                        reader.error(statusNode, "status is 'firing' or 'resolved', not '\(text)'")
                    }
                }
                if let valueNode = fields["value"] {
                    switch reader.json(valueNode) {
                    case .null: expectation.value = .some(nil)
                    case let json:
                        if let number = json.numberValue {
                            expectation.value = .some(number)
                        } else {
                            reader.error(valueNode, "value is a number (compared within 0.001) or null")
                        }
                    }
                }
                if let keyNode = fields["key"], let keyFields = reader.mapping(keyNode, allowed: nil, what: "key") {
                    var key: [String: String] = [:]
                    for (field, _, value) in keyFields.entries { key[field] = reader.json(value).stringValue ?? "" }
                    expectation.key = key
                }
                expected.append(expectation)
            }
        } else if entries["none"].flatMap({ reader.bool($0, what: "none") }) != true {
            reader.error(node, "test case '\(name)' needs 'expect' (a list, [] for no alert) or 'none: true'")
        }
        var until: Date?
        if let untilNode = entries["until"] {
            if let text = reader.string(untilNode, what: "until"), let offset = Units.duration(text) {
                until = start.addingTimeInterval(offset.seconds)
            } else {
                reader.error(untilNode, "invalid 'until' offset; use a duration such as 15m (from the test's start)")
            }
        }
        return Case(name: name, events: events, expected: expected, until: until)
    }

    /// Runs every case from empty state.
    public func run() -> [Outcome] {
        cases.map { testCase in
            var engine = Engine(ruleSet: ruleSet)
            var fired: [Alert] = []
            for (time, event) in testCase.events { fired += engine.evaluate(event, at: time).fired }
            if let until = testCase.until { fired += engine.advance(to: until) }
            return Outcome(name: testCase.name, failure: Self.compare(expected: testCase.expected, fired: fired))
        }
    }

    /// Whether an alert is a condition's (its status and value matter to the reader of a failure).
    static func isCondition(_ alert: Alert) -> Bool { alert.value != nil || alert.status == .resolved }

    /// nil when the fired alerts are exactly the expected ones (in any order).
    static func compare(expected: [Expectation], fired: [Alert]) -> String? {
        var unmatched = fired
        var missing: [Expectation] = []
        for expectation in expected {
            if let index = unmatched.firstIndex(where: expectation.matches) {
                unmatched.remove(at: index)
            } else {
                missing.append(expectation)
            }
        }
        guard !missing.isEmpty || !unmatched.isEmpty else { return nil }
        var parts = ["expected \(expected.count) alert(s), got \(fired.count)"]
        if !missing.isEmpty { parts.append("missing: " + missing.map { "[\($0.description)]" }.joined(separator: " ")) }
        if !unmatched.isEmpty {
            parts.append(
                "unexpected: "
                    + unmatched.map {
                        "[rule=\($0.rule) key={\($0.keyText)} count=\($0.count)\($0.match.map { " match=\($0)" } ?? "")"
                            + (Self.isCondition($0)
                                ? " status=\($0.status.rawValue) value=\($0.value.map { "\($0)" } ?? "null")" : "")
                            + " at=\(Timestamp.format($0.firedAt))]"
                    }
                    .joined(separator: " ")
            )
        }
        return parts.joined(separator: "; ")
    }
}
