import Foundation
import FuzzSupport
import RelydOIDC
import RelydProtocol

/// A JWKS document and a compact JWS from a hostile OP: everything before the first newline is the JWKS, the rest
/// the token (without a newline, the whole input is tried as both). The JWKS goes through JWK import, the token
/// through the compact parser and the whole ID token and logout token validation, signature included, with the
/// expectations of the test fixtures so that fixture tokens reach the claim checks.
///
/// Invariants: nothing but a typed rejection ever comes out, and no token with `alg` `none` is ever accepted.
let fixtureNow = Date(timeIntervalSince1970: 1_700_000_100)
let fixtureIssuer = "https://op.example.com"
let fixtureClientID = "relyd-client"
let fixtureSecret = "client-secret-that-is-long-enough-for-hs512-0123456789abcdef0123456789"
let idTokenExpectations = IDTokenExpectations(
    issuer: fixtureIssuer, clientID: fixtureClientID, nonce: "n-0S6_WzA2Mj",
    allowedAlgorithms: Set(JWSAlgorithm.allCases), clientSecret: fixtureSecret,
    accessToken: "ya29.a0AfH6SMBx-access-token", maxAge: 3600, acrValues: ["urn:example:loa:2"], now: fixtureNow)
let logoutTokenExpectations = LogoutTokenExpectations(
    issuer: fixtureIssuer, clientID: fixtureClientID, allowedAlgorithms: Set(JWSAlgorithm.allCases),
    clientSecret: fixtureSecret, now: Date(timeIntervalSince1970: 1_700_000_030))

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJOSE(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = Fuzz.bytes(data, size)
    let newline = input.firstIndex(of: UInt8(ascii: "\n"))
    let jwksBytes = newline.map { Array(input[..<$0]) } ?? input
    let tokenBytes = newline.map { Array(input[($0 + 1)...]) } ?? input
    let keys = importedKeys(jwksBytes)
    let token = String(decoding: tokenBytes, as: UTF8.self)

    if let jws = try? JWS(compact: token) {
        _ = keys.candidates(for: jws.header)
    }
    if let validated = try? IDTokenValidator.validate(token, expectations: idTokenExpectations, keys: keys),
       validated.header.algorithm == .none {
        Fuzz.fail("an unsigned ID token was accepted")
    }
    _ = try? LogoutTokenValidator.validate(token, expectations: logoutTokenExpectations, keys: keys)
    return 0
}

/// The last JWKS imported, and its bytes. Most inputs are mutations of a fixture's token under an unchanged JWKS, and
/// OpenSSL's check of each RSA key (a constant-time gcd) would otherwise take most of the time of every run.
nonisolated(unsafe) var lastImport: (bytes: [UInt8], keys: JWKSet)?

func importedKeys(_ bytes: [UInt8]) -> JWKSet {
    if let lastImport, lastImport.bytes == bytes { return lastImport.keys }
    let keys = (try? JWKSet(json: Data(bytes))) ?? JWKSet(keys: [])
    lastImport = (bytes, keys)
    return keys
}
