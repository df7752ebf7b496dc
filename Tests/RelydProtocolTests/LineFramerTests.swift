import RelydProtocol
import Testing

/// The line framer, exercised the three ways NIO's decoder verifier does: drip-fed, all at once, one line per read.
@Suite struct LineFramerTests {
    static let input = Array("{\"a\":1}\n{\"b\":2}\r\n\n{\"c\":3}\n".utf8)
    static let expected: [LineFramer.Frame] = [
        .line(Array("{\"a\":1}".utf8)), .line(Array("{\"b\":2}".utf8)), .line(Array("{\"c\":3}".utf8)),
    ]

    /// Lines fed one byte at a time come out whole, CRLF stripped, empty lines skipped.
    @Test func dripFed_bytesFormWholeLines() {
        var framer = LineFramer(maximumLineLength: 64)
        let frames = Self.input.flatMap { framer.feed([$0]) }
        #expect(frames == Self.expected)
        #expect(framer.bufferedByteCount == 0)
    }

    /// Many lines in one read come out in order.
    @Test func manyLinesInOneRead_comeOutInOrder() {
        var framer = LineFramer(maximumLineLength: 64)
        #expect(framer.feed(Self.input) == Self.expected)
    }

    /// An unfinished line waits for its newline.
    @Test func partialLine_isHeldUntilItsNewline() {
        var framer = LineFramer(maximumLineLength: 64)
        #expect(framer.feed(Array("{\"a\"".utf8)).isEmpty)
        #expect(framer.feed(Array(":1}\n".utf8)) == [.line(Array("{\"a\":1}".utf8))])
    }

    /// An oversized line is reported once, its bytes are dropped, and the next line is read normally.
    @Test func oversizedLine_isReportedOnce_andTheNextLineWorks() {
        var framer = LineFramer(maximumLineLength: 16)
        var frames: [LineFramer.Frame] = []
        for _ in 0..<100 { frames += framer.feed([UInt8](repeating: 0x61, count: 10)) }
        #expect(framer.bufferedByteCount <= 17)
        frames += framer.feed(Array("\nok\n".utf8))
        #expect(frames == [.lineTooLong, .line(Array("ok".utf8))])
    }

    /// A line of exactly the limit passes; one byte more does not, even when it arrives with its newline.
    @Test func limit_isExact() {
        var framer = LineFramer(maximumLineLength: 4)
        #expect(framer.feed(Array("abcd\n".utf8)) == [.line(Array("abcd".utf8))])
        #expect(framer.feed(Array("abcd\r\n".utf8)) == [.line(Array("abcd".utf8))])
        #expect(framer.feed(Array("abcde\n".utf8)) == [.lineTooLong])
    }

    /// Lines whole in one read (copied straight from it) and a line finished from the framer's buffer mix in order,
    /// limits and CRLF applied the same to both, and a partial line after them stays buffered.
    @Test func wholeAndBufferedLines_inOneRead_keepTheirOrder() {
        var framer = LineFramer(maximumLineLength: 4)
        var frames = framer.feed(Array("ab".utf8))
        frames += framer.feed(Array("c\r\nabcd\r\nabcde\n\r\nxy\nab".utf8))
        #expect(frames == [.line(Array("abc".utf8)), .line(Array("abcd".utf8)), .lineTooLong,
                           .line(Array("xy".utf8))])
        #expect(framer.bufferedByteCount == 2)
        var handed: [LineFramer.Frame] = []
        Array("cd\n".utf8).withUnsafeBytes { framer.feed($0) { handed.append($0) } }
        #expect(handed == [.line(Array("abcd".utf8))])
    }

    /// Raw socket bytes and a collection without contiguous storage frame exactly as an array does.
    @Test func rawBytesAndNonContiguousCollections_frameLikeArrays() {
        var raw = LineFramer(maximumLineLength: 64)
        #expect(Self.input.withUnsafeBytes { raw.feed($0) } == Self.expected)
        var reversed = LineFramer(maximumLineLength: 64)
        #expect(reversed.feed(Self.input.reversed().reversed()) == Self.expected)
    }
}

