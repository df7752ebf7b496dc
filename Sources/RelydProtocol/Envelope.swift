#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A request line that passed the generic checks: valid UTF-8, a JSON object, a string `command`, and a
/// `params` object (empty when absent).
public struct RequestEnvelope: Sendable {
    public var id: RequestID?
    public var command: String
    public let params: [String: JSONValue]
    /// The line as received, from which ``decodeParameters(_:)`` decodes `params` directly.
    private let line: [UInt8]

    /// Parses one request line.
    ///
    /// - Throws: ``RequestEnvelope/Failure`` carrying the error and, when it could be read, the request id so the
    ///   error response can still be matched by the client.
    public init(parsing line: [UInt8]) throws(Failure) {
        // Most lines are ASCII, which needs no decoding to be valid UTF-8.
        guard Self.isASCII(line) || String(validating: line, as: UTF8.self) != nil else {
            throw Failure(id: nil, error: RelydError(.invalidUTF8, "the request line is not valid UTF-8"))
        }
        // Filled in place: a `Members?` returned was copied out of its optional and destroyed twice.
        var members = Members()
        let isObject: Bool
        do {
            isObject = try members.read(line)
        } catch {
            throw Failure(id: nil, error: RelydError(.invalidJSON, "the request line is not valid JSON"))
        }
        guard isObject else {
            throw Failure(id: nil, error: RelydError(.invalidRequest, "a request must be a JSON object"))
        }
        // Matched as cases: `!= .null` went through JSONValue's `==`, copying both values. Each value is taken out
        // of `members` rather than copied out of it.
        var id: RequestID?
        switch members.id.take() {
        case nil, .null?: break
        case let rawID?:
            guard let parsed = RequestID(rawID) else {
                throw Failure(id: nil, error: RelydError(.invalidRequest, "'id' must be a string or a number"))
            }
            id = parsed
        }
        let command: String
        switch members.command.take() {
        case nil, .null?: throw Failure(id: id, error: RelydError(.missingCommand, "the request has no 'command'"))
        case .string(let name)?: command = name
        default: throw Failure(id: id, error: RelydError(.invalidRequest, "'command' must be a string"))
        }
        var params: [String: JSONValue] = [:]
        switch members.params.take() {
        case nil, .null?: break
        case .object(let object)?: params = object
        default: throw Failure(id: id, error: RelydError(.invalidRequest, "'params' must be an object"))
        }
        if let unknown = members.firstUnknownName {
            throw Failure(id: id, error: RelydError(.invalidRequest, "unknown request member '\(unknown)'"))
        }
        self.id = id
        self.command = command
        self.params = params
        self.line = line
    }

    /// The members of a request line that is a JSON object, as the envelope reads them.
    private struct Members {
        var id: JSONValue?
        var command: JSONValue?
        var params: JSONValue?
        /// The first member of another name, in the order received.
        var firstUnknownName: String?

        /// The names of the envelope's members, in the order of ``set(_:at:)``'s positions.
        private static let names: [StaticString] = ["id", "command", "params"]

        /// Reads the members of `line`; false when it is JSON but not an object. Most lines hold only the
        /// envelope's names, written plainly: those are read without a `String` per name (see
        /// ``JSONParser/parseMembers(_:namedAmong:_:)``); the others are read again, name by name.
        mutating func read(_ line: [UInt8]) throws(JSONParser.Failure) -> Bool {
            if try JSONParser.parseMembers(line, namedAmong: Self.names, { set($1, at: $0) }) { return true }
            self = Members()
            guard let list = try JSONParser.parseMembers(line) else { return false }
            for member in list {
                if let position = Self.names.firstIndex(where: { $0.description == member.name }) {
                    set(member.value, at: position)
                } else {
                    firstUnknownName = firstUnknownName ?? member.name
                }
            }
            return true
        }

        private mutating func set(_ value: JSONValue, at position: Int) {
            switch position {
            case 0: id = value
            case 1: command = value
            default: params = value
            }
        }
    }

    /// Whether no byte has its high bit set, tested eight bytes at a time: byte by byte it was a tenth of reading a
    /// `health` request's envelope.
    private static func isASCII(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { raw in
            var highBits: UInt64 = 0
            var offset = 0
            while raw.count - offset >= 8 {
                highBits |= raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
                offset += 8
            }
            while offset < raw.count {
                highBits |= UInt64(raw[offset])
                offset += 1
            }
            return highBits & 0x8080_8080_8080_8080 == 0
        }
    }

    /// A request line that failed the generic checks.
    public struct Failure: Error, Sendable {
        public var id: RequestID?
        public var error: RelydError
    }

    /// Decodes `params` into a command's typed parameters.
    ///
    /// - Throws: `invalid_parameter` for a member the command does not know or a value of the wrong type,
    ///   `missing_parameter` for an absent required member; the message names the member (`params.op_host`).
    public func decodeParameters<P: CommandParameters>(_ type: P.Type) throws(RelydError) -> P {
        // Without members none is unknown, and sorting no names still cost more than decoding nothing.
        if !params.isEmpty {
            let known = P.parameterNames
            if let unknown = params.keys.sorted().first(where: { !known.contains($0) }) {
                throw RelydError(.invalidParameter, "unknown parameter 'params.\(unknown)'")
            }
        }
        do {
            // No members to read: a JSONDecoder (two, when `params` is absent) cost about a sixth of a request.
            if params.isEmpty { return try P(from: EmptyObjectDecoder()) }
            return try decodeMembers(P.self)
        } catch let error as DecodingError {
            throw Self.describe(error)
        } catch {
            throw RelydError(.invalidParameter, "params could not be read")
        }
    }

