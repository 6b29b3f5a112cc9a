import Foundation

/// Reads recorded events for `replay`: JSON lines, or one JSON array, of envelopes or bare payloads.
public enum EventFile {
    public struct Entry: Sendable {
        public var line: Int
        public var result: Result<CallEvent, CallEvent.DecodingError>
    }

    public static func entries(in data: [UInt8]) -> [Entry] {
        let firstByte = data.first {
            $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\n") && $0 != UInt8(ascii: "\r") && $0 != UInt8(ascii: "\t")
        }
        if firstByte == UInt8(ascii: "[") {
            return arrayEntries(data)
        }
        // One pretty-printed event (a body saved from a request) is a file too.
        if firstByte == UInt8(ascii: "{"), data.contains(UInt8(ascii: "\n")), let value = try? JSONParser.parse(data) {
            return [
                Entry(
                    line: 1,
                    result: Result { () throws(CallEvent.DecodingError) in try CallEvent(json: value, allowBare: true) }
                )
            ]
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
                if line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: "\t") })
                {
                    continue
                }
                let result = Result { () throws(CallEvent.DecodingError) in try CallEvent.decode(line, allowBare: true)
                }
                entries.append(Entry(line: lineNumber, result: result))
            }
        }
        return entries
    }

    static func arrayEntries(_ data: [UInt8]) -> [Entry] {
        let value: JSONValue
        do {
            value = try JSONParser.parse(data)
        } catch {
            let line = data.prefix(error.offset).count { $0 == UInt8(ascii: "\n") } + 1
            return [Entry(line: line, result: .failure(.malformedJSON(error.description)))]
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
