import Foundation
import RelydProtocol

/// Encoding requests and decoding responses; no I/O.
enum Wire {
    private struct RequestLine<Parameters: Encodable>: Encodable {
        var id: Int64
        var command: String
        var params: Parameters
    }

    /// The error body as it is read: lenient about a missing description.
    private struct ErrorData: Codable, Sendable {
        var error: String
        var errorDescription: String?

        enum CodingKeys: String, CodingKey {
            case error
            case errorDescription = "error_description"
        }
    }

    private struct StatusOnly: Decodable {
        var status: ResponseEnvelope<JSONValue>.Status
    }

    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// `{"command":…,"id":…,"params":{…}}` and a newline.
    static func requestLine(id: Int64, command: String, parameters: some Encodable)
        throws(RelydClientError) -> [UInt8]
    {
        do {
            return Array(try encoder.encode(RequestLine(id: id, command: command, params: parameters))) + [0x0A]
        } catch {
            throw RelydClientError(.invalidRequestLine, "the parameters of '\(command)' cannot be encoded: \(error)")
        }
    }

    /// The `data` of an ok response as `R`, or the error the response carries.
    static func decodeResult<R: Decodable & Sendable & Encodable>(_ type: R.Type, from line: [UInt8], command: String)
        throws(RelydClientError) -> R
    {
        let data = Data(line)
        let decoder = JSONDecoder()
        let status: ResponseEnvelope<JSONValue>.Status
        do {
            status = try decoder.decode(StatusOnly.self, from: data).status
        } catch {
            throw RelydClientError(.protocolViolation, "the response to '\(command)' has no valid status")
        }
        switch status {
        case .ok:
            do {
                return try decoder.decode(ResponseEnvelope<R>.self, from: data).data
            } catch {
                throw RelydClientError(.protocolViolation,
                    "the data of the response to '\(command)' does not decode as its result: \(error)")
            }
        case .error:
            let body: ErrorData
            do {
                body = try decoder.decode(ResponseEnvelope<ErrorData>.self, from: data).data
            } catch {
                throw RelydClientError(.protocolViolation, "the error response to '\(command)' has no error code")
            }
            throw RelydClientError(code: body.error, description: body.errorDescription ?? "")
        }
    }

    /// The request line with its `id` replaced by `id`, and the id it had (nil when absent), when `line` is a
    /// JSON object whose id is absent, null, a string or a number; nil for any other line.
    static func substituteID(in line: [UInt8], with id: Int64) -> (line: [UInt8], originalID: JSONValue?)? {
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(line)),
              case .object(var members) = value
        else { return nil }
        let original = members["id"]
        switch original {
        case nil, .null?, .string?, .integer?, .number?: break
        default: return nil
        }
        members["id"] = .integer(id)
        guard let encoded = try? encoder.encode(JSONValue.object(members)) else { return nil }
        return (Array(encoded), original)
    }

    /// The response line with the caller's original id put back.
    static func restoreID(_ original: JSONValue?, in response: [UInt8]) throws(RelydClientError) -> String {
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(response)),
              case .object(var members) = value,
              let encoded = try? { () throws -> Data in
                  members["id"] = original ?? .null
                  return try encoder.encode(JSONValue.object(members))
              }()
        else {
            throw RelydClientError(.protocolViolation, "the response is not a JSON object")
        }
        return String(decoding: encoded, as: UTF8.self)
    }
}
