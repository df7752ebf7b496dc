import Foundation
import RelydOIDC
import RelydProtocol
import Testing

/// Keys and ID tokens made by Python `cryptography` (Fixtures/make_fixtures.py): the JWK sets by name and the
/// ID token cases, each with the expectations to validate it under and the expected outcome.
enum JOSEFixtures {
    struct TokenCase: Decodable, Sendable, CustomTestStringConvertible {
        let name: String
        let description: String
        let token: String
        let jwks: String
        /// "valid", or the raw value of the `IDTokenFailure.Check` the token must fail.
        let expect: String
        /// Overrides of the file's default expectations; a JSON null clears an optional.
        let expectations: [String: JSONValue]
        var testDescription: String { "\(name): \(description)" }
    }

    private struct TokenFile: Decodable {
        let defaults: [String: JSONValue]
        let cases: [TokenCase]
    }

    static func data(_ name: String) -> Data {
        do {
            guard let url = Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: "json") else {
                throw CocoaError(.fileNoSuchFile)
            }
            return try Data(contentsOf: url)
        } catch {
            preconditionFailure("cannot load fixture \(name).json: \(error)")
        }
    }

    private static let tokenFile: TokenFile = {
        do {
            return try JSONDecoder().decode(TokenFile.self, from: data("id_tokens"))
        } catch {
            preconditionFailure("cannot decode id_tokens.json: \(error)")
        }
    }()

    static let validCases = tokenFile.cases.filter { $0.expect == "valid" }
    static let invalidCases = tokenFile.cases.filter { $0.expect != "valid" }

    /// The JWK sets of jwks.json, each parsed from its own JSON text.
    static let keySets: [String: JWKSet] = {
        do {
            let documents = try JSONDecoder().decode([String: JSONValue].self, from: data("jwks"))
            return try documents.mapValues { try JWKSet(json: JSONEncoder().encode($0)) }
        } catch {
            preconditionFailure("cannot parse jwks.json: \(error)")
        }
    }()

    /// The file's default expectations with the case's overrides applied.
    static func expectations(for tokenCase: TokenCase) throws -> IDTokenExpectations {
        let values = tokenFile.defaults.merging(tokenCase.expectations) { $1 }
        let algorithms = try #require(values["allowedAlgorithms"]?.arrayValue).compactMap {
            $0.stringValue.flatMap(JWSAlgorithm.init(rawValue:))
        }
        return IDTokenExpectations(
            issuer: try #require(values["issuer"]?.stringValue),
            clientID: try #require(values["clientID"]?.stringValue),
            nonce: values["nonce"]?.stringValue,
            allowedAlgorithms: Set(algorithms),
            clientSecret: values["clientSecret"]?.stringValue,
            accessToken: values["accessToken"]?.stringValue,
            maxAge: values["maxAge"]?.int64Value.map { Int($0) },
            acrValues: values["acrValues"]?.arrayValue?.compactMap(\.stringValue),
            now: Date(timeIntervalSince1970: TimeInterval(try #require(values["now"]?.int64Value))),
            clockSkew: TimeInterval(try #require(values["clockSkew"]?.int64Value)))
    }

    static func keys(for tokenCase: TokenCase) throws -> JWKSet {
        try #require(keySets[tokenCase.jwks])
    }
}
