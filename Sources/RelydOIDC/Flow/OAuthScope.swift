import RelydProtocol

/// The `scope` parameter of OAuth requests (RFC 6749 3.3): space-delimited scope tokens.
public enum OAuthScope {
    /// `scopes` as the space-delimited wire value.
    ///
    /// - Throws: `invalid_parameter` naming `parameter` when a scope is empty or has a character RFC 6749 3.3
    ///   excludes (a space would silently split it into two scopes).
    public static func joined(_ scopes: [String], parameter: String) throws -> String {
        for scope in scopes where scope.isEmpty || !scope.unicodeScalars.allSatisfy(isScopeCharacter) {
            throw RelydError(.invalidParameter,
                             "'params.\(parameter)' has a scope that is empty or has a space, quote or backslash")
        }
        return scopes.joined(separator: " ")
    }

    /// The scopes of a space-delimited value.
    public static func split(_ value: String) -> [String] {
        value.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
    }

    /// `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`.
    private static func isScopeCharacter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x21, 0x23...0x5B, 0x5D...0x7E: true
        default: false
        }
    }
}
