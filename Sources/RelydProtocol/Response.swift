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
        (try? line(ResponseEnvelope(id: id, status: .error, data: ErrorBody(error))))
            ?? Array(#"{"data":{"error":"internal_error","error_description":"internal error"},"id":null,"status":"error"}"#.utf8) + [0x0A]
    }

    /// The same for a result that writes itself (see ``JSONObjectWritable``).
    public static func success<R: JSONObjectWritable & Sendable & Decodable>(
        id: RequestID?, _ result: R
    ) throws -> [UInt8] {
        try line(ResponseEnvelope(id: id, status: .ok, data: result))
    }

    private static func line<Payload>(_ envelope: ResponseEnvelope<Payload>) throws -> [UInt8] {
        try line(envelope) { try ResponseEncoder.encodeEnvelope($0) }
    }

    private static func line<Payload: JSONObjectWritable>(_ envelope: ResponseEnvelope<Payload>) throws -> [UInt8] {
        try line(envelope) { try ResponseEncoder.encodeEnvelope($0) }
    }

    private static func line<Payload>(
        _ envelope: ResponseEnvelope<Payload>, encode: (ResponseEnvelope<Payload>) throws -> [UInt8]
    ) throws -> [UInt8] {
        var bytes: [UInt8]
        do {
            bytes = try encode(envelope)
        } catch is ResponseEncoder.Unsupported {
            bytes = Array(try encoder.encode(envelope))
        }
        bytes.append(0x0A)
        return bytes
    }

    private static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}
