import CallWatch
import Foundation
import Logging

/// One line per log event on standard error (`--log-format`):
/// - text: `TIME LEVEL LABEL: key=value … message`, metadata sorted by key;
/// - json: `{"time":…,"level":…,"label":…,"message":…, metadata…}`.
///
/// Metadata is rendered when a line is written, not when it is set: Hummingbird sets a request id on every
/// request's logger, and swift-log's `StreamLogHandler` re-renders all metadata on every change (a few percent of
/// the ingest path's CPU).
public struct LineLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    let label: String
    let format: ServeConfiguration.LogFormat

    public init(label: String, format: ServeConfiguration.LogFormat) {
        self.label = label
        self.format = format
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let line = Self.line(
            format,
            time: Date(),
            level: event.level,
            label: label,
            metadata: metadata.merging(event.metadata ?? [:]) { $1 },
            message: "\(event.message)"
        )
        FileHandle.standardError.write(Data(line.utf8))
    }

    /// One log line, metadata sorted by key, ending in a newline.
    static func line(
        _ format: ServeConfiguration.LogFormat,
        time: Date,
        level: Logger.Level,
        label: String,
        metadata: Logger.Metadata,
        message: String
    ) -> String {
        let keys = metadata.keys.sorted()
        switch format {
        case .text:
            // Control characters are escaped: a newline in an event's field cannot start a forged line.
            var line = "\(Timestamp.format(time)) \(level) \(label):"
            for key in keys { line += " \(escaped(key))=\(escaped("\(metadata[key]!)"))" }
            return line + " \(escaped(message))\n"
        case .json:
            var members: [(key: String, value: JSONValue)] = [
                ("time", .string(Timestamp.format(time))), ("level", .string(level.rawValue)),
                ("label", .string(label)), ("message", .string(message)),
            ]
            for key in keys { members.append((key, json(metadata[key]!))) }
            return JSONWriter.string(.object(JSONObject(members))) + "\n"
        }
    }

    /// `text` with each control character written as an escape (`\n`, `\r`, `\t`, `\u{1B}`…) and a backslash doubled
    /// where it would be ambiguous, so one log event is always one line. Text without either is returned as is.
    static func escaped(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) else { return text }
        var result = ""
        result.reserveCapacity(text.utf8.count + 8)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case "\\": result += "\\\\"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                result += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    static func json(_ value: Logger.Metadata.Value) -> JSONValue {
        switch value {
        case .string(let string): .string(string)
        case .stringConvertible(let convertible): .string(convertible.description)
        case .array(let values): .array(values.map(json))
        case .dictionary(let dictionary):
            .object(JSONObject(dictionary.keys.sorted().map { ($0, json(dictionary[$0]!)) }))
        }
    }
}
