#if canImport(Glibc)
import Glibc
#endif

// The few text operations the daemon used from full Foundation (`trimmingCharacters(in:)` with a `CharacterSet`,
// `String(format:)`), which FoundationEssentials lacks. They keep Foundation's exact results so that nothing a client
// or an operator sees changes; the daemon links only FoundationEssentials to save ICU's resident pages (issue 7).

extension StringProtocol {
    /// Without leading and trailing Unicode scalars for which `isTrimmed` is true.
    public func trimmingScalars(where isTrimmed: (Unicode.Scalar) -> Bool) -> String {
        let scalars = String(self).unicodeScalars
        guard let first = scalars.firstIndex(where: { !isTrimmed($0) }),
              let last = scalars.lastIndex(where: { !isTrimmed($0) }) else { return "" }
        return String(scalars[first...last])
    }

    /// Without leading and trailing scalars from `characters`, as
    /// `trimmingCharacters(in: CharacterSet(charactersIn: characters))`.
    public func trimmingScalars(in characters: String) -> String {
        trimmingScalars { characters.unicodeScalars.contains($0) }
    }

    /// As Foundation's `trimmingCharacters(in: .whitespaces)`, whose set is CoreFoundation's fixed list (the tab and
    /// the space separators of an older Unicode, U+200B included).
    public func trimmingWhitespace() -> String {
        trimmingScalars { $0.isWhitespaceScalar }
    }

    /// As Foundation's `trimmingCharacters(in: .whitespacesAndNewlines)`: also U+000A … U+000D, U+0085, U+2028 and
    /// U+2029.
    public func trimmingWhitespaceAndNewlines() -> String {
        trimmingScalars { $0.isWhitespaceScalar || $0.isNewlineScalar }
    }
}

extension Unicode.Scalar {
    fileprivate var isWhitespaceScalar: Bool {
        switch value {
        case 0x20, 0x09, 0xA0, 0x1680, 0x2000...0x200B, 0x202F, 0x205F, 0x3000: true
        default: false
        }
    }

    fileprivate var isNewlineScalar: Bool {
        (0x0A...0x0D).contains(value) || value == 0x85 || value == 0x2028 || value == 0x2029
    }
}

extension Double {
    /// `value` with `digits` digits after the point, rounded as printf's `%.Nf` rounds (so as
    /// `String(format: "%.1f", value)` did).
    public func formatted(fractionDigits digits: Int) -> String {
        var buffer = [CChar](repeating: 0, count: 64)
        let length = withVaList([self]) { arguments in
            vsnprintf(&buffer, buffer.count, "%.\(max(0, min(digits, 20)))f", arguments)
        }
        guard length >= 0, Int(length) < buffer.count else { return String(self) }
        return String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

extension String {
    /// `body` over the string's UTF-8 as one contiguous buffer. A native string lends its own bytes, without a copy;
    /// walking `utf8` by index instead cost about 40 instructions a byte on the request path. Inlinable: called
    /// unspecialised from other modules, the generic call cost a `health` request about 1,000 instructions.
    @inlinable
    public func withContiguousUTF8<Result>(_ body: (UnsafeBufferPointer<UInt8>) throws -> Result) rethrows -> Result {
        if let result = try utf8.withContiguousStorageIfAvailable(body) { return result }
        var contiguous = self
        return try contiguous.withUTF8(body)
    }
}

extension UnsafeBufferPointer where Element == UInt8 {
    /// Whether `other` holds the same bytes, compared with `memcmp`: `elementsEqual` between buffers went element by
    /// element through the generic path, several times the cost on the request path.
    @inlinable
    public func hasSameBytes(as other: UnsafeBufferPointer<UInt8>) -> Bool {
        guard count == other.count else { return false }
        guard let base = baseAddress, let otherBase = other.baseAddress else { return true }  // both empty
        return memcmp(base, otherBase, count) == 0
    }
}
