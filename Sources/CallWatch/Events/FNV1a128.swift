/// FNV-1a in two 64-bit lanes (the second with its own basis and a shift after each byte): the stable, fast hash
/// behind event identities without an id and alert ids. Not cryptographic; both are contracts, so never change it.
struct FNV1a128 {
    private var first: UInt64 = 0xcbf2_9ce4_8422_2325
    private var second: UInt64 = 0x8422_2325_cbf2_9ce4

    mutating func combine<Bytes: Sequence<UInt8>>(_ bytes: Bytes) {
        for byte in bytes {
            first = (first ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
            second = (second ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
            second = second ^ (second >> 29)
        }
    }

    /// 32 lowercase hex digits, the first lane first.
    var hex: String { Self.hex(first) + Self.hex(second) }

    private static func hex(_ lane: UInt64) -> String {
        let digits = String(lane, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
