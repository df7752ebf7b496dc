import RelydProtocol
import Testing

/// A request line read into an envelope: lines holding only `id`, `command` and `params` written plainly take a
/// shorter road than the others (names with escapes, other names, other values), and both must read every line
/// alike, with the same errors in the same order of precedence.
@Suite struct RequestEnvelopeMembersTests {
    /// The envelope read from `line`, or the code and id of the failure.
    enum Outcome: Equatable {
        case request(id: RequestID?, command: String, params: [String: JSONValue])
        case failure(ErrorCode, id: RequestID?)
    }

    static func read(_ line: [UInt8]) -> Outcome {
        do {
            let envelope = try RequestEnvelope(parsing: line)
            return .request(id: envelope.id, command: envelope.command, params: envelope.params)
        } catch {
            return .failure(error.error.code, id: error.id)
        }
    }

    static func read(_ line: String) -> Outcome { read(Array(line.utf8)) }

    @Test func plainMembers_areRead() {
        #expect(Self.read(#"{"id":1,"command":"health"}"#) == .request(id: .integer(1), command: "health", params: [:]))
        #expect(Self.read(#" { "params" : { "a" : [1] } , "command" : "x" , "id" : "r" } "#)
            == .request(id: .string("r"), command: "x", params: ["a": .array([.integer(1)])]))
        #expect(Self.read(#"{"id":null,"command":"h\u00e9","params":null}"#)
            == .request(id: nil, command: "hé", params: [:]))
    }

    /// A member name written with escapes is the same name: it is read, and it counts as a duplicate.
    @Test func escapedNames_meanTheEnvelopesMembers() {
        #expect(Self.read(#"{"\u0069d":7,"\u0063ommand":"get_site","p\u0061rams":{"oxd_id":"x"}}"#)
            == .request(id: .integer(7), command: "get_site", params: ["oxd_id": .string("x")]))
        #expect(Self.read(#"{"id":1,"command":"health","\u0069d":2}"#) == .failure(.invalidJSON, id: nil))
        #expect(Self.read(#"{"\u0069d":1,"command":"health","id":2}"#) == .failure(.invalidJSON, id: nil))
    }

    /// Names close to the envelope's are other names; broken names and values are not JSON.
    @Test(arguments: [
        (#"{"i":1,"command":"health"}"#, Outcome.failure(.invalidRequest, id: nil)),
        (#"{"idx":1,"command":"health"}"#, .failure(.invalidRequest, id: nil)),
        (#"{"id":1,"command":"health","commands":1}"#, .failure(.invalidRequest, id: .integer(1))),
        (#"{"ïd":1,"command":"health"}"#, .failure(.invalidRequest, id: nil)),
        ("{\"id\n\":1,\"command\":\"health\"}", .failure(.invalidJSON, id: nil)),
        (#"{"id":1,"command":"health""#, .failure(.invalidJSON, id: nil)),
        (#"{"id"#, .failure(.invalidJSON, id: nil)),
        (#"{"id""#, .failure(.invalidJSON, id: nil)),
        (#"{"id":1,"command":"health"} {}"#, .failure(.invalidJSON, id: nil)),
        (#"{"id":1,"command":"health",}"#, .failure(.invalidJSON, id: nil)),
        (#"{"id":1,"command":"health","id":1}"#, .failure(.invalidJSON, id: nil)),
        (#"{"id":01,"command":"health"}"#, .failure(.invalidJSON, id: nil)),
        ("[1]", .failure(.invalidRequest, id: nil)),
        (#""id""#, .failure(.invalidRequest, id: nil)),
    ])
    func unusualLines_areJudgedAsBefore(line: String, expected: Outcome) {
        #expect(Self.read(line) == expected)
    }

    /// Which error wins when a line has several: not JSON (anywhere in the line, after another name too), then the
    /// id, the command, `params`, and only then another name.
    @Test func errors_keepTheirPrecedence() {
        #expect(Self.read(#"{"x":1,"command":"health","command":"health"}"#) == .failure(.invalidJSON, id: nil))
        #expect(Self.read(#"{"x":1,"id":true,"command":"health"}"#) == .failure(.invalidRequest, id: nil))
        #expect(Self.read(#"{"x":1,"id":"a"}"#) == .failure(.missingCommand, id: .string("a")))
        #expect(Self.read(#"{"x":1,"id":"a","command":5}"#) == .failure(.invalidRequest, id: .string("a")))
        #expect(Self.read(#"{"id":"a","command":"health","x":1}"#) == .failure(.invalidRequest, id: .string("a")))
        #expect(Self.read(#"{"id":"a","params":{}}"#) == .failure(.missingCommand, id: .string("a")))
    }

    /// The ASCII test reads eight bytes at a time: a non-ASCII byte counts wherever it stands, in a full group of
    /// eight or in the last bytes, and decides between valid UTF-8 and not.
    @Test func nonASCIIBytes_areFoundAtEveryOffset() {
        let line = Array(#"{"command":"health","params":{"k":"vvvvvvvvvvvvvvvv"}}"#.utf8)
        let valueStart = line.count - 19
        for offset in 0..<16 {
            var invalid = line
            invalid[valueStart + offset] = 0xFF
            #expect(Self.read(invalid) == .failure(.invalidUTF8, id: nil))
            var valid = line
            valid.replaceSubrange((valueStart + offset)...(valueStart + offset), with: [0xC3, 0xA9])
            guard case .request(_, _, let params) = Self.read(valid) else {
                Issue.record("a line with é at \(offset) was refused")
                continue
            }
            #expect(params["k"]?.stringValue?.contains("é") == true)
        }
    }
}
