import RelydOIDC
import RelydProtocol
import Testing

@Suite("Compact JWS parsing")
struct JWSTests {
    private static func part(_ json: String) -> String { Base64URL.encode(Array(json.utf8)) }
    private static let payload = part(#"{"sub":"1"}"#)
    private static let signature = Base64URL.encode([1, 2, 3])

    private static func compact(header: String, payload: String = payload) -> String {
        "\(part(header)).\(payload).\(signature)"
    }

    /// A well-formed JWS keeps its header fields, payload, exact signing input and signature bytes.
    @Test func wellFormedJWSIsParsed() throws {
        let header = Self.part(#"{"alg":"ES256","kid":"k1","typ":"JWT","jku":"https://evil.example"}"#)
        let jws = try JWS(compact: "\(header).\(Self.payload).\(Self.signature)")
        #expect(jws.header == JWSHeader(algorithm: .es256, keyID: "k1", type: "JWT"))
        #expect(jws.payload == ["sub": .string("1")])
        #expect(jws.signingInput == Array("\(header).\(Self.payload)".utf8))
        #expect(jws.signature == [1, 2, 3])
    }

    /// Structural errors are `malformed`: part count, base64url, non-object JSON, alg or kid of the wrong type, crit,
    /// and a member name used twice (even when spelled with an escape) in the header or payload.
    @Test(arguments: [
        "a.b", "a.b.c.d", "", "..", "e30.e30", "e30.e30.e30.e30",
        compact(header: #"{"alg":"RS256"}"#) + "=",
        "!!.\(payload).\(signature)",
        compact(header: #"["alg","RS256"]"#),
        compact(header: "not json"),
        compact(header: "{}"),
        compact(header: #"{"alg":256}"#),
        compact(header: #"{"alg":"RS256","kid":7}"#),
        compact(header: #"{"alg":"RS256","typ":["JWT"]}"#),
        compact(header: #"{"alg":"RS256","crit":["b64"],"b64":false}"#),
        compact(header: #"{"alg":"RS256"}"#, payload: part("[1]")),
        compact(header: #"{"alg":"RS256"}"#, payload: part("\"text\"")),
        compact(header: #"{"alg":"RS256"}"#, payload: ""),
        compact(header: #"{"alg":"none","alg":"RS256"}"#),
        compact(header: #"{"alg":"RS256","\u0061lg":"none"}"#),
        compact(header: #"{"alg":"RS256"}"#, payload: part(#"{"sub":"1","sub":"2"}"#)),
        compact(header: #"{"alg":"RS256"}"#, payload: part(#"{"sub":"1","address":{"x":1,"x":2}}"#)),
    ])
    func malformedJWSIsRefused(token: String) {
        #expect {
            try JWS(compact: token)
        } throws: { error in
            (error as? JOSEError)?.kind == .malformed
        }
    }

    /// The same member name in different objects, or as a string value, is not a duplicate.
    @Test func sameNameInDifferentObjectsIsAccepted() throws {
        let payload = Self.part(#"{"sub":"sub","a":{"sub":1},"b":[{"sub":2},{"sub":"\"sub\""}]}"#)
        let jws = try JWS(compact: Self.compact(header: #"{"alg":"RS256","kid":"alg"}"#, payload: payload))
        #expect(jws.payload["sub"] == .string("sub"))
        #expect(jws.header.keyID == "alg")
    }

    /// An alg relyd does not know is `unsupportedAlgorithm`, while `none` parses so it can be refused by name.
    @Test func unknownAlgorithmIsUnsupportedButNoneIsRecognised() throws {
        #expect {
            try JWS(compact: Self.compact(header: #"{"alg":"HS1"}"#))
        } throws: { error in
            (error as? JOSEError)?.kind == .unsupportedAlgorithm
        }
        #expect(try JWS(compact: "\(Self.part(#"{"alg":"none"}"#)).\(Self.payload).").header.algorithm == JWSAlgorithm.none)
    }
}
