#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The body of an error response: `{"error": "<stable code>", "error_description": "<text>"}` (the oxD envelope).
public struct ErrorBody: Codable, Sendable, Equatable {
    public var error: String
    public var errorDescription: String

    enum CodingKeys: String, CodingKey {
        case error
        case errorDescription = "error_description"
    }

    public init(_ error: RelydError) {
        self.error = error.code.rawValue
        self.errorDescription = error.message
    }
}

extension ErrorBody: JSONObjectWritable {
    public func writeMembers(to object: inout JSONObjectWriter) {
        object.member("error", error)
        object.member("error_description", errorDescription)
    }
}

/// A response line: `{"id": …, "status": "ok", "data": {…}}` or `{"id": …, "status": "error", "data": {error…}}`.
///
/// `id` is the request's id, or null when the request had none or could not be read far enough to find it.
public struct ResponseEnvelope<Payload: Codable & Sendable>: Codable, Sendable {
    public enum Status: String, Codable, Sendable { case ok, error }

    public var id: RequestID?
    public var status: Status
    public var data: Payload

    public init(id: RequestID?, status: Status, data: Payload) {
        self.id = id
        self.status = status
        self.data = data
    }

    enum CodingKeys: String, CodingKey { case id, status, data }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        // `id` is always present so that clients can rely on the member; null when unknown.
        if let id { try container.encode(id, forKey: .id) } else { try container.encodeNil(forKey: .id) }
        try container.encode(status, forKey: .status)
        try container.encode(data, forKey: .data)
    }
}

/// Turns responses into lines. One encoder configuration for the whole protocol: sorted keys, so the same
/// response is always the same bytes, and no escaped slashes, so URLs stay readable.
public enum ResponseWriter {
    /// The response line, newline included, for a successful command.
    public static func success<R: Encodable & Sendable & Decodable>(id: RequestID?, _ result: R) throws -> [UInt8] {
        try line(ResponseEnvelope(id: id, status: .ok, data: result))
    }

    /// The response line, newline included, for a failed request. Never throws: the error body is plain strings.
    public static func failure(id: RequestID?, _ error: RelydError) -> [UInt8] {
        (try? line(id: id, ok: false, ErrorBody(error)))
            ?? Array(#"{"data":{"error":"internal_error","error_description":"internal error"},"id":null,"status":"error"}"#.utf8) + [0x0A]
    }

    /// The same for a result that writes itself (see ``JSONObjectWritable``).
    public static func success<R: JSONObjectWritable & Sendable & Decodable>(
        id: RequestID?, _ result: R
    ) throws -> [UInt8] {
        try line(id: id, ok: true, result)
    }

    private static func line<Payload>(_ envelope: ResponseEnvelope<Payload>) throws -> [UInt8] {
        try line(encodedBy: { try ResponseEncoder.envelopeLine(envelope) }, orElse: envelope)
    }

    /// Builds no `ResponseEnvelope`, nor its `Status`, unless the encoder refuses the id (see
    /// ``ResponseEncoder/envelopeLine(id:ok:writing:)``): either needs the envelope type's metadata.
    private static func line<Payload: JSONObjectWritable & Sendable & Decodable>(
        id: RequestID?, ok: Bool, _ payload: Payload
    ) throws -> [UInt8] {
        try line(
            encodedBy: { try ResponseEncoder.envelopeLine(id: id, ok: ok, writing: payload) },
            orElse: ResponseEnvelope(id: id, status: ok ? .ok : .error, data: payload))
    }

    /// The line `encode` writes, newline included; JSONEncoder's for `envelope` when `encode` refuses a value in it.
    private static func line<Payload>(
        encodedBy encode: () throws -> [UInt8], orElse envelope: @autoclosure () -> ResponseEnvelope<Payload>
    ) throws -> [UInt8] {
        do {
            return try encode()
        } catch is ResponseEncoder.Unsupported {
            return try foundationBytes(envelope) + [0x0A]
        }
    }

    /// Kept out of line, the envelope made here: where the envelope was made, its type's metadata was made on every
    /// call, before knowing whether it was needed.
    @inline(never)
    private static func foundationBytes<Payload>(_ envelope: () -> ResponseEnvelope<Payload>) throws -> [UInt8] {
        Array(try encoder.encode(envelope()))
    }

    private static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}
