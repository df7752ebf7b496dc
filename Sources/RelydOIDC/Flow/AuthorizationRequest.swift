#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import RelydBasics
import RelydCrypto
import RelydProtocol
import RelydStore

/// An authorization request (OpenID Connect Core 3.1.2.1) with its secrets, ready to be stored and sent.
///
/// relyd makes the state, the nonce and the PKCE verifier (RFC 7636, S256) itself so that no app can weaken
/// them; the app only ever sees the URL and the state.
public struct AuthorizationRequest: Sendable {
    public var url: URL
    public var pending: PendingAuthorization

    /// Parameters relyd sets itself; `custom_parameters` cannot override them.
    public static let reservedParameters: Set<String> = [
        "response_type", "client_id", "redirect_uri", "scope", "state", "nonce", "code_challenge",
        "code_challenge_method", "acr_values", "prompt", "max_age", "login_hint", "ui_locales", "claims",
        "response_mode",
    ]

    /// The response modes relyd accepts: `query` (the default for the code flow) and `form_post` (OAuth 2.0 Form
    /// Post Response Mode). Fragment modes would put the code where only browser script can read it.
    public static let responseModes: Set<String> = ["query", "form_post"]

    /// Builds the request for `site`. A provider that issues no ID tokens gets no `nonce` and no added `openid`
    /// scope; state and PKCE protect every request alike.
    ///
    /// - Parameter claims: the OpenID Connect `claims` request parameter (Core 5.5), sent as compact JSON.
    /// - Throws: `invalid_parameter` for a reserved custom parameter, a negative `max_age` or a response mode other
    ///   than `query` and `form_post`.
    public init(site: Site, endpoints: ProviderEndpoints, scopes: [String], acrValues: [String]?, prompt: String?,
                maxAge: Int?, loginHint: String? = nil, uiLocales: [String]? = nil,
                claims: [String: JSONValue]? = nil, responseMode: String? = nil, customParameters: [String: String],
                environment: OIDCEnvironment) throws {
        if let reserved = customParameters.keys.sorted().first(where: Self.reservedParameters.contains) {
            throw RelydError(.invalidParameter,
                             "'params.custom_parameters.\(reserved)' is set by relyd or has its own parameter")
        }
        if let maxAge, maxAge < 0 {
            throw RelydError(.invalidParameter, "'params.max_age' must not be negative")
        }
        if let responseMode, !Self.responseModes.contains(responseMode) {
            throw RelydError(.invalidParameter, "'params.response_mode' must be 'query' or 'form_post'")
        }
        let state = try Self.randomToken(environment.random)
        let nonce = try Self.randomToken(environment.random)
        let verifier = try Self.randomToken(environment.random)

        var query: [(String, String)] = [
            ("response_type", "code"),
            ("client_id", site.clientID),
            ("redirect_uri", site.redirectURI),
        ]
        let requestedScopes = endpoints.requestedScopes(scopes)
        // RFC 6749 3.3: without a scope the provider applies its default.
        if !requestedScopes.isEmpty { query.append(("scope", requestedScopes.joined(separator: " "))) }
        query.append(("state", state))
        if endpoints.issuesIDTokens { query.append(("nonce", nonce)) }
        query += [
            ("code_challenge", try PKCE.challenge(forVerifier: verifier)),
            ("code_challenge_method", "S256"),
        ]
        if let acrValues, !acrValues.isEmpty { query.append(("acr_values", acrValues.joined(separator: " "))) }
        if let prompt { query.append(("prompt", prompt)) }
        if let maxAge { query.append(("max_age", String(maxAge))) }
        if let loginHint { query.append(("login_hint", loginHint)) }
        if let uiLocales, !uiLocales.isEmpty { query.append(("ui_locales", uiLocales.joined(separator: " "))) }
        if let claims { query.append(("claims", try Self.compactJSON(claims))) }
        if let responseMode { query.append(("response_mode", responseMode)) }
        query += customParameters.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }

        guard let url = FormEncoding.url(endpoints.authorizationEndpoint, appending: query) else {
            throw RelydError(.invalidParameter, "the authorization URL could not be built")
        }
        let now = environment.clock.now()
        self.url = url
        self.pending = PendingAuthorization(
            state: Secret(state), siteID: site.id, nonce: Secret(nonce), codeVerifier: Secret(verifier),
            redirectURI: site.redirectURI, maxAge: maxAge, acrValues: acrValues?.isEmpty == true ? nil : acrValues,
            createdAt: now, expiresAt: now.addingTimeInterval(environment.settings.stateLifetime))
    }

    /// `scopes` with `openid` first when it was missing: without it the OP would not run OpenID Connect at all.
    public static func withOpenID(_ scopes: [String]) -> [String] {
        scopes.contains("openid") ? scopes : ["openid"] + scopes
    }

    /// `object` as JSON without whitespace, keys sorted so the same request always gives the same URL.
    static func compactJSON(_ object: [String: JSONValue]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            return String(decoding: try encoder.encode(JSONValue.object(object)), as: UTF8.self)
        } catch {
            throw RelydError(.invalidParameter, "'params.claims' cannot be encoded as JSON")
        }
    }

    /// 256 bits from the CSPRNG, base64url: unguessable state, nonce and a PKCE verifier of 43 characters.
    static func randomToken(_ random: any RandomSource) throws -> String {
        do {
            return Base64URL.encode(try random.bytes(32))
        } catch {
            throw RelydError(.internalError, RelydError.internalErrorMessage)
        }
    }
}

/// PKCE (RFC 7636) with the S256 method only: `plain` gives no protection against a stolen code.
public enum PKCE {
    /// `BASE64URL(SHA256(ASCII(verifier)))` (RFC 7636 4.2).
    public static func challenge(forVerifier verifier: String) throws -> String {
        Base64URL.encode(try sha256(Array(verifier.utf8)))
    }
}

/// SHA-256 for the engine's own uses (PKCE, token fingerprints). A failure inside OpenSSL is the daemon's fault,
/// never the client's: it becomes `internal_error`.
func sha256(_ bytes: [UInt8]) throws -> [UInt8] {
    do {
        return try digest(.sha256, bytes)
    } catch {
        throw RelydError(.internalError, RelydError.internalErrorMessage)
    }
}
