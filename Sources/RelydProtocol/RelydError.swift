/// The one error type of relyd: a stable ``ErrorCode`` plus a description that is safe to send to the client.
///
/// Every layer throws `RelydError` for failures a client should hear about; the dispatcher maps it to the wire in
/// one place. Any other error becomes `internal_error` with a fixed description, and its detail goes to the log.
/// Equality compares codes only, so tests read `#expect(error == RelydError(.invalidState))`.
public struct RelydError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: ErrorCode
    /// Text for humans. Must never contain a secret, token, code or verifier.
    public var message: String

    public init(_ code: ErrorCode, _ message: String = "") {
        self.code = code
        self.message = message
    }

    public static func == (lhs: RelydError, rhs: RelydError) -> Bool { lhs.code == rhs.code }

    public var description: String { message.isEmpty ? code.rawValue : "\(code.rawValue): \(message)" }

    /// The fixed description sent for every `internal_error`.
    public static let internalErrorMessage = "internal error; see the daemon's log"
}

extension RelydError {
    /// Untrusted text (a client's input, an OP's message) made safe to put in a description: control characters
    /// dropped, so one error stays one line of a log, and the length bounded.
    public static func quoting(_ text: String, limit: Int = 200) -> String {
        let printable = text.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7f }
        return String(String.UnicodeScalarView(printable.prefix(limit)))
    }
}

extension RelydError {
    /// The description as it may go to the daemon's log. An `op_error` quotes the OP's own text, which relyd cannot
    /// vouch for (an OP might echo a code or a token back), so only relyd's own descriptions are logged.
    public var loggableDescription: String {
        code == .opError ? "(the OP's message, not logged)" : message
    }
}
