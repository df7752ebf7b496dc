import RelydProtocol

/// Learns a command's parameters from its descriptor's `Parameters` type, so that relyctl's table cannot restate
/// (and drift from) what the daemon decodes: the type's `init(from:)` is run against a decoder that has every key,
/// and records what it is asked. A synthesized `init(from:)` asks `decodeNil` before it decodes an optional member,
/// never for a required one, and names the member's Swift type, which gives its wire kind.
enum ParameterProbe {
    /// The parameters in `CodingKeys` order. A member of a type relyctl cannot write stops the probe, and is
    /// missing from the answer (the catalog test compares the names with the declared ones).
    static func parameters<P: CommandParameters>(of type: P.Type) -> [CommandCatalog.Parameter] {
        let answers = Answers()
        _ = try? P(from: ProbingDecoder(answers: answers))
        return P.CodingKeys.allCases.compactMap { key in
            answers.kinds[key.stringValue].map { kind in
                CommandCatalog.Parameter(name: key.stringValue, kind: kind,
                                         isRequired: !answers.optionalNames.contains(key.stringValue))
            }
        }
    }

    /// The Swift types parameters are declared with, their kind, and a value to hand back for them.
    private static let wireTypes: [(type: Any.Type, kind: CommandCatalog.Kind, placeholder: any Sendable)] = [
        (String.self, .string, ""),
        ([String].self, .strings, [String]()),
        (Int.self, .integer, 0),
        ([String: String].self, .object, [String: String]()),
        ([String: JSONValue].self, .jsonObject, [String: JSONValue]()),
    ]

    private final class Answers {
        var kinds: [String: CommandCatalog.Kind] = [:]
        var optionalNames: Set<String> = []
    }

    private struct ProbingDecoder: Decoder {
        let answers: Answers
        var codingPath: [any CodingKey] { [] }
        var userInfo: [CodingUserInfoKey: Any] { [:] }

        func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
            KeyedDecodingContainer(ProbingContainer<Key>(answers: answers))
        }

        func unkeyedContainer() throws -> any UnkeyedDecodingContainer { throw unsupported() }

        func singleValueContainer() throws -> any SingleValueDecodingContainer { throw unsupported() }
    }

    private struct ProbingContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let answers: Answers
        var codingPath: [any CodingKey] { [] }
        var allKeys: [Key] { [] }

        func contains(_ key: Key) -> Bool { true }

        func decodeNil(forKey key: Key) -> Bool {
            answers.optionalNames.insert(key.stringValue)
            return false
        }

        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            guard let wireType = ParameterProbe.wireTypes.first(where: { $0.type == type }),
                  let placeholder = wireType.placeholder as? T
            else { throw unsupported() }
            answers.kinds[key.stringValue] = wireType.kind
            return placeholder
        }

        func nestedContainer<NestedKey: CodingKey>(
            keyedBy type: NestedKey.Type, forKey key: Key
        ) throws -> KeyedDecodingContainer<NestedKey> {
            throw unsupported()
        }

        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer { throw unsupported() }

        func superDecoder() throws -> any Decoder { throw unsupported() }

        func superDecoder(forKey key: Key) throws -> any Decoder { throw unsupported() }
    }

    private static func unsupported() -> DecodingError {
        DecodingError.dataCorrupted(DecodingError.Context(codingPath: [], debugDescription: "not a parameter type"))
    }
}
