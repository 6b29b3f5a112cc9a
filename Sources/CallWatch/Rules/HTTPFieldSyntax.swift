/// What an HTTP field name and value may hold (RFC 9110 §5.1, §5.5): a name is a token, a value has no CR, LF
/// or NUL. Checked when the rules load, so a header that could never be sent or matched is a diagnostic there
/// rather than a credential that silently checks nothing, or a request that fails at run time.
enum HTTPFieldSyntax {
    /// `!#$%&'*+-.^_`|~`, digits and letters, at least one.
    static func isToken(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy(isTokenByte)
    }

    static func isFieldValue(_ text: String) -> Bool {
        !text.utf8.contains { $0 == 0x0D || $0 == 0x0A || $0 == 0x00 }
    }

    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "A")...UInt8(ascii: "Z"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }
}
