#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import RelydBasics
import RelydHTTP

/// The knobs of the OIDC engine, read from the daemon's configuration.
public struct OIDCSettings: Sendable {
    /// Tolerance for `exp`, `iat`, `nbf` and `auth_time` against the local clock.
    public var clockSkew: TimeInterval = 60
    /// How long a pending authorization (state, nonce, PKCE verifier) can be redeemed.
    public var stateLifetime: TimeInterval = 300
    /// Allow `http://` issuers and endpoints on loopback addresses (tests and local OPs); https is always required
    /// for anything else.
    public var allowHTTPLoopback = false
    /// How long discovery documents and JWKS are cached when the OP sends no usable Cache-Control.
    public var metadataCacheLifetime: TimeInterval = 3600
    /// The shortest interval between two JWKS refetches caused by an unknown `kid`, per JWKS URL, so that tokens
    /// with made-up key ids cannot turn relyd into a request amplifier against the OP.
    public var minimumKeyRefetchInterval: TimeInterval = 10
    /// The OPs sites may use and discovery or WebFinger may reach; empty allows any (see ``AllowedOPHosts``).
    public var allowedOPHosts = AllowedOPHosts.any
    /// How old (by `iat`) a back-channel logout token may be. Bounds how long its `jti` is remembered for replay
    /// detection; an OP delivers logout tokens right away, so minutes suffice.
    public var logoutTokenMaximumAge: TimeInterval = 300
    /// How long relyd remembers the user behind a refresh token (to hold a refreshed ID token to the same `sub`);
    /// OPs do not say how long their refresh tokens live, so this is a bound, renewed by every refresh.
    public var refreshTokenBindingLifetime: TimeInterval = 30 * 24 * 3600

    public init() {}
}

/// What the engine needs from its surroundings, injected so that tests replace each part.
public struct OIDCEnvironment: Sendable {
    public var settings: OIDCSettings
    public var http: ProviderHTTPClient
    public var clock: any WallClock
    public var random: any RandomSource
    public var logger: Logger

    public init(settings: OIDCSettings, transport: any HTTPTransport, clock: any WallClock,
                random: any RandomSource, logger: Logger) {
        self.settings = settings
        self.http = ProviderHTTPClient(transport: transport, allowHTTPLoopback: settings.allowHTTPLoopback)
        self.clock = clock
        self.random = random
        self.logger = logger
    }
}
