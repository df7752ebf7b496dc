import Foundation
import RelydBasics
import RelydProtocol
import RelydStore

/// How a site proves itself at the OP's token endpoint (OpenID Connect Core 9).
public enum ClientAuthentication: Sendable, Equatable {
    /// HTTP Basic with the form-urlencoded client id and secret as user and password (RFC 6749 2.3.1).
    case clientSecretBasic(clientID: String, secret: Secret)
    /// The client id and secret as form parameters.
    case clientSecretPost(clientID: String, secret: Secret)

    /// The methods relyd can perform today.
    public static let supportedMethods = ["client_secret_basic", "client_secret_post"]

    /// The authentication a stored site uses.
    ///
    /// - Throws: `internal_error` when the stored site lacks its secret (the store was edited by hand).
    public init(site: Site) throws {
        guard let secret = site.clientSecret else {
            throw RelydError(.internalError, RelydError.internalErrorMessage)
        }
        switch site.tokenEndpointAuthMethod {
        case "client_secret_post": self = .clientSecretPost(clientID: site.clientID, secret: secret)
        default: self = .clientSecretBasic(clientID: site.clientID, secret: secret)
        }
    }

    /// Adds the credentials to a token-endpoint request's headers and form.
    func apply(headers: inout [(String, String)], form: inout [(String, String)]) {
        switch self {
        case .clientSecretBasic(let clientID, let secret):
            let credentials = FormEncoding.escape(clientID) + ":" + FormEncoding.escape(secret.revealed)
            headers.append(("Authorization", "Basic " + Data(credentials.utf8).base64EncodedString()))
        case .clientSecretPost(let clientID, let secret):
            form += [("client_id", clientID), ("client_secret", secret.revealed)]
        }
    }

    /// The HMAC key for HS256/384/512 ID tokens (OpenID Connect Core 10.1).
    var sharedSecret: String? {
        switch self {
        case .clientSecretBasic(_, let secret), .clientSecretPost(_, let secret): secret.revealed
        }
    }
}