    /// `params` with members: the common case from the members already parsed; anything unusual, errors included,
    /// goes on to JSONDecoder, which stays the reference. Kept out of line: inlined, the metadata of `P?` (for
    /// the `try?`) was looked up on every call, members or not, a fifth of the dispatch of a `health` request.
    @inline(never)
    private func decodeMembers<P: CommandParameters>(_ type: P.Type) throws -> P {
        if let parameters = try? ParsedValueDecoder.decode(P.self, from: .object(params)) { return parameters }
        return try decodeWithFoundation(P.self)
    }

    /// Decoded from the received line rather than from `params` re-encoded: encoding cost more than all the rest of
    /// a `health` request. The line passed `JSONParser` already, so it is one valid object. Kept out of line:
    /// inlined, `ParametersMember<P>`'s metadata was made on every call, with or without parameters.
    @inline(never)
    private func decodeWithFoundation<P: Decodable>(_ type: P.Type) throws -> P {
        try JSONDecoder().decode(ParametersMember<P>.self, from: Data(line)).parameters
    }

    /// The `params` member of a request line decoded as `P`. Only used when `params` has members: an absent, null or
    /// empty one goes to `EmptyObjectDecoder` instead.
    private struct ParametersMember<P: Decodable>: Decodable {
        var parameters: P

        private enum CodingKeys: String, CodingKey { case params }

        init(from decoder: any Decoder) throws {
            parameters = try decoder.container(keyedBy: CodingKeys.self).decode(P.self, forKey: .params)
        }
    }

    private static func describe(_ error: DecodingError) -> RelydError {
        func path(_ codingPath: [any CodingKey], _ last: (any CodingKey)? = nil) -> String {
            // Paths are relative to `params`, whichever way it was decoded.
            let relative = codingPath.first?.stringValue == "params" ? Array(codingPath.dropFirst()) : codingPath
            let keys = (relative + (last.map { [$0] } ?? [])).map { key in
                key.intValue.map { "[\($0)]" } ?? ".\(key.stringValue)"
            }
            return "params" + keys.joined()
        }
        switch error {
        case .keyNotFound(let key, let context):
            return RelydError(.missingParameter, "'\(path(context.codingPath, key))' is required")
        case .valueNotFound(_, let context):
            return RelydError(.missingParameter, "'\(path(context.codingPath))' must not be null")
        case .typeMismatch(let type, let context):
            return RelydError(.invalidParameter, "'\(path(context.codingPath))' must be \(describe(type))")
        case .dataCorrupted(let context):
            let reason = context.underlyingError.map { "\($0)" } ?? context.debugDescription
            return RelydError(.invalidParameter, "'\(path(context.codingPath))' is invalid: \(reason)")
        @unknown default:
            return RelydError(.invalidParameter, "params could not be read")
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Bool.Type: "a boolean"
        case is Int.Type, is Int64.Type: "an integer"
        case is [String].Type: "an array of strings"
        case is [String: String].Type: "an object of strings"
        default: "of type \(type)"
        }
    }
}

/// Decodes values from `{}` as JSONDecoder does: every key is missing, and a value that is not an object is a type
/// mismatch. The errors carry the same coding paths, so they read the same on the wire.
private struct EmptyObjectDecoder: Decoder {
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(EmptyKeyedContainer<Key>())
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        throw Self.mismatch([Any].self)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { EmptySingleValueContainer() }

    static func mismatch(_ type: Any.Type) -> DecodingError {
        DecodingError.typeMismatch(type, DecodingError.Context(
            codingPath: [], debugDescription: "Expected to decode \(type) but found a dictionary instead."))
    }
}

private struct EmptyKeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    var codingPath: [any CodingKey] { [] }
    var allKeys: [Key] { [] }

    func contains(_ key: Key) -> Bool { false }

    func decodeNil(forKey key: Key) throws -> Bool { throw missing(key) }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { throw missing(key) }

    func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type, forKey key: Key
    ) throws -> KeyedDecodingContainer<NestedKey> {
        throw missing(key)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer { throw missing(key) }

    func superDecoder() throws -> any Decoder { EmptyObjectDecoder() }

    func superDecoder(forKey key: Key) throws -> any Decoder { throw missing(key) }

    private func missing(_ key: Key) -> DecodingError {
        DecodingError.keyNotFound(key, DecodingError.Context(
            codingPath: [], debugDescription: "No value associated with key \(key) (\"\(key.stringValue)\")."))
    }
}

private struct EmptySingleValueContainer: SingleValueDecodingContainer {
    var codingPath: [any CodingKey] { [] }

    func decodeNil() -> Bool { false }

    /// Only types that read themselves from an object (a dictionary, a keyed type) can come from `{}`; the
    /// scalars go through here and get JSONDecoder's type mismatch.
    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        if type is any (BinaryInteger & Decodable).Type || type is any (BinaryFloatingPoint & Decodable).Type
            || type is String.Type || type is Bool.Type
        {
            throw EmptyObjectDecoder.mismatch(type)
        }
        return try T(from: EmptyObjectDecoder())
    }
}
