/// A value that must never reach a log line, an error message or a debug dump.
///
/// Client secrets, tokens, authorization codes, PKCE verifiers and registration access tokens travel as
/// `Secret` so that forgetting to redact one is impossible: interpolating it prints `<redacted>`.
/// Only code that must send the value somewhere (the OP, the store, the wire encoder) reads ``revealed``.
public struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    /// The clear value. Reading it is a deliberate act; grep for `.revealed` to audit every use.
    public let revealed: String

    public init(_ value: String) { self.revealed = value }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
    public var customMirror: Mirror { Mirror(self, children: []) }
}
