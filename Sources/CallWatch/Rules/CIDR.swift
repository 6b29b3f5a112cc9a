#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An address block from `server.allow` (`10.0.0.0/8`, `::1/128`; a bare address is a single host).
public struct CIDR: Sendable, Equatable, CustomStringConvertible {
    /// 16 bytes; IPv4 is held as an IPv4-mapped IPv6 address so one comparison serves both.
    let network: [UInt8]
    let prefixLength: Int
    public let description: String

    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1)
        guard let first = parts.first, let (bytes, isV4) = CIDR.parseAddress(String(first)) else { return nil }
        var length = isV4 ? 32 : 128
        if parts.count == 2 {
            guard let given = Int(parts[1]), (0...length).contains(given) else { return nil }
            length = given
        }
        let total = isV4 ? length + 96 : length
        self.network = CIDR.mask(bytes, total)
        self.prefixLength = total
        self.description = text
    }

    public func contains(_ address: String) -> Bool {
        guard let (bytes, _) = CIDR.parseAddress(address) else { return false }
        return CIDR.mask(bytes, prefixLength) == network
    }

    /// Parses an IPv4 or IPv6 address (with an optional `%zone`) into 16 bytes.
    static func parseAddress(_ text: String) -> ([UInt8], Bool)? {
        var text = text
        if let percent = text.firstIndex(of: "%") { text = String(text[..<percent]) }
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            let value = UInt32(bigEndian: v4.s_addr)
            let mapped: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF]
            return (
                mapped + [
                    UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF),
                ],
                true
            )
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            return (withUnsafeBytes(of: &v6) { Array($0) }, false)
        }
        return nil
    }

    static func mask(_ bytes: [UInt8], _ length: Int) -> [UInt8] {
        var result = bytes
        for index in 0..<16 {
            let bits = max(0, min(8, length - index * 8))
            result[index] &= bits == 8 ? 0xFF : ~(0xFF >> bits)
        }
        return result
    }
}
