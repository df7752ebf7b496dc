import Foundation
@testable import RelydProtocol
import Testing

/// The decoder over already-parsed `params` gives what JSONDecoder gives, or steps aside (``Fallback``) so that
/// JSONDecoder decides.
@Suite struct ParsedValueDecoderTests {
    static func viaFoundation<P: Decodable>(_ type: P.Type, _ json: String) throws -> P {
        try JSONDecoder().decode(type, from: Data(json.utf8))
    }

    static func viaParsed<P: Decodable>(_ type: P.Type, _ json: String) throws -> P {
        try ParsedValueDecoder.decode(type, from: try JSONParser.parse(Array(json.utf8)))
    }

    @Test func commonParameters_decodeAsFoundationDoes() throws {
        let authorization = #"""
            {"oxd_id":"s-1","scope":["openid","é\n"],"max_age":0,"prompt":null,"claims":{"id_token":{"acr":
            {"essential":true,"values":["a",-3,null]}}},"custom_parameters":{"x":"y"},"ui_locales":[]}
            """#
        #expect(try Self.viaParsed(GetAuthorizationURL.Parameters.self, authorization)
            == Self.viaFoundation(GetAuthorizationURL.Parameters.self, authorization))
        let check = #"{"oxd_id":"s-2","id_token":"a.b.c","nonce":"n\u00e9"}"#
        #expect(try Self.viaParsed(CheckIDToken.Parameters.self, check)
            == Self.viaFoundation(CheckIDToken.Parameters.self, check))
        let register = #"{"op_host":"https://op","authorization_redirect_uri":"https://rp/cb","grant_types":[]}"#
        #expect(try Self.viaParsed(RegisterSite.Parameters.self, register)
            == Self.viaFoundation(RegisterSite.Parameters.self, register))
    }

    /// Numbers with a fraction or exponent (Foundation may read them as integers), wrong types and missing
    /// members are all left to JSONDecoder.
    @Test(arguments: [
        #"{"oxd_id":"s","max_age":1.0}"#, #"{"oxd_id":"s","max_age":1e2}"#, #"{"oxd_id":"s","claims":{"a":0.5}}"#,
        #"{"oxd_id":1}"#, #"{"scope":["openid"]}"#, #"{"oxd_id":"s","scope":"openid"}"#,
        #"{"oxd_id":"s","max_age":true}"#, #"{"oxd_id":"s","scope":[1]}"#,
    ])
    func unusualParameters_fallBack(json: String) {
        #expect(throws: ParsedValueDecoder.Fallback.self) {
            try Self.viaParsed(GetAuthorizationURL.Parameters.self, json)
        }
    }

    /// Through the envelope, a fraction that Foundation reads as an integer still comes out as before.
    @Test func fallback_keepsFoundationsReading() throws {
        let line = Array(#"{"command":"get_authorization_url","params":{"oxd_id":"s","max_age":1e2}}"#.utf8)
        let envelope = try RequestEnvelope(parsing: line)
        let expected = try? Self.viaFoundation(GetAuthorizationURL.Parameters.self, #"{"oxd_id":"s","max_age":1e2}"#)
        #expect((try? envelope.decodeParameters(GetAuthorizationURL.Parameters.self)) == expected)
    }
}
