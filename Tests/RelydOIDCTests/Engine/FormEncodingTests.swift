import Foundation
import RelydOIDC
import Testing

/// Form and query values are percent-encoded as RFC 3986 says: everything but the unreserved characters, byte by
/// byte of the UTF-8, with upper-case hex.
@Suite struct FormEncodingTests {
    @Test func escapesAllButUnreservedCharacters() {
        #expect(FormEncoding.escape("AZaz09-._~") == "AZaz09-._~")
        #expect(FormEncoding.escape("") == "")
        #expect(FormEncoding.escape("a b+c&d=e/f?g#h%") == "a%20b%2Bc%26d%3De%2Ff%3Fg%23h%25")
        #expect(FormEncoding.escape("caf\u{e9} \u{1F600}") == "caf%C3%A9%20%F0%9F%98%80")
        #expect(FormEncoding.escape("\n\0") == "%0A%00")
    }

    /// The same result as Foundation's percent-encoding with the unreserved set, which it replaced, for every ASCII
    /// character and a few beyond.
    @Test func agreesWithFoundationsPercentEncoding() {
        let unreserved = CharacterSet(
            charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        let samples = (0..<128).map { String(UnicodeScalar(UInt8($0))) } + ["\u{e9}", "\u{20ac}", "\u{1F600}", "x y z"]
        for sample in samples {
            #expect(FormEncoding.escape(sample) == sample.addingPercentEncoding(withAllowedCharacters: unreserved))
        }
    }

    @Test func encodedPairsDecodeToThemselves() throws {
        let pairs = [("redirect_uri", "https://app.example/cb?x=1&y=2"), ("state", "a b+c"), ("empty", "")]
        let decoded = try #require(FormEncoding.decode(FormEncoding.encode(pairs)))
        #expect(decoded.map(\.0) == pairs.map(\.0))
        #expect(decoded.map(\.1) == pairs.map(\.1))
    }
}
