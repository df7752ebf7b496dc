import Foundation
import RelydProtocol

/// JSON parsing for JOSE objects: a JSON object with unique member names, or `nil`.
///
/// RFC 7515 §4, RFC 7517 §4 and RFC 7519 §4 require refusing duplicate member names unless the parser keeps the
/// lexically last one. Foundation's `JSONDecoder` keeps the first, which would let a token mean one thing to the OP
/// and another to relyd, so any duplicate is refused.
func jsonObject(_ bytes: [UInt8]) -> [String: JSONValue]? {
    guard let object = try? JSONDecoder().decode([String: JSONValue].self, from: Data(bytes)),
          !hasDuplicateMemberNames(bytes)
    else { return nil }
    return object
}

/// Whether an object anywhere in `json`, already known to be valid JSON, names a member twice.
///
/// Input that is not balanced JSON after all also answers `true`, so that it is refused rather than trapping.
/// Member names are compared as Swift Strings, exactly as `JSONDecoder` keys its dictionaries, after unescaping.
private func hasDuplicateMemberNames(_ json: [UInt8]) -> Bool {
    var names: [Set<String>] = []  // one per open container; arrays never add to theirs
    var inObject: [Bool] = []
    var expectingName = false
    var index = 0
    while index < json.count {
        switch json[index] {
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            names.append([])
            inObject.append(json[index] == UInt8(ascii: "{"))
            expectingName = inObject.last == true
        case UInt8(ascii: "}"), UInt8(ascii: "]"):
            guard !names.isEmpty else { return true }
            names.removeLast()
            inObject.removeLast()
        case UInt8(ascii: ","):
            expectingName = inObject.last == true
        case UInt8(ascii: "\""):
            let start = index
            var escaped = false
            index += 1
            while index < json.count, json[index] != UInt8(ascii: "\"") {
                if json[index] == UInt8(ascii: "\\") {
                    escaped = true
                    index += 1
                }
                index += 1
            }
            guard index < json.count else { return true }
            if expectingName, !names.isEmpty {
                let token = json[start...index]
                let name = escaped
                    ? try? JSONDecoder().decode(String.self, from: Data(token))
                    : String(decoding: token.dropFirst().dropLast(), as: UTF8.self)
                guard let name, names[names.count - 1].insert(name).inserted else { return true }
                expectingName = false
            }
        default:
            break
        }
        index += 1
    }
    return false
}
