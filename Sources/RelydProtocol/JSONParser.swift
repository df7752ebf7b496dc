/// A strict RFC 8259 JSON parser producing ``JSONValue``.
///
/// Why not Foundation's: it accepts what RFC 8259 forbids (trailing commas, among others), keeps the first of two
/// members with the same name where JOSE (RFC 7515 4, RFC 7519 4) requires refusing or keeping the last, and has no
/// nesting limit a hostile peer cannot reach. Every JSON relyd reads from a client or an OP goes through here, so
/// all of them are held to one grammar: duplicate member names are refused, nesting is bounded, and the whole input
/// must be one value with only whitespace around it.
public struct JSONParser {
    /// Why a text is not acceptable JSON, with the byte offset where parsing stopped.
    public struct Failure: Error, Sendable, Equatable {
        public var offset: Int
        public var reason: String
    }

    /// The deepest nesting of arrays and objects accepted.
    public static let maximumDepth = 64

    private let bytes: [UInt8]
    private var index = 0
    private var depth = 0

    /// Parses `bytes` as exactly one JSON value.
    public static func parse(_ bytes: [UInt8]) throws(Failure) -> JSONValue {
        var parser = JSONParser(bytes: bytes)
        parser.skipWhitespace()
        let value = try parser.parseValue()
        try parser.requireEnd()
        return value
    }

    /// Parses `bytes` as one JSON object.
    public static func parseObject(_ bytes: [UInt8]) throws(Failure) -> [String: JSONValue] {
        guard case .object(let object) = try parse(bytes) else {
            throw Failure(offset: 0, reason: "not a JSON object")
        }
        return object
    }

    /// Parses `bytes` as exactly one JSON value, held to the same grammar as ``parse(_:)``; when it is an object,
    /// returns its members in the order received, nil otherwise. For a request envelope, whose few members are read
    /// once each: building and hashing a dictionary for them cost more than parsing them.
    public static func parseMembers(_ bytes: [UInt8]) throws(Failure) -> [(name: String, value: JSONValue)]? {
        var parser = JSONParser(bytes: bytes)
        parser.skipWhitespace()
        var members: [(name: String, value: JSONValue)]?
        if parser.current == UInt8(ascii: "{") {
            var list: [(name: String, value: JSONValue)] = []
            list.reserveCapacity(4)  // an envelope's members at once, rather than growing from one to two to four
            // Names compared one by one while there are few; a set once there are many, so that a long line
            // of members costs no quadratic time.
            var names = Set<String>()
            _ = try parser.parseMembers(named: { parser throws(Failure) in try parser.parseString() }) { name, value in
                if list.count >= 8 {
                    if names.isEmpty { names = Set(list.map(\.name)) }
                    guard names.insert(name).inserted else { return false }
                } else if list.contains(where: { $0.name == name }) {
                    return false
                }
                list.append((name, value))
                return true
            }
            members = list
        } else {
            _ = try parser.parseValue()
        }
        try parser.requireEnd()
        return members
    }

    /// The common case of ``parseMembers(_:)``, cheaper: when `bytes` is an object whose member names are all among
    /// `names` (at most 64, needing no escapes themselves) and written without escapes, hands each member's value to
    /// `take` with its name's position in `names`, and returns true. Returns false as soon as it meets anything
    /// else: a top-level value that is not an object, a name not in `names`, or a name written with an escape. The
    /// members handed over so far are then meaningless: the caller goes to ``parseMembers(_:)``, so that unusual
    /// lines get exactly its results and errors (at the price of reading such a line twice, at most twice the work
    /// of a line of `max_line_bytes`). Throws what ``parseMembers(_:)`` throws for the part it read. Why: a
    /// `String` per member name and the list of members cost more than the rest of parsing a request envelope.
    static func parseMembers(
        _ bytes: [UInt8], namedAmong names: [StaticString], _ take: (Int, JSONValue) -> Void
    ) throws(Failure) -> Bool {
        // `seen` has a bit per name: beyond 64, duplicates would go unnoticed.
        precondition(names.count <= UInt64.bitWidth, "at most 64 names")
        var parser = JSONParser(bytes: bytes)
        parser.skipWhitespace()
        guard parser.current == UInt8(ascii: "{") else { return false }
        var seen: UInt64 = 0  // bit n: names[n] already came
        let complete = try parser.parseMembers(named: { parser in parser.plainName(among: names) }) { position, value in
            guard seen & 1 << position == 0 else { return false }
            seen |= 1 << position
            take(position, value)
            return true
        }
        guard complete else { return false }
        try parser.requireEnd()
        return true
    }

    private init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    private func failure(_ reason: String) -> Failure { Failure(offset: index, reason: reason) }

    /// Only whitespace may follow the value.
    private mutating func requireEnd() throws(Failure) {
        skipWhitespace()
        guard index == bytes.count else { throw failure("unexpected data after the value") }
    }

