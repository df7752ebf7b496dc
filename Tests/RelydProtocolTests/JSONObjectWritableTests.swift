import Foundation
import RelydProtocol
import Testing

/// Every ``JSONObjectWritable`` adopter writes the bytes JSONEncoder (sorted keys, unescaped slashes) writes from its
/// `Encodable` conformance, which stays the reference.
@Suite struct JSONObjectWritableTests {
    static let ids: [RequestID?] = [
        .string(ResponseWriterTests.awkwardText), .string(""), .integer(-3), .integer(Int64.min), .integer(Int64.max),
        .number(1.5), nil,
    ]

    @Test func healthResult_matchesFoundation() throws {
        for result in [
            Health.Result(status: "ok", version: "1.2.3", uptimeSeconds: 0),
            Health.Result(status: ResponseWriterTests.awkwardText, version: "a/b", uptimeSeconds: Int.min),
            Health.Result(status: "", version: "", uptimeSeconds: Int.max),
        ] {
            for id in Self.ids {
                let line = String(decoding: try ResponseWriter.success(id: id, result), as: UTF8.self)
                #expect(line == (try ResponseWriterTests.foundationLine(id: id, result)))
            }
        }
    }

    /// Lines longer than the writer's first buffer (on the stack) move to the heap with their bytes intact,
    /// whichever write crosses the limit: plain text, an escape, a member name or a number.
    @Test func linesLongerThanTheFirstBuffer_matchFoundation() throws {
        for length in [900, 1000, 1010, 1020, 1030, 5000] {
            let plain = String(repeating: "a", count: length)
            let escaped = String(repeating: "\u{01}\"é", count: length / 3)
            for result in [
                Health.Result(status: plain, version: "v", uptimeSeconds: Int.min),
                Health.Result(status: "ok", version: escaped, uptimeSeconds: 7),
                Health.Result(status: escaped, version: plain, uptimeSeconds: -1),
            ] {
                for id in [RequestID.string(plain), .integer(Int64.min), nil] {
                    let line = String(decoding: try ResponseWriter.success(id: id, result), as: UTF8.self)
                    #expect(line == (try ResponseWriterTests.foundationLine(id: id, result)))
                }
            }
            let claims: [String: JSONValue] = [plain: .string(escaped), "list": .array([.string(plain), .integer(-9)])]
            let line = String(decoding: try ResponseWriter.success(id: .string(escaped), claims), as: UTF8.self)
            #expect(line == (try ResponseWriterTests.foundationLine(id: .string(escaped), claims)))
        }
    }

    @Test func errorBody_matchesFoundation() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        for error in [
            RelydError(.invalidParameter, ResponseWriterTests.awkwardText),
            RelydError(.internalError, ""),
        ] {
            for id in Self.ids {
                let line = String(decoding: ResponseWriter.failure(id: id, error), as: UTF8.self)
                let expected = String(decoding: try encoder.encode(
                    ResponseEnvelope(id: id, status: .error, data: ErrorBody(error))), as: UTF8.self) + "\n"
                #expect(line == expected)
            }
        }
    }
}
