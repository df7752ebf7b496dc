#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import RelydProtocol

/// The protected header of a JWS, reduced to what relyd reads.
///
/// Headers that point at keys (`jku`, `jwk`, `x5u`, `x5c`) are ignored on purpose: keys come only from the OP's
/// JWKS, never from the token itself.
public struct JWSHeader: Sendable, Equatable {
    public let algorithm: JWSAlgorithm
    public let keyID: String?
    public let type: String?

    public init(algorithm: JWSAlgorithm, keyID: String?, type: String?) {
        self.algorithm = algorithm
        self.keyID = keyID
        self.type = type
    }
}

/// A JWS in compact serialization (RFC 7515 §7.1), parsed but not verified.
public struct JWS: Sendable {
    public let header: JWSHeader
    /// The payload, which relyd requires to be a JSON object (a JWT claims set).
    public let payload: [String: JSONValue]
    /// `ASCII(BASE64URL(header) || '.' || BASE64URL(payload))`, the bytes the signature covers.
    public let signingInput: [UInt8]
    public let signature: [UInt8]

    /// Parses `compact`: exactly three base64url parts; a JSON object header with a string `alg` and optional string
    /// `kid` and `typ`, and no `crit` (relyd implements no extension, so RFC 7515 §4.1.11 requires refusing it); a JSON
    /// object payload. Duplicate member names in either are refused (see `JSONParser`).
    public init(compact: String) throws(JOSEError) {
        var compact = compact
        let parts = try compact.withUTF8 { Self.decodeParts($0) }.get()
        guard let header = try? JSONParser.parseObject(parts.header) else {
            throw JOSEError(.malformed, "JWS header is not a JSON object")
        }
        guard let payload = try? JSONParser.parseObject(parts.payload) else {
            throw JOSEError(.malformed, "JWS payload is not a JSON object")
        }
        self.header = try Self.parseHeader(header)
        self.payload = payload
        self.signingInput = parts.signingInput
        self.signature = parts.signature
    }

    private struct DecodedParts {
        var header: [UInt8]
        var payload: [UInt8]
        var signature: [UInt8]
        var signingInput: [UInt8]
    }

    /// The three parts of `compact` decoded, read in place from the token's UTF-8 bytes.
    private static func decodeParts(_ compact: UnsafeBufferPointer<UInt8>) -> Result<DecodedParts, JOSEError> {
        let dot = UInt8(ascii: ".")
        guard let first = compact.firstIndex(of: dot),
              let second = compact[(first + 1)...].firstIndex(of: dot),
              !compact[(second + 1)...].contains(dot)
        else { return .failure(JOSEError(.malformed, "compact JWS must have exactly three parts")) }
        guard let header = Base64URL.decode(utf8: UnsafeBufferPointer(rebasing: compact[..<first])),
              let payload = Base64URL.decode(utf8: UnsafeBufferPointer(rebasing: compact[(first + 1)..<second])),
              let signature = Base64URL.decode(utf8: UnsafeBufferPointer(rebasing: compact[(second + 1)...]))
        else { return .failure(JOSEError(.malformed, "JWS part is not base64url")) }
        return .success(DecodedParts(header: header, payload: payload, signature: signature,
                                     signingInput: Array(compact[..<second])))
    }

    private static func parseHeader(_ header: [String: JSONValue]) throws(JOSEError) -> JWSHeader {
        guard header["crit"] == nil else {
            throw JOSEError(.malformed, "JWS header has crit; no extensions are supported")
        }
        guard let name = header["alg"]?.stringValue else {
            throw JOSEError(.malformed, "JWS header alg is missing or not a string")
        }
        guard let algorithm = JWSAlgorithm(rawValue: name) else {
            throw JOSEError(.unsupportedAlgorithm, "JWS header alg is not supported")
        }
        return JWSHeader(algorithm: algorithm, keyID: try optionalString(header["kid"], "kid"),
                         type: try optionalString(header["typ"], "typ"))
    }

    private static func optionalString(_ value: JSONValue?, _ name: String) throws(JOSEError) -> String? {
        guard let value else { return nil }
        guard let string = value.stringValue else {
            throw JOSEError(.malformed, "JWS header \(name) is not a string")
        }
        return string
    }
}
