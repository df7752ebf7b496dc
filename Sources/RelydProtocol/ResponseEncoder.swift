#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Encodes response values to exactly the bytes of `JSONEncoder` with `.sortedKeys` and `.withoutEscapingSlashes`,
/// for the values responses hold: strings, integers, booleans, null, arrays and objects.
///
/// Why not `JSONEncoder` itself: its generic machinery cost a quarter of the daemon's CPU per `health` request.
/// Values Foundation encodes in its own way (fractional numbers, `Date`, `Data`, `URL`, `Decimal`) are refused
/// with ``Unsupported`` so that the caller falls back to `JSONEncoder` and the bytes stay the same.
enum ResponseEncoder {
    struct Unsupported: Error {}

    static func encode(_ value: some Encodable) throws -> [UInt8] {
        let root = Node()
        try root.store(value, codingPath: [])
        var output: [UInt8] = []
        output.reserveCapacity(256)
        try root.write(to: &output)
        return output
    }
}

/// One value being built. A class, because containers handed out by `Encoder` write into it after they return.
private final class Node {
    enum Content {
        case unset
        case scalar(JSONValue)
        case object([String: Node])
        case array([Node])
    }

    var content = Content.unset

    func store<T: Encodable>(_ value: T, codingPath: [any CodingKey]) throws {
        switch value {
        case let string as String: content = .scalar(.string(string))
        case let bool as Bool: content = .scalar(.bool(bool))
        case let integer as Int: content = .scalar(.integer(Int64(integer)))
        case let integer as Int64: content = .scalar(.integer(integer))
        case let integer as Int32: content = .scalar(.integer(Int64(integer)))
        case is Double, is Float, is any BinaryInteger, is Date, is Data, is URL, is Decimal:
            // Fractions, other integer widths and the types JSONEncoder encodes its own way: its output is the
            // reference, so let it write them.
            throw ResponseEncoder.Unsupported()
        default:
            try value.encode(to: TreeEncoder(node: self, codingPath: codingPath))
        }
    }

    func write(to output: inout [UInt8]) throws {
        switch content {
        case .unset:
            // An encode(to:) that wrote nothing; Foundation writes `{}` for it.
            output.append(contentsOf: "{}".utf8)
        case .scalar(let value):
            try Self.write(value, to: &output)
        case .object(let members):
            output.append(UInt8(ascii: "{"))
            for (index, key) in members.keys.sorted().enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                Self.writeString(key, to: &output)
                output.append(UInt8(ascii: ":"))
                try members[key]?.write(to: &output)
            }
            output.append(UInt8(ascii: "}"))
        case .array(let elements):
            output.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                try element.write(to: &output)
            }
            output.append(UInt8(ascii: "]"))
        }
    }

    private static func write(_ value: JSONValue, to output: inout [UInt8]) throws {
        switch value {
        case .null: output.append(contentsOf: "null".utf8)
        case .bool(let bool): output.append(contentsOf: (bool ? "true" : "false").utf8)
        case .integer(let integer): output.append(contentsOf: String(integer).utf8)
        case .string(let string): writeString(string, to: &output)
        case .number, .array, .object: throw ResponseEncoder.Unsupported()
        }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// A JSON string as Foundation writes it: `"` and `\` escaped, control characters as `\b \f \n \r \t` or
    /// `\u00xx`, everything else (slashes and non-ASCII included) as is.
    private static func writeString(_ string: String, to output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x08: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "b")])
            case 0x0C: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "f")])
            case 0x0A: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0x00..<0x20:
                output.append(contentsOf: "\\u00".utf8)
                output.append(hexDigits[Int(byte >> 4)])
                output.append(hexDigits[Int(byte & 0x0F)])
            default: output.append(byte)
            }
        }
        output.append(UInt8(ascii: "\""))
    }

    func setMember(_ key: String, _ node: Node) {
        guard case .object(var members) = content else { return }
        content = .unset  // keeps `members` uniquely referenced while it changes
        members[key] = node
        content = .object(members)
    }

    func appendElement(_ node: Node) {
        guard case .array(var elements) = content else { return }
        content = .unset
        elements.append(node)
        content = .array(elements)
    }
}

private struct TreeEncoder: Encoder {
    let node: Node
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if case .object = node.content {} else { node.content = .object([:]) }
        return KeyedEncodingContainer(KeyedContainer<Key>(node: node, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if case .array = node.content {} else { node.content = .array([]) }
        return UnkeyedContainer(node: node, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleValueContainer(node: node, codingPath: codingPath)
    }
}

private struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let node: Node
    let codingPath: [any CodingKey]

    mutating func encodeNil(forKey key: Key) throws {
        let child = Node()
        child.content = .scalar(.null)
        node.setMember(key.stringValue, child)
    }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        let child = Node()
        try child.store(value, codingPath: codingPath + [key])
        node.setMember(key.stringValue, child)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
        -> KeyedEncodingContainer<NestedKey>
    {
        let child = Node()
        node.setMember(key.stringValue, child)
        return TreeEncoder(node: child, codingPath: codingPath + [key]).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let child = Node()
        node.setMember(key.stringValue, child)
        return TreeEncoder(node: child, codingPath: codingPath + [key]).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder { superEncoder(forKey: Key(stringValue: "super")!) }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        let child = Node()
        node.setMember(key.stringValue, child)
        return TreeEncoder(node: child, codingPath: codingPath + [key])
    }
}

private struct UnkeyedContainer: UnkeyedEncodingContainer {
    let node: Node
    let codingPath: [any CodingKey]

    var count: Int {
        guard case .array(let elements) = node.content else { return 0 }
        return elements.count
    }

    private func appended() -> Node {
        let child = Node()
        node.appendElement(child)
        return child
    }

    mutating func encodeNil() throws { appended().content = .scalar(.null) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        try appended().store(value, codingPath: codingPath)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type)
        -> KeyedEncodingContainer<NestedKey>
    {
        TreeEncoder(node: appended(), codingPath: codingPath).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        TreeEncoder(node: appended(), codingPath: codingPath).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder { TreeEncoder(node: appended(), codingPath: codingPath) }
}

private struct SingleValueContainer: SingleValueEncodingContainer {
    let node: Node
    let codingPath: [any CodingKey]

    mutating func encodeNil() throws { node.content = .scalar(.null) }

    mutating func encode<T: Encodable>(_ value: T) throws { try node.store(value, codingPath: codingPath) }
}