    private var current: UInt8? { index < bytes.count ? bytes[index] : nil }

    private mutating func skipWhitespace() {
        while let byte = current, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { index += 1 }
    }

    private mutating func expect(_ literal: String, _ value: JSONValue) throws(Failure) -> JSONValue {
        let expected = Array(literal.utf8)
        guard bytes.count - index >= expected.count, Array(bytes[index..<index + expected.count]) == expected else {
            throw failure("invalid literal")
        }
        index += expected.count
        return value
    }

    private mutating func parseValue() throws(Failure) -> JSONValue {
        switch current {
        case UInt8(ascii: "{")?: return try parseObject()
        case UInt8(ascii: "[")?: return try parseArray()
        case UInt8(ascii: "\"")?: return .string(try parseString())
        case UInt8(ascii: "t")?: return try expect("true", .bool(true))
        case UInt8(ascii: "f")?: return try expect("false", .bool(false))
        case UInt8(ascii: "n")?: return try expect("null", .null)
        case let byte? where byte == UInt8(ascii: "-") || (0x30...0x39).contains(byte): return try parseNumber()
        case nil: throw failure("unexpected end of input")
        default: throw failure("unexpected character")
        }
    }

    private mutating func enter() throws(Failure) {
        depth += 1
        guard depth <= Self.maximumDepth else { throw failure("nesting deeper than \(Self.maximumDepth)") }
        index += 1
        skipWhitespace()
    }

    private mutating func parseObject() throws(Failure) -> JSONValue {
        var members: [String: JSONValue] = [:]
        _ = try parseMembers(named: { parser throws(Failure) in try parser.parseString() }) { name, value in
            members.updateValue(value, forKey: name) == nil
        }
        return .object(members)
    }

    /// Parses an object, reading each member name with `readName` (the parser at its opening quote) and handing
    /// each member to `add`, which returns false for a name it already had. Returns false, with the object partly
    /// read, when `readName` gives up on a name (returns nil). Inlined into its few callers, so that their closures
    /// are too: called through closure contexts, it cost a tenth of parsing a request envelope.
    @inline(__always)
    private mutating func parseMembers<Name>(
        named readName: (inout JSONParser) throws(Failure) -> Name?, _ add: (Name, JSONValue) -> Bool
    ) throws(Failure) -> Bool {
        try enter()
        defer { depth -= 1 }
        if current == UInt8(ascii: "}") {
            index += 1
            return true
        }
        while true {
            guard current == UInt8(ascii: "\"") else { throw failure("expected a member name") }
            guard let name = try readName(&self) else { return false }
            skipWhitespace()
            guard current == UInt8(ascii: ":") else { throw failure("expected ':'") }
            index += 1
            skipWhitespace()
            let value = try parseValue()
            guard add(name, value) else { throw failure("duplicate member name") }
            skipWhitespace()
            switch current {
            case UInt8(ascii: ",")?:
                index += 1
                skipWhitespace()
            case UInt8(ascii: "}")?:
                index += 1
                return true
            default:
                throw failure("expected ',' or '}'")
            }
        }
    }

    /// The position in `names` of the member name at the parser (its opening quote) when it is one of them written
    /// without escapes, the parser then past its closing quote; nil otherwise, the parser where it was. Compared
    /// byte by byte with no scan for escapes first: `names` need none (no quote, backslash or control character), so
    /// a name's bytes followed by the closing quote can only be that name written plainly.
    private mutating func plainName(among names: [StaticString]) -> Int? {
        let start = index + 1
        for position in names.indices {
            let length = names[position].utf8CodeUnitCount
            guard bytes.count - start > length, bytes[start + length] == UInt8(ascii: "\"") else { continue }
            let matches = names[position].withUTF8Buffer { name in
                var offset = 0
                while offset < length, name[offset] == bytes[start + offset] { offset += 1 }
                return offset == length
            }
            if matches {
                index = start + length + 1
                return position
            }
        }
        return nil
    }

    private mutating func parseArray() throws(Failure) -> JSONValue {
        try enter()
        defer { depth -= 1 }
        var elements: [JSONValue] = []
        if current == UInt8(ascii: "]") {
            index += 1
            return .array(elements)
        }
        while true {
            elements.append(try parseValue())
            skipWhitespace()
            switch current {
            case UInt8(ascii: ",")?:
                index += 1
                skipWhitespace()
            case UInt8(ascii: "]")?:
                index += 1
                return .array(elements)
            default:
                throw failure("expected ',' or ']'")
            }
        }
    }

