import Foundation
import RelydProtocol
import Testing

/// Response lines are the bytes Foundation's JSONEncoder (sorted keys, unescaped slashes) would write, whether
/// relyd's own encoder writes them or falls back to Foundation for values it leaves to it.
@Suite struct ResponseWriterTests {
    struct Result: Codable, Sendable {
        var url: String
        var count: Int
        var flag: Bool
        var missing: String?
        var names: [String]
        var claims: [String: JSONValue]
        var nested: [String: [String]]
    }

    static func foundationLine(id: RequestID?, _ result: some Codable & Sendable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(ResponseEnvelope(id: id, status: .ok, data: result)), as: UTF8.self)
            + "\n"
    }

    static let awkwardText = "a/b \"q\" back\\slash \n\r\t\u{08}\u{0C}\u{01}\u{1F}\u{7F} é 😀 \u{2028} end"

    @Test func responses_matchFoundationByteForByte() throws {
        let result = Result(
            url: "https://op.example/auth?x=1&y=%2F", count: -42, flag: true, missing: nil,
            names: ["b", "a", Self.awkwardText],
            claims: ["sub": .string("alice"), "iat": .integer(Int64.max), "neg": .integer(Int64.min),
                     "null": .null, "yes": .bool(false), "list": .array([.integer(0), .string("x"), .object([:])]),
                     "Upper": .object(["z": .string(Self.awkwardText), "A": .array([])]), "_u": .string("")],
            nested: ["B": [], "a": ["1", "2"], "a_1": ["x"], "a1": ["y"]])
        for id in [RequestID.string("7"), .integer(12), nil] {
            let line = String(decoding: try ResponseWriter.success(id: id, result), as: UTF8.self)
            #expect(line == (try Self.foundationLine(id: id, result)))
        }
    }

    /// Fractional numbers are formatted by Foundation, so they come out exactly as before.
    @Test func fractions_areLeftToFoundation() throws {
        let claims: [String: JSONValue] = ["amr": .array([.string("pwd")]), "score": .number(0.5), "big": .number(1e21)]
        let line = String(decoding: try ResponseWriter.success(id: .integer(1), claims), as: UTF8.self)
        #expect(line == (try Self.foundationLine(id: .integer(1), claims)))
    }
}
