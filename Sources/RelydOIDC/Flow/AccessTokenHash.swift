import Foundation
import RelydBasics

/// The key under which relyd remembers facts about an access token without storing the token itself.
public enum AccessTokenHash {
    /// SHA-256 of the token, lower-case hex.
    ///
    /// Hex by `String(radix:)`, not `String(format:)`: Foundation's formatting cost tens of microseconds per hash
    /// on the path of every `get_tokens_by_code` and `get_user_info`.
    public static func of(_ token: Secret) throws -> String {
        try sha256(Array(token.revealed.utf8)).map { ($0 < 0x10 ? "0" : "") + String($0, radix: 16) }.joined()
    }
}
