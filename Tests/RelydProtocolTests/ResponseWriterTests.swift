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

    /// Keys are ordered as JSONEncoder orders them, by their UTF-8 bytes, which is not `String`'s order for
    /// decomposed characters (`e` + U+0301 sorts after `f` by bytes, before it as text) or beyond the BMP: an OP's
    /// claim names reach responses as they are.
    @Test func keysBeyondASCII_areOrderedByTheirBytes_asFoundationDoes() throws {
        let keys = ["e\u{301}", "f", "\u{e8}", "\u{FF21}", "\u{1F600}", "Z", "a"]
        let result = Result(
            url: "", count: 0, flag: false, missing: nil, names: [],
            claims: Dictionary(uniqueKeysWithValues: keys.map { ($0, JSONValue.string($0)) }),
            nested: Dictionary(uniqueKeysWithValues: keys.map { ($0, [$0]) }))
        let line = String(decoding: try ResponseWriter.success(id: nil, result), as: UTF8.self)
        #expect(line == (try Self.foundationLine(id: nil, result)))
    }

    /// Fractional numbers are formatted by Foundation, so they come out exactly as before.
    @Test func fractions_areLeftToFoundation() throws {
        let claims: [String: JSONValue] = ["amr": .array([.string("pwd")]), "score": .number(0.5), "big": .number(1e21)]
        let line = String(decoding: try ResponseWriter.success(id: .integer(1), claims), as: UTF8.self)
        #expect(line == (try Self.foundationLine(id: .integer(1), claims)))
    }

    /// Hand-written encoders: a key encoded twice (the last value wins), nested and super encoders, nil and
    /// optionals in arrays, other integer widths (left to Foundation), and an awkward string id.
    struct Handwritten: Codable, Sendable {
        enum Keys: String, CodingKey { case b, a, nested, list, small, wide, `super` }

        var small: Int32?
        var wide: UInt8?

        init(small: Int32?, wide: UInt8?) {
            self.small = small
            self.wide = wide
        }

        init(from decoder: any Decoder) throws {
            throw DecodingError.valueNotFound(Self.self, .init(codingPath: [], debugDescription: "encode only"))
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode("first", forKey: .b)
            try container.encode(JSONValue.array([.null, .object(["y": .bool(true), "x": .integer(-1)])]), forKey: .a)
            try container.encode("second", forKey: .b)
            var nested = container.nestedContainer(keyedBy: Keys.self, forKey: .nested)
            try nested.encodeNil(forKey: .a)
            try nested.encode(Int64.min, forKey: .b)
            var list = container.nestedUnkeyedContainer(forKey: .list)
            try list.encodeNil()
            try list.encode(String?.none)
            try list.encode(["k": [1, 2]])
            var inner = list.nestedUnkeyedContainer()
            try inner.encode(true)
            try container.encodeIfPresent(small, forKey: .small)
            try container.encodeIfPresent(wide, forKey: .wide)
            try "sup".encode(to: container.superEncoder())
        }
    }

    @Test func handwrittenEncoders_matchFoundation() throws {
        for value in [Handwritten(small: -7, wide: nil), Handwritten(small: nil, wide: 200)] {
            for id in [RequestID.string(Self.awkwardText), .integer(Int64.min), .number(2.5)] {
                let line = String(decoding: try ResponseWriter.success(id: id, value), as: UTF8.self)
                #expect(line == (try Self.foundationLine(id: id, value)))
            }
        }
    }

    /// Other integer widths and fractions reached through generic paths (array elements, dictionary values) are
    /// left to Foundation too.
    @Test func numbersThroughGenericPaths_matchFoundation() throws {
        let widths: [UInt16] = [0, 65535]
        let fractions: [String: [Double]] = ["a": [0.1, 2], "b": []]
        let unsigned: [String: UInt64] = ["max": .max]
        #expect(String(decoding: try ResponseWriter.success(id: nil, widths), as: UTF8.self)
            == (try Self.foundationLine(id: nil, widths)))
        #expect(String(decoding: try ResponseWriter.success(id: nil, fractions), as: UTF8.self)
            == (try Self.foundationLine(id: nil, fractions)))
        #expect(String(decoding: try ResponseWriter.success(id: nil, unsigned), as: UTF8.self)
            == (try Self.foundationLine(id: nil, unsigned)))
    }

    @Test func failures_matchFoundation() throws {
        let error = RelydError(.unknownSite, Self.awkwardText)
        for id in [RequestID.string("x"), .integer(3), nil] {
            let line = String(decoding: ResponseWriter.failure(id: id, error), as: UTF8.self)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            let expected = String(decoding: try encoder.encode(
                ResponseEnvelope(id: id, status: .error, data: ErrorBody(error))), as: UTF8.self) + "\n"
            #expect(line == expected)
        }
    }
}
