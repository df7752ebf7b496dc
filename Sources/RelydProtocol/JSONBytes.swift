/// The bytes of one response line while they are written, in JSON's forms as `JSONEncoder` writes them with
/// `.sortedKeys` and `.withoutEscapingSlashes`.
///
/// Why not appends to a `[UInt8]`: each one checked the array's uniqueness and capacity, and appending a run went
/// through the generic `append(contentsOf:)`, together about half of writing a `health` response. Here the bytes go
/// to a buffer on the stack while they fit (most lines are far shorter), to the heap beyond, and are copied into the
/// line's array once, at the end. Every write reserves its room first, so nothing is written past the buffer.
struct JSONBytes: ~Copyable {
    private var base: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private var count = 0
    /// Whether `base` was allocated here, once the bytes outgrew the stack, and is freed here.
    private var ownsBase = false

    /// Room on the stack: a few `health` or error lines' worth.
    private static let stackCapacity = 1024

    private init(stack: UnsafeMutableBufferPointer<UInt8>) {
        // The capacity asked for is a positive constant, so the buffer has an address.
        base = stack.baseAddress!
        capacity = stack.count
    }

    deinit {
        if ownsBase { base.deallocate() }
    }

    /// The bytes `write` writes, and a newline.
    static func line(_ write: (inout JSONBytes) throws -> Void) rethrows -> [UInt8] {
        try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: stackCapacity) { stack in
            var bytes = JSONBytes(stack: stack)
            try write(&bytes)
            bytes.append(0x0A)
            return Array(UnsafeBufferPointer(start: bytes.base, count: bytes.count))
        }
    }

    /// Makes room for `needed` more bytes.
    private mutating func reserve(_ needed: Int) {
        if capacity - count < needed { grow(needed) }
    }

    /// Kept out of line: most lines never get here.
    @inline(never)
    private mutating func grow(_ needed: Int) {
        let newCapacity = max(capacity * 2, count + needed)
        let newBase = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newBase.initialize(from: base, count: count)
        if ownsBase { base.deallocate() }
        base = newBase
        capacity = newCapacity
        ownsBase = true
    }

    mutating func append(_ byte: UInt8) {
        reserve(1)
        base[count] = byte
        count += 1
    }

    /// Fixed text of the encoder's own (punctuation, `null`, `true`), written as is.
    mutating func append(_ text: StaticString) {
        text.withUTF8Buffer { append(contentsOf: $0) }
    }

    /// `"name":`, for a member name of the encoder's own (a literal), which needs no escapes: copied whole, where
    /// escaping it cost three times as much. Checked in debug builds, and the adopters' tests compare with
    /// `JSONEncoder`.
    mutating func appendMemberName(_ name: StaticString) {
        name.withUTF8Buffer { name in
            assert(!name.contains { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") },
                   "member names of the encoder's own need no escapes")
            reserve(name.count + 3)
            base[count] = UInt8(ascii: "\"")
            count += 1
            append(contentsOf: name)
            base[count] = UInt8(ascii: "\"")
            base[count + 1] = UInt8(ascii: ":")
            count += 2
        }
    }

    private mutating func append(contentsOf bytes: UnsafeBufferPointer<UInt8>) {
        guard let start = bytes.baseAddress, !bytes.isEmpty else { return }
        reserve(bytes.count)
        (base + count).initialize(from: start, count: bytes.count)
        count += bytes.count
    }

    /// Decimal digits, written in place from the last.
    mutating func appendInteger(_ integer: Int64) {
        reserve(20)  // "-9223372036854775808"
        if integer < 0 {
            base[count] = UInt8(ascii: "-")
            count += 1
        }
        var magnitude = integer.magnitude
        var digits = 1
        var rest = magnitude / 10
        while rest > 0 {
            digits += 1
            rest /= 10
        }
        var position = count + digits
        repeat {
            position -= 1
            base[position] = UInt8(ascii: "0") + UInt8(magnitude % 10)
            magnitude /= 10
        } while magnitude > 0
        count += digits
    }

    /// A JSON string as Foundation writes it: `"` and `\` escaped, control characters as `\b \f \n \r \t` or
    /// `\u00xx`, everything else (slashes and non-ASCII included) as is. Runs without escapes are copied whole.
    mutating func appendString(_ string: String) {
        append(UInt8(ascii: "\""))
        string.withContiguousUTF8 { appendContents($0) }
        append(UInt8(ascii: "\""))
    }

    private mutating func appendContents(_ bytes: UnsafeBufferPointer<UInt8>) {
        var runStart = 0
        for index in bytes.indices {
            let byte = bytes[index]
            guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
            append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
            appendEscape(byte)
            runStart = index + 1
        }
        append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart...]))
    }

    private mutating func appendEscape(_ byte: UInt8) {
        append(UInt8(ascii: "\\"))
        switch byte {
        case 0x08: append(UInt8(ascii: "b"))
        case 0x0C: append(UInt8(ascii: "f"))
        case 0x0A: append(UInt8(ascii: "n"))
        case 0x0D: append(UInt8(ascii: "r"))
        case 0x09: append(UInt8(ascii: "t"))
        case 0x00..<0x20:
            append("u00")
            append(Self.hexDigit(byte >> 4))
            append(Self.hexDigit(byte & 0x0F))
        default: append(byte)  // `"` and `\`
        }
    }

    private static func hexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "a") + value - 10
    }
}

extension String {
    /// `body` over the string's UTF-8 as one contiguous buffer. A native string lends its bytes in place, where
    /// `withUTF8` needs a mutable copy (a retain and release per string) and walking `utf8` by index cost about 40
    /// instructions a byte. (RelydBasics has the same for the daemon's modules; this module, shared with clients,
    /// depends on nothing.)
    func withContiguousUTF8<Result>(_ body: (UnsafeBufferPointer<UInt8>) throws -> Result) rethrows -> Result {
        if let result = try utf8.withContiguousStorageIfAvailable(body) { return result }
        var contiguous = self
        return try contiguous.withUTF8(body)
    }
}
