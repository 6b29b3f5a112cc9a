import Foundation

/// Reads recorded events for `replay`: JSON lines, one JSON array, or one (pretty-printed) JSON value, of envelopes
/// or bare payloads. Each entry's line is the file's line; a JSON error names the file's line and column.
public enum EventFile {
    public struct Entry: Sendable {
        public var line: Int
        public var result: Result<CallEvent, CallEvent.DecodingError>
    }

    public static func entries(in data: [UInt8]) -> [Entry] {
        let firstByte = data.first { !JSONParser.isWhitespace($0) }
        if firstByte == UInt8(ascii: "[") {
            return arrayEntries(data)
        }
        if firstByte == UInt8(ascii: "{"), let whole = oneValue(data) {
            return [whole]
        }
        var entries: [Entry] = []
        var lineNumber = 0
        var start = 0
        data.withUnsafeBytes { bytes in
            while start <= bytes.count {
                lineNumber += 1
                let end = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
                let line = UnsafeRawBufferPointer(rebasing: bytes[start..<end])
                start = end + 1
                if line.allSatisfy(JSONParser.isWhitespace) { continue }
                var result = Result { () throws(CallEvent.DecodingError) in try CallEvent.decode(line, allowBare: true)
                }
                if case .failure(.malformedJSON(var error)) = result {
                    error.line = lineNumber
                    result = .failure(.malformedJSON(error))
                }
                entries.append(Entry(line: lineNumber, result: result))
            }
        }
        return entries
    }

    /// The file as one JSON value when it is one: it parses whole, or it does not and neither does its first line
    /// alone for want of the rest (a pretty-printed event with an error: one error, not one per line). nil for
    /// JSON lines.
    static func oneValue(_ data: [UInt8]) -> Entry? {
        let error: JSONParser.Error
        do {
            let value = try JSONParser.parse(data)
            return Entry(
                line: 1,
                result: Result { () throws(CallEvent.DecodingError) in try CallEvent(json: value, allowBare: true) }
            )
        } catch let caught {
            error = caught
        }
        let start = data.firstIndex { !JSONParser.isWhitespace($0) } ?? 0
        let end = data[start...].firstIndex(of: UInt8(ascii: "\n")) ?? data.count
        let firstLine = Array(data[start..<end])
        let contentLength = (firstLine.lastIndex { !JSONParser.isWhitespace($0) } ?? -1) + 1
        do {
            _ = try JSONParser.parse(firstLine)
            return nil  // a complete value on the first line: JSON lines
        } catch let lineError {
            // An error inside the first line is that line's own (JSON lines); one at its end means it goes on.
            guard lineError.offset >= contentLength else { return nil }
        }
        return Entry(line: error.line, result: .failure(.malformedJSON(error)))
    }

    static func arrayEntries(_ data: [UInt8]) -> [Entry] {
        let value: JSONValue
        do {
            value = try JSONParser.parse(data)
        } catch {
            return [Entry(line: error.line, result: .failure(.malformedJSON(error)))]
        }
        guard case .array(let elements) = value else { return [] }
        return elements.enumerated().map { offset, element in
            Entry(
                line: offset + 1,
                result: Result { () throws(CallEvent.DecodingError) in try CallEvent(json: element, allowBare: true) }
            )
        }
    }
}
