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
        decode(utf8: text.utf8)
    }

    /// ``decode(_:)`` over any UTF-8 byte view; internal so the JWS parser's calls are specialised.
    static func decode<Text: Collection<UInt8>>(utf8 text: Text) -> [UInt8]? {
        guard text.count % 4 != 1 else { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(text.count * 3 / 4)
        var accumulator = UInt32(0)
        var bits = 0
        for byte in text {
            let value = values[Int(byte)]
            guard value != invalid else { return nil }
            accumulator = accumulator << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                output.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
                accumulator &= (1 << UInt32(bits)) - 1
            }
        }
        // What is left are the unused low bits of the last character; a canonical encoding leaves them zero.
        return accumulator == 0 ? output : nil
    }
}