/// The request envelope's generic checks, without any command behind them.
@Suite struct RequestEnvelopeTests {
    func code(_ line: String) -> ErrorCode? {
        do {
            _ = try RequestEnvelope(parsing: Array(line.utf8))
            return nil
        } catch {
            return error.error.code
        }
    }

    /// Each kind of malformed line has its own code.
    @Test func malformedLines_haveDistinctCodes() {
        #expect(code("nope") == .invalidJSON)
        #expect(code("[]") == .invalidRequest)
        #expect(code(#"{"id":[1]}"#) == .invalidRequest)
        #expect(code(#"{"id":1}"#) == .missingCommand)
        #expect(code(#"{"command":null}"#) == .missingCommand)
        #expect(code(#"{"command":1}"#) == .invalidRequest)
        #expect(code(#"{"command":"x","params":"y"}"#) == .invalidRequest)
        #expect(code(#"{"command":"x"}"#) == nil)
        #expect(code(#"{"command":"x","params":null,"id":null}"#) == nil)
    }

    /// Typed parameters: absent required member, wrong type and unknown member are each named.
    @Test func parameters_areCheckedAndNamed() throws {
        func failure(_ params: String) -> RelydError? {
            do {
                let envelope = try RequestEnvelope(parsing: Array(#"{"command":"get_user_info","params":\#(params)}"#.utf8))
                _ = try envelope.decodeParameters(GetUserInfo.Parameters.self)
                return nil
            } catch let error as RelydError {
                return error
            } catch {
                return RelydError(.internalError)
            }
        }
        #expect(failure(#"{"oxd_id":"a"}"#)?.code == .missingParameter)
        #expect(failure(#"{"oxd_id":"a"}"#)?.message.contains("params.access_token") == true)
        #expect(failure(#"{"oxd_id":1,"access_token":"t"}"#)?.code == .invalidParameter)
        #expect(failure(#"{"oxd_id":null,"access_token":"t"}"#)?.code == .missingParameter)
        #expect(failure(#"{"oxd_id":"a","access_token":"t","x":1}"#)?.code == .invalidParameter)
        #expect(failure(#"{"oxd_id":"a","access_token":"t"}"#) == nil)
    }

    /// Absent, null and empty `params` (read without JSONDecoder) fail and succeed exactly as members sent would.
    @Test func emptyParameters_decodeLikeAnEmptyObject() throws {
        func decode<P: CommandParameters>(_ type: P.Type, _ params: String) throws -> P {
            let suffix = params.isEmpty ? "" : #","params":\#(params)"#
            return try RequestEnvelope(parsing: Array(#"{"command":"x"\#(suffix)}"#.utf8)).decodeParameters(type)
        }
        for params in ["", "null", "{}"] {
            #expect(try decode(GetDiscovery.Parameters.self, params) == GetDiscovery.Parameters())
            #expect(try decode(NoParameters.self, params) == NoParameters())
            #expect(throws: RelydError.self) { try decode(GetUserInfo.Parameters.self, params) }
            do {
                _ = try decode(GetUserInfo.Parameters.self, params)
            } catch let error as RelydError {
                #expect(error.code == .missingParameter)
                #expect(error.message == "'params.oxd_id' is required")
            }
        }
        #expect(try decode(GetDiscovery.Parameters.self, #"{"oxd_id":"a"}"#) == GetDiscovery.Parameters(oxdID: "a"))
    }

    /// Error responses follow the oxD envelope and always carry `id`.
    @Test func errorResponse_hasTheOxdShape() {
        let line = String(decoding: ResponseWriter.failure(id: .string("7"), RelydError(.invalidState, "gone")), as: UTF8.self)
        #expect(line == #"{"data":{"error":"invalid_state","error_description":"gone"},"id":"7","status":"error"}"# + "\n")
        let anonymous = String(decoding: ResponseWriter.failure(id: nil, RelydError(.invalidJSON, "x")), as: UTF8.self)
        #expect(anonymous.contains(#""id":null"#))
    }

    /// Every error code is snake_case and unique.
    @Test func errorCodes_areStable() {
        let codes = ErrorCode.allCases.map(\.rawValue)
        #expect(Set(codes).count == codes.count)
        #expect(codes.allSatisfy { $0.allSatisfy { $0.isLowercase || $0 == "_" || $0.isNumber } })
    }
}
