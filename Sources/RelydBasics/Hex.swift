extension Sequence<UInt8> {
    /// The bytes as lower-case hex, two digits each.
    ///
    /// Two table lookups per byte, not `String(format:)` (Foundation's formatting costs tens of microseconds per
    /// call) nor a `String(radix:)` per byte (a string each, joined): hex sits on the path of every
    /// `get_tokens_by_code` and `get_user_info`.
    public var lowercaseHex: String {
        var digits: [UInt8] = []
        digits.reserveCapacity(underestimatedCount * 2)
        for byte in self {
            digits.append(hexDigits[Int(byte >> 4)])
            digits.append(hexDigits[Int(byte & 0x0F)])
        }
        return String(decoding: digits, as: UTF8.self)
    }
}

private let hexDigits = Array("0123456789abcdef".utf8)
