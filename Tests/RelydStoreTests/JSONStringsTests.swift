import Foundation
@testable import RelydStore
import Testing

/// The direct reading of stored string arrays agrees with JSONDecoder, the reference, on every text: what relyd
/// writes, and what it must hand to JSONDecoder (escapes, spacing, broken shapes).
@Suite struct JSONStringsTests {
    static let texts = [
        "[]", "[\"\"]", "[\"openid\"]", "[\"openid\",\"email\",\"profile\"]", "[\"\",\"a\",\"\"]", "[\"é 日本\"]",
        "[\"a\", \"b\"]", " [\"a\"]", "[\"a\\\"b\"]", "[\"https:\\/\\/x.example\\/s\"]", "[\"a\"b\"]", "[\"a\"\"]",
        "[\"]", "[\"a\"],[\"b\"]", "[\"a\",\"b\"]]", "[\"a\",]", "[1]", "{}", "", "[\"a\u{1}\"]",
    ]

    @Test(arguments: texts)
    func decode_agreesWithJSONDecoder(text: String) {
        let reference = try? JSONDecoder().decode([String].self, from: Data(text.utf8))
        let decoded = try? JSONStrings.decode(text, column: "test")
        #expect(decoded == reference)
    }

    /// What relyd itself writes is read without JSONDecoder unless it needed escapes.
    @Test func encodedPlainStrings_takeTheDirectPath() throws {
        for strings in [[], ["openid"], ["openid", "email"], ["", "x y", "é"]] as [[String]] {
            #expect(JSONStrings.plainStrings(try JSONStrings.encode(strings)) == strings)
        }
        #expect(JSONStrings.plainStrings(try JSONStrings.encode(["a/b"])) == nil)
    }
}
