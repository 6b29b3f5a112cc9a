import Foundation

/// The samples of one `GET /metrics` (Prometheus text format). The registry is process-wide, so tests compare
/// two snapshots (`delta`) rather than absolute values, and give their rules names no other test uses.
struct MetricsSnapshot: Sendable {
    private(set) var samples: [String: Double] = [:]

    init(text: String) {
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
                continue
            }
            let series = line[..<space]
            guard let open = series.firstIndex(of: "{"), let close = series.lastIndex(of: "}") else {
                samples[Self.key(String(series), [:])] = value
                continue
            }
            let labels = Self.parseLabels(series[series.index(after: open)..<close])
            samples[Self.key(String(series[..<open]), labels)] = value
        }
    }

    /// The sample's value, nil when the series is not exposed.
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        samples[Self.key(name, labels)]
    }

    /// How much a series grew since `before` (a series not yet exposed counts as 0).
    func delta(_ name: String, _ labels: [String: String] = [:], since before: MetricsSnapshot) -> Double {
        (value(name, labels) ?? 0) - (before.value(name, labels) ?? 0)
    }

    static func key(_ name: String, _ labels: [String: String]) -> String {
        name + "{" + labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",") + "}"
    }

    /// `a="x",b="y\"z"` → ["a": "x", "b": "y\"z"].
    static func parseLabels(_ text: Substring) -> [String: String] {
        var labels: [String: String] = [:]
        var index = text.startIndex
        while index < text.endIndex {
            guard let equals = text[index...].firstIndex(of: "=") else { break }
            let name = text[index..<equals].trimmingCharacters(in: [",", " "])
            var cursor = text.index(after: equals)
            guard cursor < text.endIndex, text[cursor] == "\"" else { break }
            cursor = text.index(after: cursor)
            var value = ""
            while cursor < text.endIndex, text[cursor] != "\"" {
                if text[cursor] == "\\", text.index(after: cursor) < text.endIndex {
                    cursor = text.index(after: cursor)
                }
                value.append(text[cursor])
                cursor = text.index(after: cursor)
            }
            labels[name] = value
            index = cursor < text.endIndex ? text.index(after: cursor) : cursor
        }
        return labels
    }
}
