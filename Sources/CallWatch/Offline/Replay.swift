import Foundation

/// `callwatch replay`: evaluates recorded events in order with each event's timestamp as the clock.
public struct Replay {
    public var engine: Engine
    /// Time of the last event, used for an event without a timestamp.
    var clock: Date?
    /// Evaluate events whose identity was already seen in this run (`serve` answers them `duplicate`).
    public var keepDuplicates: Bool
    /// Identities seen so far, across every file of the run.
    var seen: Set<String> = []
    /// How many events were skipped as duplicates.
    public private(set) var duplicatesSkipped = 0

    public init(ruleSet: RuleSet, keepDuplicates: Bool = false) {
        self.engine = Engine(ruleSet: ruleSet)
        self.keepDuplicates = keepDuplicates
    }

    /// One problem with an input line, printed as `FILE:LINE: error: …`.
    public struct LineError: Error, CustomStringConvertible {
        public var file: String
        public var line: Int
        public var message: String
        public var description: String { "\(file):\(line): error: \(message)" }
    }

    /// Evaluates every event of a file; bad lines come back as errors, the rest is processed. An event whose identity
    /// was seen before in this run is skipped (counted in `duplicatesSkipped`) unless `keepDuplicates`.
    public mutating func run(
        data: [UInt8],
        file: String,
        onAlert: (Alert) async -> Void,
        onError: (LineError) -> Void
    ) async {
        for entry in EventFile.entries(in: data) {
            switch entry.result {
            case .failure(let error):
                onError(LineError(file: file, line: entry.line, message: error.description))
            case .success(let event):
                if !keepDuplicates, !seen.insert(event.identity).inserted {
                    duplicatesSkipped += 1
                    continue
                }
                let now = event.timestamp ?? clock ?? Date()
                clock = now
                for alert in engine.evaluate(event, at: now).fired { await onAlert(alert) }
            }
        }
    }

    /// Carries the clock on past the last event to `until` (`--until`), so absences and resolutions due by then
    /// show; returns what that notified.
    public mutating func finish(until: Date) -> [Alert] {
        guard until > (clock ?? .distantPast) else { return [] }
        clock = until
        return engine.advance(to: until)
    }

    /// `--until`'s time: ISO 8601, or `+D` after `last` (the last event's time; nil while unknown, which still
    /// validates the text).
    public static func untilTime(_ text: String, after last: Date?) -> Date? {
        if text.hasPrefix("+") {
            guard let offset = Units.duration(String(text.dropFirst())) else { return nil }
            return (last ?? Date(timeIntervalSince1970: 0)).addingTimeInterval(offset.seconds)
        }
        return Timestamp.parse(text)
    }

    /// The time of the last event evaluated.
    public var lastEventTime: Date? { clock }

    /// The text form of an alert: `FIRED_AT RULE [resolved] KEY count=N [value=V] [match=M] id=ID`.
    public static func line(for alert: Alert) -> String {
        var parts = [Timestamp.format(alert.firedAt), alert.rule]
        if alert.status == .resolved { parts.append("resolved") }
        if !alert.key.isEmpty { parts.append(alert.keyText) }
        parts.append("count=\(alert.count)")
        if let value = alert.value { parts.append("value=\(JSONWriter.string(.number(value)))") }
        if let match = alert.match { parts.append("match=\(match)") }
        parts.append("id=\(alert.id)")
        return parts.joined(separator: " ")
    }
}
