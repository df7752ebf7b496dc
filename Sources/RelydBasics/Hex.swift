extension Sequence<UInt8> {
    /// The bytes as lower-case hex, two digits each.
    ///
    /// By `String(radix:)`, not `String(format:)`: Foundation's formatting costs tens of microseconds per call, and
    /// hex sits on the path of every `get_tokens_by_code` and `get_user_info`.
    public var lowercaseHex: String {
        map { ($0 < 0x10 ? "0" : "") + String($0, radix: 16) }.joined()
    }
}
