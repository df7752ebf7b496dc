import RelydProtocol
import Testing

/// The strict JSON parser every client request and OP response goes through.
@Suite struct JSONParserTests {
    func parse(_ text: String) -> JSONValue? { try? JSONParser.parse(Array(text.utf8)) }

    /// RFC 8259 values parse to the matching cases, integers kept apart from fractions.
    @Test func values_parse() {
        #expect(parse(#" {"a":[1,-2.5,1e3,true,false,null,"x\u00e9\ud83d\ude00\n"]} "#) == .object(["a": .array([
            .integer(1), .number(-2.5), .number(1000), .bool(true), .bool(false), .null, .string("xé😀\n"),
        ])]))
        #expect(parse("0") == .integer(0))
        #expect(parse("-0.0") == .number(-0.0))
        #expect(parse("92233720368547758080") == .number(9.223372036854775808e19))
    }

    /// Integers read digit by digit (up to 18 characters) and through `Int64(_:)` (longer) agree with `Int64(_:)` on
    /// either side of that length and at the type's limits; what does not fit is a number.
    @Test(arguments: ["7", "-7", "-0", "99999999999999999", "-99999999999999999", "999999999999999999",
                      "-999999999999999999", "1000000000000000000", "9223372036854775807", "-9223372036854775808"])
    func integers_parseAsInt64Does(text: String) throws {
        let expected = try #require(Int64(text))
        #expect(parse(text) == .integer(expected))
        #expect(parse(#"{"id":\#(text),"x":"a\u0041b"}"#) == .object(["id": .integer(expected), "x": .string("aAb")]))
    }

    @Test func integerJustPastTheLimit_isANumber() {
        #expect(parse("9223372036854775808") == .number(9223372036854775808))
        #expect(parse("-9223372036854775809") == .number(-9223372036854775809))
    }

    /// What RFC 8259 forbids is refused, including what Foundation's decoder lets through.
    @Test(arguments: [
        #"{"a":1,}"#, "[1,]", "01", "1.", ".5", "+1", "NaN", "Infinity", "'x'", #"{"a" 1}"#, #"{a:1}"#,
        "\"tab\there\"", #""\x""#, #""\ud800""#, #""\udc00x""#, "tru", "[1] 2", "", "  ", "{", #"{"a":1}}"#,
        "1e999", "/* c */ 1",
    ])
    func invalidText_isRefused(text: String) {
        #expect(parse(text) == nil)
    }

    /// Strings must be valid UTF-8, in a name or a value, before or after an escape or after ASCII.
    @Test(arguments: [[0xC3, 0x28], [0xFF], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0x61, 0x5C, 0x6E, 0xE2, 0x82],
                      [0x61, 0x62, 0x80]] as [[UInt8]])
    func invalidUTF8_isRefused(bytes: [UInt8]) {
        let string = [0x22] + bytes + [0x22]
        #expect((try? JSONParser.parse(string)) == nil)
        #expect((try? JSONParser.parse([0x7B] + string + Array(#":1}"#.utf8))) == nil)
        #expect((try? JSONParser.parse(Array(#"{"a":"#.utf8) + string + [0x7D])) == nil)
    }

    /// Valid multi-byte text, between escapes or not, is kept as it is.
    @Test func multiByteText_isKept() {
        #expect(parse(#"{"naïve":"日本\n語😀","a\u00e9b":"x"}"#) == .object(["naïve": .string("日本\n語😀"),
                                                                                "aéb": .string("x")]))
    }

    /// Strings keep their non-ASCII text, before and after escapes, and bytes that are not UTF-8 are refused
    /// wherever they stand in a string.
    @Test func stringUTF8_isValidatedRunByRun() {
        #expect(parse("[\"ab\\ncdé\\tf\", \"\u{1F600}\"]") == .array([.string("ab\ncdé\tf"), .string("😀")]))
        let invalidStrings: [[UInt8]] = [
            [0x22, 0xFF, 0x22], [0x22, 0x61, 0x5C, 0x6E, 0xC3, 0x22], [0x22, 0xC3, 0x28, 0x5C, 0x6E, 0x22],
        ]
        for invalid in invalidStrings {
            #expect((try? JSONParser.parse(invalid)) == nil)
        }
    }

    /// A member name given twice is refused, even when written with an escape.
    @Test func duplicateMemberNames_areRefused() {
        #expect(parse(#"{"a":1,"a":2}"#) == nil)
        #expect(parse(#"{"a":1,"\u0061":2}"#) == nil)
        #expect(parse(#"{"a":{"b":1},"b":{"a":1}}"#) != nil)
    }

    /// The member list of a top-level object: the same grammar as `parse`, duplicates refused whether the object
    /// has few members or many, members in the order received, nil for a value that is not an object.
    @Test func members_followTheSameGrammar() throws {
        /// nil when refused.
        func members(_ text: String) -> (isObject: Bool, names: [String])? {
            do {
                let parsed = try JSONParser.parseMembers(Array(text.utf8))
                return (parsed != nil, parsed?.map(\.name) ?? [])
            } catch {
                return nil
            }
        }
        let many = (0..<20).map { #""m\#($0)":\#($0)"# }
        let listed = try #require(try JSONParser.parseMembers(Array(#" {"b":[1],"a":{"c":null}} "#.utf8)))
        #expect(listed.map(\.name) == ["b", "a"])
        #expect(listed.map(\.value) == [.array([.integer(1)]), .object(["c": .null])])
        #expect(members("{}")?.isObject == true && members("{}")?.names.isEmpty == true)
        #expect(members("[1]")?.isObject == false)
        #expect(members(#""x""#)?.isObject == false)
        #expect(members("{" + many.joined(separator: ",") + "}")?.names.count == 20)
        for text in [#"{"a":1,"\u0061":2}"#, "{" + (many + [#""m3":0"#]).joined(separator: ",") + "}",
                     "{" + (many + [#""m19":0"#]).joined(separator: ",") + "}", #"{"a":1,}"#, #"{"a":1}}"#,
                     #"{"a":1} 2"#, "{", "[1] 2"] {
            #expect(members(text) == nil, "\(text)")
        }
    }

    /// Nesting is bounded so that hostile input cannot exhaust the stack.
    @Test func deepNesting_isRefused() {
        let depth = JSONParser.maximumDepth
        #expect(parse(String(repeating: "[", count: depth) + String(repeating: "]", count: depth)) != nil)
        #expect(parse(String(repeating: "[", count: depth + 1) + String(repeating: "]", count: depth + 1)) == nil)
        #expect(parse(String(repeating: "[", count: 100_000)) == nil)
    }
}
