#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import RelydBasics

/// The key under which relyd remembers facts about an access token without storing the token itself.
public enum AccessTokenHash {
    /// SHA-256 of the token, lower-case hex.
    public static func of(_ token: Secret) throws -> String {
        try sha256(Array(token.revealed.utf8)).lowercaseHex
    }
}
