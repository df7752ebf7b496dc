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

    /// Appends the encoding of `value` to `output`; on ``Unsupported`` `output` may hold part of it.
    static func encode(_ value: some Encodable, into output: inout JSONBytes) throws {
        let root = Node()
        try root.store(value, codingPath: [])
        try root.write(to: &output)
    }

    /// The line of a ``ResponseEnvelope``, newline included, written around its payload: its keys are fixed and
    /// already sorted.
    static func envelopeLine<Payload>(_ envelope: ResponseEnvelope<Payload>) throws -> [UInt8] {
        try envelopeLine(id: envelope.id, ok: envelope.status == .ok) { output in
            try encode(envelope.data, into: &output)
        }
    }

    /// The same for a payload that writes itself: chosen by overload, because a dynamic cast to find out whether a
    /// payload can cost as much as writing it. It takes the envelope's parts rather than a `ResponseEnvelope`: its
    /// callers in other modules are not specialised, and making that generic type's metadata at run time cost more
    /// than writing a small payload.
    static func envelopeLine(id: RequestID?, ok: Bool, writing payload: some JSONObjectWritable) throws -> [UInt8] {
        try envelopeLine(id: id, ok: ok) { output in
            var object = JSONObjectWriter(output)
            payload.writeMembers(to: &object)
            output = object.finish()
        }
    }

    private static func envelopeLine(
        id: RequestID?, ok: Bool, data: (inout JSONBytes) throws -> Void
    ) throws -> [UInt8] {
        try JSONBytes.line { output in
            output.append(#"{"data":"#)
            try data(&output)
            output.append(#","id":"#)
            switch id {
            case nil: output.append("null")
            case .string(let id)?: output.appendString(id)
            case .integer(let id)?: output.appendInteger(id)
            case .number?: throw Unsupported()
            }
            // The status and the end as one piece: both are fixed.
            output.append(ok ? #","status":"ok"}"# : #","status":"error"}"#)
        }
    }
}

/// A response value that writes its own members, without the `Encoder` machinery's containers and boxes, which
/// cost twice as much on the smallest requests (4.5% against 2.1% of an event loop's time on `health`). Its
/// `Encodable` conformance stays the reference: every adopter has a test that its bytes equal `JSONEncoder`'s with
/// `.sortedKeys`. Members of other kinds get their own `JSONObjectWriter.member` when an adopter needs them.
public protocol JSONObjectWritable: Encodable {
    /// Writes the members in ascending key order (as `.sortedKeys` orders them), leaving out what `encode(to:)`
    /// leaves out.
    func writeMembers(to object: inout JSONObjectWriter)
}

/// The members of one JSON object, written as `JSONEncoder` writes them with `.sortedKeys` and
/// `.withoutEscapingSlashes`.
public struct JSONObjectWriter: ~Copyable {
    private var output: JSONBytes
    private var isEmpty = true
    #if DEBUG
    /// For the check that members come in ascending key order; not kept in release, where it cost a String retain
    /// and release per member.
    private var previousKey: String?
    #endif

    init(_ output: consuming JSONBytes) {
        self.output = output
        self.output.append(UInt8(ascii: "{"))
    }

    /// The bytes with the object closed.
    consuming func finish() -> JSONBytes {
        output.append(UInt8(ascii: "}"))
        return output
    }

    /// Keys are the adopter's literals, which need no escapes (see ``JSONBytes/appendMemberName(_:)``).
    public mutating func member(_ key: StaticString, _ value: String) {
        start(key)
        output.appendString(value)
    }

    public mutating func member(_ key: StaticString, _ value: Int) {
        start(key)
        output.appendInteger(Int64(value))
    }

    private mutating func start(_ key: StaticString) {
        #if DEBUG
        assert(previousKey.map { Node.precedes($0, key.description) } ?? true,
               "members must be written in ascending key order (the encoder's: by bytes)")
        previousKey = key.description
        #endif
        if !isEmpty { output.append(UInt8(ascii: ",")) }
        isEmpty = false
        output.appendMemberName(key)
    }
}

/// A member or element: scalars stay inline, so that most members cost no allocation of their own.
private enum Child {
    case value(JSONValue)
    case node(Node)

    func write(to output: inout JSONBytes) throws {
        switch self {
        case .value(let value): try Node.write(value, to: &output)
        case .node(let node): try node.write(to: &output)
        }
    }
}

/// One value being built. A class, because containers handed out by `Encoder` write into it after they return.
fileprivate final class Node {
    enum Content {
        case unset
        case value(JSONValue)
        /// In the order encoded; a key encoded twice keeps its last value, as Foundation's dictionary does.
        case object([(key: String, child: Child)])
        case array([Child])
    }

    var content = Content.unset

    /// Stores `value`. The common leaf types are recognised by type identity rather than by dynamic casts, which
    /// cost more than the rest of encoding a small response. `codingPath` is built only for a nested encoder.
    func store<T: Encodable>(_ value: T, codingPath: @autoclosure () -> [any CodingKey]) throws {
        if let leaf = try Self.leaf(value) {
            content = .value(leaf)
        } else {
            try value.encode(to: TreeEncoder(node: self, codingPath: codingPath()))
        }
    }

    /// The JSON value of `value` when it is one this encoder writes directly, nil when it encodes itself through
    /// containers. Throws ``ResponseEncoder/Unsupported`` for the types Foundation writes its own way (`Date`,
    /// `Data`, `URL`, `Decimal`, 128-bit integers): its output is the reference, so let it write them. Fractions and
    /// the other integer widths end in `SingleValueContainer`'s overload for their type, which throws the same (a
    /// conformance test for `BinaryInteger` here cost more than the rest of encoding a `health` result).
    static func leaf<T: Encodable>(_ value: T) throws -> JSONValue? {
        if T.self == String.self { return .string(value as! String) }
        if T.self == JSONValue.self { return (value as! JSONValue) }
        if T.self == [String: JSONValue].self { return .object(value as! [String: JSONValue]) }
        if T.self == [String].self { return .array((value as! [String]).map(JSONValue.string)) }
        if T.self == Int.self { return .integer(Int64(value as! Int)) }
        if T.self == Bool.self { return .bool(value as! Bool) }
        if T.self == Int64.self { return .integer(value as! Int64) }
        if T.self == Int32.self { return .integer(Int64(value as! Int32)) }
        if T.self == Date.self || T.self == Data.self || T.self == URL.self || T.self == Decimal.self
            || T.self == Int128.self || T.self == UInt128.self
        {
            throw ResponseEncoder.Unsupported()
        }
        return nil
    }

    func write(to output: inout JSONBytes) throws {
        switch content {
        case .unset:
            // An encode(to:) that wrote nothing; Foundation writes `{}` for it.
            output.append("{}")
        case .value(let value):
            try Self.write(value, to: &output)
        case .object(let members):
            // Sorted by key (as `precedes` orders keys); among equal keys the last one encoded wins.
            let order = members.indices.sorted {
                Self.precedes(members[$0].key, members[$1].key)
                    || (members[$0].key == members[$1].key && $0 < $1)
            }
            output.append(UInt8(ascii: "{"))
            var first = true
            for (position, index) in order.enumerated() {
                if position + 1 < order.count, members[order[position + 1]].key == members[index].key { continue }
                if !first { output.append(UInt8(ascii: ",")) }
                first = false
                output.appendString(members[index].key)
                output.append(UInt8(ascii: ":"))
                try members[index].child.write(to: &output)
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

    /// JSONEncoder's `.sortedKeys` order: by the keys' UTF-8 bytes. `String`'s own `<` compares canonical text, which
    /// differs for decomposed characters (`e` + U+0301 sorts after `f` by bytes) and beyond the BMP. Compared over
    /// contiguous bytes: `utf8.lexicographicallyPrecedes` walked both views by index, about 6,000 instructions to sort
    /// the keys of a `get_site` result.
    static func precedes(_ first: String, _ second: String) -> Bool {
        first.withContiguousUTF8 { left in
            second.withContiguousUTF8 { right in
                for index in 0..<min(left.count, right.count) where left[index] != right[index] {
                    return left[index] < right[index]
                }
                return left.count < right.count
            }
        }
    }

    static func write(_ value: JSONValue, to output: inout JSONBytes) throws {
        switch value {
        case .null: output.append("null")
        case .bool(let bool): output.append(bool ? "true" : "false")
        case .integer(let integer): output.appendInteger(integer)
        case .string(let string): output.appendString(string)
        case .number: throw ResponseEncoder.Unsupported()
        case .array(let elements):
            output.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                try write(element, to: &output)
            }
            output.append(UInt8(ascii: "]"))
        case .object(let members):
            output.append(UInt8(ascii: "{"))
            for (index, key) in members.keys.sorted(by: precedes).enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                output.appendString(key)
                output.append(UInt8(ascii: ":"))
                if let member = members[key] { try write(member, to: &output) }
            }
            output.append(UInt8(ascii: "}"))
        }
    }

    func setMember(_ key: String, _ child: Child) {
        guard case .object(var members) = content else { return }
        content = .unset  // keeps `members` uniquely referenced while it changes
        members.append((key, child))
        content = .object(members)
    }

    func appendElement(_ child: Child) {
        guard case .array(var elements) = content else { return }
        content = .unset
        elements.append(child)
        content = .array(elements)
    }
}

private struct TreeEncoder: Encoder {
    let node: Node
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if case .object = node.content {} else { node.content = .object([]) }
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

/// Members of the leaf types have their own overloads, called by synthesized `encode(to:)` without going through
/// the generic path; the rest of the overloads fall back to it, and other numbers end in `SingleValueContainer`'s
/// overloads, which refuse them.
private struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let node: Node
    let codingPath: [any CodingKey]

    mutating func encodeNil(forKey key: Key) throws { node.setMember(key.stringValue, .value(.null)) }
    mutating func encode(_ value: String, forKey key: Key) throws {
        node.setMember(key.stringValue, .value(.string(value)))
    }
    mutating func encode(_ value: Bool, forKey key: Key) throws {
        node.setMember(key.stringValue, .value(.bool(value)))
    }
    mutating func encode(_ value: Int, forKey key: Key) throws {
        node.setMember(key.stringValue, .value(.integer(Int64(value))))
    }
    mutating func encode(_ value: Int64, forKey key: Key) throws {
        node.setMember(key.stringValue, .value(.integer(value)))
    }
    mutating func encode(_ value: Int32, forKey key: Key) throws {
        node.setMember(key.stringValue, .value(.integer(Int64(value))))
    }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        if let leaf = try Node.leaf(value) {
            node.setMember(key.stringValue, .value(leaf))
            return
        }
        let child = Node()
        try child.store(value, codingPath: codingPath + [key])
        node.setMember(key.stringValue, .node(child))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
        -> KeyedEncodingContainer<NestedKey>
    {
        TreeEncoder(node: nested(key), codingPath: codingPath + [key]).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        TreeEncoder(node: nested(key), codingPath: codingPath + [key]).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder { superEncoder(forKey: Key(stringValue: "super")!) }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        TreeEncoder(node: nested(key), codingPath: codingPath + [key])
    }

    private func nested(_ key: Key) -> Node {
        let child = Node()
        node.setMember(key.stringValue, .node(child))
        return child
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
        node.appendElement(.node(child))
        return child
    }

    mutating func encodeNil() throws { node.appendElement(.value(.null)) }
    mutating func encode(_ value: String) throws { node.appendElement(.value(.string(value))) }
    mutating func encode(_ value: Bool) throws { node.appendElement(.value(.bool(value))) }
    mutating func encode(_ value: Int) throws { node.appendElement(.value(.integer(Int64(value)))) }
    mutating func encode(_ value: Int32) throws { node.appendElement(.value(.integer(Int64(value)))) }
    mutating func encode(_ value: Int64) throws { node.appendElement(.value(.integer(value))) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        if let leaf = try Node.leaf(value) {
            node.appendElement(.value(leaf))
        } else {
            try appended().store(value, codingPath: codingPath)
        }
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

    mutating func encodeNil() throws { node.content = .value(.null) }
    mutating func encode(_ value: String) throws { node.content = .value(.string(value)) }
    mutating func encode(_ value: Bool) throws { node.content = .value(.bool(value)) }
    mutating func encode(_ value: Int) throws { node.content = .value(.integer(Int64(value))) }
    mutating func encode(_ value: Int32) throws { node.content = .value(.integer(Int64(value))) }
    mutating func encode(_ value: Int64) throws { node.content = .value(.integer(value)) }
    mutating func encode(_ value: Double) throws { throw ResponseEncoder.Unsupported() }
    mutating func encode(_ value: Float) throws { throw ResponseEncoder.Unsupported() }
    mutating func encode(_ value: Int8) throws { throw ResponseEncoder.Unsupported() }
    mutating func encode(_ value: Int16) throws { throw ResponseEncoder.Unsupported() }
    mutating func encode(_ value: UInt) throws { throw ResponseEncoder.Unsupported() }
    mutating func encode(_ value: UInt8) throws { throw ResponseEncoder.Unsupported() }
    mutating func encode(_ value: UInt16) throws { throw ResponseEncoder.Unsupported() }
    mutating func encode(_ value: UInt32) throws { throw ResponseEncoder.Unsupported() }
    mutating func encode(_ value: UInt64) throws { throw ResponseEncoder.Unsupported() }

    mutating func encode<T: Encodable>(_ value: T) throws { try node.store(value, codingPath: codingPath) }
}
