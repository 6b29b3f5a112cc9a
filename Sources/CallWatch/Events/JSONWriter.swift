/// Writes JSON with members in the order given, so alert JSON has stable field order. Works on UTF-8 bytes: runs of
/// characters that need no escaping are copied whole.
public struct JSONWriter {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    /// What was written, as a String.
    public var output: String { String(decoding: bytes, as: UTF8.self) }

    public mutating func write(_ value: JSONValue) {
        write(value, canonical: false)
    }

    /// The canonical form event identities hash: like `write`, but each object's members sorted by the UTF-8 bytes
    /// of their names (a stable sort, so repeated names keep their order), at every level.
    public mutating func writeCanonical(_ value: JSONValue) {
        write(value, canonical: true)
    }

    private mutating func write(_ value: JSONValue, canonical: Bool) {
        switch value {
        case .null: append("null")
        case .bool(let bool): append(bool ? "true" : "false")
        case .number(let number): append(number.isFinite ? JSONValue.format(number) : "null")
        case .string(let string): writeString(string)
        case .array(let elements):
            bytes.append(UInt8(ascii: "["))
            for (offset, element) in elements.enumerated() {
                if offset > 0 { bytes.append(UInt8(ascii: ",")) }
                write(element, canonical: canonical)
            }
            bytes.append(UInt8(ascii: "]"))
        case .object(let object):
            var members = object.members
            if canonical {
                members = object.members.enumerated().sorted { lhs, rhs in
                    let order = Self.compareUTF8(lhs.element.key, rhs.element.key)
                    return order != 0 ? order < 0 : lhs.offset < rhs.offset
                }.map(\.element)
            }
            bytes.append(UInt8(ascii: "{"))
            for (offset, member) in members.enumerated() {
                if offset > 0 { bytes.append(UInt8(ascii: ",")) }
                writeString(member.key)
                bytes.append(UInt8(ascii: ":"))
                write(member.value, canonical: canonical)
            }
            bytes.append(UInt8(ascii: "}"))
        }
    }

    /// -1, 0 or 1 as `lhs` sorts before, with or after `rhs` byte by byte.
    static func compareUTF8(_ lhs: String, _ rhs: String) -> Int {
        var left = lhs.utf8.makeIterator()
        var right = rhs.utf8.makeIterator()
        while true {
            switch (left.next(), right.next()) {
            case (nil, nil): return 0
            case (nil, _): return -1
            case (_, nil): return 1
            case (let a?, let b?) where a != b: return a < b ? -1 : 1
            default: continue
            }
        }
    }

    public mutating func writeString(_ string: String) {
        var string = string
        string.withUTF8 { utf8 in
            bytes.append(UInt8(ascii: "\""))
            var pending = 0
            for index in utf8.indices {
                let byte = utf8[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[pending..<index]))
                pending = index + 1
                switch byte {
                case UInt8(ascii: "\""): append(#"\""#)
                case UInt8(ascii: "\\"): append(#"\\"#)
                case UInt8(ascii: "\n"): append(#"\n"#)
                case UInt8(ascii: "\r"): append(#"\r"#)
                case UInt8(ascii: "\t"): append(#"\t"#)
                default:
                    append(#"\u00"#)
                    bytes.append(Self.hexDigits[Int(byte >> 4)])
                    bytes.append(Self.hexDigits[Int(byte & 0xF)])
                }
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[pending...]))
            bytes.append(UInt8(ascii: "\""))
        }
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    private mutating func append(_ text: String) {
        bytes.append(contentsOf: text.utf8)
    }

    public static func string(_ value: JSONValue) -> String {
        var writer = JSONWriter()
        writer.bytes.reserveCapacity(256)
        writer.write(value)
        return writer.output
    }
}