    private mutating func parseString() throws(Failure) -> String {
        index += 1  // the opening quote
        // Runs between escapes are found with a tight scan and appended whole: appending them scalar by scalar cost
        // more than the rest of a request's parse (an ID token is one long run). An ASCII run needs no validation;
        // the others go through `String(validating:)`, which is not specialised and costs several times more.
        var text = ""
        var runStart = index
        var runIsASCII = true
        func flushRun(_ parser: JSONParser, upTo end: Int) throws(Failure) {
            guard runStart < end else { return }
            let run: String
            if runIsASCII {
                // From a buffer pointer, not an ArraySlice: the slice went through a generic copy first.
                run = parser.bytes.withUnsafeBufferPointer { buffer in
                    String(decoding: UnsafeBufferPointer(rebasing: buffer[runStart..<end]), as: UTF8.self)
                }
            } else {
                guard let valid = String(validating: parser.bytes[runStart..<end], as: UTF8.self) else {
                    throw parser.failure("invalid UTF-8 in a string")
                }
                run = valid
            }
            // Most strings are one run: taken as is, since appending to the empty text cost as much as decoding it.
            if text.isEmpty { text = run } else { text += run }
        }
        while true {
            let (runEnd, ascii) = scanRun(from: index)
            index = runEnd
            runIsASCII = runIsASCII && ascii
            switch current {
            case UInt8(ascii: "\"")?:
                try flushRun(self, upTo: index)
                index += 1
                return text
            case UInt8(ascii: "\\")?:
                try flushRun(self, upTo: index)
                index += 1
                text.unicodeScalars.append(try parseEscape())
                runStart = index
                runIsASCII = true
            case nil:
                throw failure("unterminated string")
            default:
                throw failure("control character in a string")
            }
        }
    }

    /// Where the run of plain string bytes from `start` ends (at a quote, a backslash, a control character or the
    /// end), and whether it is all ASCII.
    private func scanRun(from start: Int) -> (end: Int, isASCII: Bool) {
        bytes.withUnsafeBufferPointer { buffer in
            var index = start
            var isASCII = true
            while index < buffer.count {
                let byte = buffer[index]
                if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20 { break }
                if byte >= 0x80 { isASCII = false }
                index += 1
            }
            return (index, isASCII)
        }
    }

    private mutating func parseEscape() throws(Failure) -> Unicode.Scalar {
        guard let byte = current else { throw failure("unterminated escape") }
        index += 1
        switch byte {
        case UInt8(ascii: "\""): return "\""
        case UInt8(ascii: "\\"): return "\\"
        case UInt8(ascii: "/"): return "/"
        case UInt8(ascii: "b"): return "\u{08}"
        case UInt8(ascii: "f"): return "\u{0C}"
        case UInt8(ascii: "n"): return "\n"
        case UInt8(ascii: "r"): return "\r"
        case UInt8(ascii: "t"): return "\t"
        case UInt8(ascii: "u"):
            let high = try parseHex4()
            if (0xD800...0xDBFF).contains(high) {
                guard current == UInt8(ascii: "\\"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "u")
                else { throw failure("unpaired surrogate") }
                index += 2
                let low = try parseHex4()
                guard (0xDC00...0xDFFF).contains(low),
                      let scalar = Unicode.Scalar(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
                else { throw failure("unpaired surrogate") }
                return scalar
            }
            guard let scalar = Unicode.Scalar(high) else { throw failure("unpaired surrogate") }
            return scalar
        default:
            throw failure("invalid escape")
        }
    }

    private mutating func parseHex4() throws(Failure) -> UInt32 {
        guard bytes.count - index >= 4 else { throw failure("short \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case 0x30...0x39: digit = byte - 0x30
            case 0x41...0x46: digit = byte - 0x41 + 10
            case 0x61...0x66: digit = byte - 0x61 + 10
            default: throw failure("invalid \\u escape")
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }

    private mutating func parseNumber() throws(Failure) -> JSONValue {
        let start = index
        var isInteger = true
        if current == UInt8(ascii: "-") { index += 1 }
        guard let first = current, (0x30...0x39).contains(first) else { throw failure("invalid number") }
        index += 1
        if first != 0x30 { skipDigits() }
        if current == UInt8(ascii: ".") {
            isInteger = false
            index += 1
            guard try requireDigits() else { throw failure("invalid number") }
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            isInteger = false
            index += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
            guard try requireDigits() else { throw failure("invalid number") }
        }
        // Up to 18 digits cannot overflow: summed directly, without a String to parse (a request id, an `exp`).
        if isInteger, index - start <= 18 {
            var magnitude: Int64 = 0
            for digit in bytes[start..<index] where digit != UInt8(ascii: "-") {
                magnitude = magnitude * 10 + Int64(digit - UInt8(ascii: "0"))
            }
            return .integer(bytes[start] == UInt8(ascii: "-") ? -magnitude : magnitude)
        }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        if isInteger, let integer = Int64(text) { return .integer(integer) }
        guard let number = Double(text), number.isFinite else { throw failure("number out of range") }
        return .number(number)
    }

    private mutating func skipDigits() {
        while let byte = current, (0x30...0x39).contains(byte) { index += 1 }
    }

    private mutating func requireDigits() throws(Failure) -> Bool {
        let start = index
        skipDigits()
        return index > start
    }
}
