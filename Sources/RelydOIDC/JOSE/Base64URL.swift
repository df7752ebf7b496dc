/// base64url without padding (RFC 4648 §5), the encoding of every JOSE part (RFC 7515 §2).
///
/// Works on UTF-8 bytes, not Characters: splitting and decoding by Character cost about ten times more per token.
public enum Base64URL {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
    private static let invalid: UInt8 = 0xFF
    /// Maps a byte to its 6-bit value, or ``invalid`` for any byte outside the alphabet (padding included).
    private static let values: [UInt8] = {
        var table = [UInt8](repeating: invalid, count: 256)
        for (value, byte) in alphabet.enumerated() {
            table[Int(byte)] = UInt8(value)
        }
        return table
    }()

    /// The unpadded base64url text of `bytes`.
    public static func encode(_ bytes: [UInt8]) -> String {
        var output: [UInt8] = []
        output.reserveCapacity((bytes.count * 4 + 2) / 3)
        var index = 0
        while index < bytes.count {
            let chunk = bytes[index..<min(index + 3, bytes.count)]
            var group = UInt32(0)
            for (offset, byte) in chunk.enumerated() {
                group |= UInt32(byte) << (16 - 8 * offset)
            }
            for position in 0...chunk.count {
                output.append(alphabet[Int((group >> (18 - 6 * position)) & 0x3F)])
            }
            index += 3
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// The bytes `text` encodes, or `nil` when it is not canonical unpadded base64url: a character outside the
    /// alphabet (including `=` and whitespace), a length of 4k+1, or non-zero unused bits in the last character.
    public static func decode(_ text: String) -> [UInt8]? {
        var text = text
        return text.withUTF8 { decode(utf8: $0) }
    }

    /// ``decode(_:)`` over UTF-8 bytes in place, so that the JWS parser decodes its parts without copying them.
    ///
    /// Four characters at a time into an uninitialised array, with the table read through a pointer: indexing the
    /// static array byte by byte, then appending, made decoding the largest part of parsing a token.
    static func decode(utf8 text: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        let remainder = text.count % 4
        guard remainder != 1 else { return nil }
        let count = text.count / 4 * 3 + max(0, remainder - 1)
        var isCanonical = true
        let output = values.withUnsafeBufferPointer { table in
            [UInt8](unsafeUninitializedCapacity: count) { output, initialized in
                func value(_ index: Int) -> UInt32 {
                    let value = table[Int(text[index])]
                    if value == invalid { isCanonical = false }
                    return UInt32(value)
                }
                var read = 0
                var written = 0
                while read + 4 <= text.count {
                    let group = value(read) << 18 | value(read + 1) << 12 | value(read + 2) << 6 | value(read + 3)
                    output[written] = UInt8(truncatingIfNeeded: group >> 16)
                    output[written + 1] = UInt8(truncatingIfNeeded: group >> 8)
                    output[written + 2] = UInt8(truncatingIfNeeded: group)
                    read += 4
                    written += 3
                }
                // Two or three characters left carry one or two bytes; a canonical encoding leaves the unused low
                // bits of the last character zero.
                if remainder >= 2 {
                    var group = value(read) << 18 | value(read + 1) << 12
                    if remainder == 3 { group |= value(read + 2) << 6 }
                    output[written] = UInt8(truncatingIfNeeded: group >> 16)
                    if remainder == 3 { output[written + 1] = UInt8(truncatingIfNeeded: group >> 8) }
                    if group & (remainder == 2 ? 0xFFFF : 0xFF) != 0 { isCanonical = false }
                }
                initialized = count
            }
        }
        return isCanonical ? output : nil
    }
}
