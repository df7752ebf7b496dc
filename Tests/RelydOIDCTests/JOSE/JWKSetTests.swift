import Foundation
import RelydOIDC
import RelydProtocol
import Testing

@Suite("JWK set parsing and key selection")
struct JWKSetTests {
    private let main = JOSEFixtures.keySets["main"]

    /// Usable keys are kept in order and unusable ones (weak RSA, oct, off-curve, short coordinate, Ed448,
    /// unknown kty, non-object) are skipped without failing the set.
    @Test func unusableKeysAreSkipped() throws {
        let set = try #require(main)
        #expect(set.keys.map(\.keyID) == ["rsa-1", "rsa-2", "rsa-ps256", "rsa-enc", "ec-p256", "ec-p384", "ec-p521", "ed-1"])
        #expect(set.skippedKeyCount == 7)
        #expect(set.keys[4].publicKey.kind == .ec(.p256))
        #expect(set.keys[4].algorithm == "ES256")
        #expect(set.keys[5].keyOperations == ["verify"])
    }

    /// Each unusable entry of the fixture JWKS, parsed on its own, is refused as `unusableKey`.
    @Test func eachUnusableEntryIsRefusedAsUnusableKey() throws {
        let document = try JSONDecoder().decode([String: JSONValue].self, from: JOSEFixtures.data("jwks"))
        let entries = try #require(document["main"]?["keys"]?.arrayValue).compactMap(\.objectValue)
        let unusable = entries.filter { $0["kid"]?.stringValue.map(Self.unusableKeyIDs.contains) ?? false }
        #expect(unusable.count == Self.unusableKeyIDs.count)
        for parameters in unusable {
            #expect {
                try JWK(parameters: parameters)
            } throws: { error in
                (error as? JOSEError)?.kind == .unusableKey
            }
        }
    }

    private static let unusableKeyIDs: Set = ["rsa-weak", "hmac-1", "ec-off-curve", "ec-short", "ed448", "future"]

    /// An EC coordinate whose leading zero byte was stripped (as some OPs publish it) names the same point and is
    /// accepted; a coordinate longer than the curve's is refused.
    @Test func shortECCoordinate_isPadded_longOneRefused() throws {
        func key(x: String) throws -> JWK {
            try JWK(parameters: ["kty": .string("EC"), "crv": .string("P-256"), "x": .string(x),
                                 "y": .string("GCLY34KlDjA0ZmJwNI6owSrLJw2PH5YxebBEb56ipjY")])
        }
        // The same point written with and without its leading zero byte (generated with Python `cryptography`).
        #expect(try key(x: "zsX3WCP7gryRGzA__qlfig0s-gUSX9wJ-Ov274cZpQ").publicKey.kind == .ec(.p256))
        #expect(try key(x: "AM7F91gj-4K8kRswP_6pX4oNLPoFEl_cCfjr9u-HGaU").publicKey.kind == .ec(.p256))
        #expect(throws: JOSEError.self) { try key(x: "AADOxfdYI_uCvJEbMD_-qV-KDSz6BRJf3An46_bvhxml") }
    }

    /// Fuzzing finding: importing a key costs up to a tenth of a second, and a 1 MiB JWKS holds hundreds of keys,
    /// so a hostile OP could stall relyd for minutes on every JWKS fetch. Only the first 64 entries are imported; the
    /// rest count as skipped.
    @Test func jwksWithMoreThan64Entries_importsOnlyTheFirst64() throws {
        let entry = #"{"kty":"EC","crv":"P-256","x":"zsX3WCP7gryRGzA__qlfig0s-gUSX9wJ-Ov274cZpQ","#
            + #""y":"GCLY34KlDjA0ZmJwNI6owSrLJw2PH5YxebBEb56ipjY"}"#
        let document = #"{"keys":["# + Array(repeating: entry, count: 70).joined(separator: ",") + "]}"
        let set = try JWKSet(json: Data(document.utf8))
        #expect(set.keys.count == JWKSet.maximumEntryCount)
        #expect(set.skippedKeyCount == 6)
    }

    /// A document that is not an object with a keys array (exactly once) is an error.
    @Test(arguments: ["[]", "{}", #"{"keys":{}}"#, #"{"keys":"x"}"#, "not json", "", #"{"keys":[],"keys":[]}"#])
    func documentWithoutKeysArrayIsRefused(document: String) {
        #expect(throws: JOSEError.self) { try JWKSet(json: Data(document.utf8)) }
    }

    /// An empty keys array is a valid, empty set.
    @Test func emptyKeysArrayIsAnEmptySet() throws {
        let set = try JWKSet(json: Data(#"{"keys":[]}"#.utf8))
        #expect(set.keys.isEmpty)
        #expect(set.skippedKeyCount == 0)
    }

    /// With a kid only that key is a candidate, and only if it fits the alg, use, alg and key_ops.
    @Test func kidSelectsOnlyAFittingKeyWithThatKid() throws {
        let set = try #require(main)
        func ids(_ algorithm: JWSAlgorithm, _ kid: String?) -> [String?] {
            set.candidates(for: JWSHeader(algorithm: algorithm, keyID: kid, type: nil)).map(\.keyID)
        }
        #expect(ids(.rs256, "rsa-1") == ["rsa-1"])
        #expect(ids(.rs256, "ec-p256") == [])
        #expect(ids(.rs256, "rsa-enc") == [])
        #expect(ids(.rs256, "rsa-ps256") == [])
        #expect(ids(.ps256, "rsa-ps256") == ["rsa-ps256"])
        #expect(ids(.es384, "ec-p384") == ["ec-p384"])
        #expect(ids(.hs256, "rsa-1") == [])
        #expect(ids(.rs256, "missing") == [])
    }

    /// Without a kid every key fitting the alg is a candidate, whatever its kid.
    @Test func withoutKidEveryCompatibleKeyIsACandidate() throws {
        let set = try #require(main)
        func ids(_ algorithm: JWSAlgorithm) -> [String?] {
            set.candidates(for: JWSHeader(algorithm: algorithm, keyID: nil, type: nil)).map(\.keyID)
        }
        #expect(ids(.rs256) == ["rsa-1", "rsa-2"])
        #expect(ids(.ps256) == ["rsa-1", "rsa-2", "rsa-ps256"])
        #expect(ids(.es256) == ["ec-p256"])
        #expect(ids(.es512) == ["ec-p521"])
        #expect(ids(.edDSA) == ["ed-1"])
        #expect(ids(.none) == [])
    }
}
