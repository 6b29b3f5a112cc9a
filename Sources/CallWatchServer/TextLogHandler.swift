import CallWatch
import Foundation
import Logging

/// Human-readable lines on standard error: `TIME LEVEL LABEL: key=value … message`. Metadata is rendered when a
/// line is written, not when it is set: Hummingbird sets a request id on every request's logger, and swift-log's
/// `StreamLogHandler` re-renders all metadata on every change (a few percent of the ingest path's CPU).
public struct TextLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    let label: String

    public init(label: String) {
        self.label = label
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let line = Self.line(
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
        time: Date,
        level: Logger.Level,
        label: String,
        metadata: Logger.Metadata,
        message: String
    )
        -> String
    {
        var line = "\(Timestamp.format(time)) \(level) \(label):"
        for key in metadata.keys.sorted() { line += " \(key)=\(metadata[key]!)" }
        return line + " \(message)\n"
    }
}
