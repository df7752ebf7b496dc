/// Decodes a value from the ``JSONValue`` tree the request line was already parsed into, for the common case only:
/// strings, booleans, integers, arrays, objects and null, read by types that ask for them as they are.
///
/// Why: decoding `params` with a `JSONDecoder` re-read the whole line and cost about a sixth of a `check_id_token`.
/// It must give exactly what `JSONDecoder` gives, so it does not try to match Foundation's conversions or its
/// errors: whenever a value is anything else (a fraction or exponent, which Foundation may turn into an integer;
/// a type it reads its own way, such as `URL` or `Date`), and whenever decoding fails for any reason, it throws
/// ``Fallback`` and the caller decodes with `JSONDecoder` instead, which then decides, error messages included.
struct ParsedValueDecoder: Decoder {
    struct Fallback: Error {}

    let value: JSONValue
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    /// Decodes `type` from `value`, or throws ``Fallback``.
    static func decode<T: Decodable>(_ type: T.Type, from value: JSONValue) throws(Fallback) -> T {
        do {
            return try ParsedValueDecoder(value: value, codingPath: []).decodeValue(type)
        } catch {
            throw Fallback()
        }
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let members) = value else { throw Fallback() }
        return KeyedDecodingContainer(KeyedContainer<Key>(members: members, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let elements) = value else { throw Fallback() }
        return UnkeyedContainer(elements: elements, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { self }

    /// The leaf types read directly (when the value has exactly that JSON type); parameters, arrays and
    /// dictionaries through their own `init(from:)`.
    fileprivate func decodeValue<T: Decodable>(_ type: T.Type) throws -> T {
        switch value {
        case .string(let string) where T.self == String.self: return string as! T
        case .bool(let bool) where T.self == Bool.self: return bool as! T
        case .integer(let integer) where T.self == Int64.self: return integer as! T
        case .integer(let integer) where T.self == Int.self: return Int(integer) as! T
        default: break
        }
        if T.self == JSONValue.self {
            guard Self.hasNoFraction(value) else { throw Fallback() }
            return value as! T
        }
        // Only types known to read themselves through containers alone; scalars of another JSON type, numbers of
        // other widths and every other type go to Foundation.
        guard T.self is any CommandParameters.Type || Self.isContainerType(T.self) else { throw Fallback() }
        return try T(from: self)
    }

    /// Arrays and dictionaries decode through containers exactly as Foundation's do.
    private static func isContainerType(_ type: Any.Type) -> Bool {
        type is any _ParsedArrayOrDictionary.Type
    }

    /// Whether `value` holds no `.number`: Foundation may read `1.0` or `1e2` as an integer, so such a value is
    /// left to it.
    private static func hasNoFraction(_ value: JSONValue) -> Bool {
        switch value {
        case .number: false
        case .array(let elements): elements.allSatisfy(hasNoFraction)
        case .object(let members): members.values.allSatisfy(hasNoFraction)
        case .null, .bool, .integer, .string: true
        }
    }
}

/// The collection types read through containers: `Array` and `Dictionary` with `String` keys.
private protocol _ParsedArrayOrDictionary {}
extension Array: _ParsedArrayOrDictionary {}
extension Dictionary: _ParsedArrayOrDictionary where Key == String {}

extension ParsedValueDecoder: SingleValueDecodingContainer {
    func decodeNil() -> Bool { value == .null }

    func decode<T: Decodable>(_ type: T.Type) throws -> T { try decodeValue(type) }
}

private struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let members: [String: JSONValue]
    let codingPath: [any CodingKey]

    var allKeys: [Key] { members.keys.compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool { members[key.stringValue] != nil }

    private func member(_ key: Key) throws -> JSONValue {
        guard let value = members[key.stringValue] else { throw ParsedValueDecoder.Fallback() }
        return value
    }

    func decodeNil(forKey key: Key) throws -> Bool { try member(key) == .null }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try ParsedValueDecoder(value: try member(key), codingPath: codingPath + [key]).decodeValue(type)
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        try ParsedValueDecoder(value: try member(key), codingPath: codingPath + [key]).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try ParsedValueDecoder(value: try member(key), codingPath: codingPath + [key]).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder { throw ParsedValueDecoder.Fallback() }

    func superDecoder(forKey key: Key) throws -> any Decoder { throw ParsedValueDecoder.Fallback() }
}

private struct UnkeyedContainer: UnkeyedDecodingContainer {
    let elements: [JSONValue]
    let codingPath: [any CodingKey]
    var currentIndex = 0

    init(elements: [JSONValue], codingPath: [any CodingKey]) {
        self.elements = elements
        self.codingPath = codingPath
    }

    var count: Int? { elements.count }
    var isAtEnd: Bool { currentIndex >= elements.count }

    private mutating func next() throws -> ParsedValueDecoder {
        guard !isAtEnd else { throw ParsedValueDecoder.Fallback() }
        defer { currentIndex += 1 }
        return ParsedValueDecoder(value: elements[currentIndex], codingPath: codingPath)
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd else { throw ParsedValueDecoder.Fallback() }
        guard elements[currentIndex] == .null else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try next().decodeValue(type) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        try next().container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer { try next().unkeyedContainer() }

    mutating func superDecoder() throws -> any Decoder { throw ParsedValueDecoder.Fallback() }
}
