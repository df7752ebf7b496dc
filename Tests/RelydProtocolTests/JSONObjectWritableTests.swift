import Foundation
import RelydProtocol
import Testing

/// Every ``JSONObjectWritable`` adopter writes the bytes JSONEncoder (sorted keys, unescaped slashes) writes from its
/// `Encodable` conformance, which stays the reference.
@Suite struct JSONObjectWritableTests {
    static let ids: [RequestID?] = [.string(ResponseWriterTests.awkwardText), .integer(-3), .number(1.5), nil]

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
