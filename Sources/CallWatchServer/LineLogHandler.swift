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
            var line = "\(Timestamp.format(time)) \(level) \(label):"
            for key in keys { line += " \(key)=\(metadata[key]!)" }
            return line + " \(message)\n"
        case .json:
            var members: [(key: String, value: JSONValue)] = [
                ("time", .string(Timestamp.format(time))), ("level", .string(level.rawValue)),
                ("label", .string(label)), ("message", .string(message)),
            ]
            for key in keys { members.append((key, json(metadata[key]!))) }
            return JSONWriter.string(.object(JSONObject(members))) + "\n"
        }
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
