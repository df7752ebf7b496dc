import Foundation
import RelydProtocol
import RelydTestSupport
import Testing

/// The generic checks the dispatcher makes before any handler runs, each with its own stable code.
@Suite struct EnvelopeTests {
    let harness = DispatcherHarness()

    /// Bytes that are not UTF-8 get invalid_utf8.
    @Test func invalidUTF8_isRejected() async {
        let bytes: [UInt8] = Array(#"{"command":"health","x":""#.utf8) + [0xff, 0xfe] + Array(#""}"#.utf8)
        let response = await harness.dispatcher.respond(to: bytes, peer: DispatcherHarness.defaultPeer)
        #expect(DispatcherHarness.Response(bytes: response).errorCode == "invalid_utf8")
    }

    /// Text that is not JSON gets invalid_json.
    @Test(arguments: ["{", "not json", #"{"command": "health",}"#, #"{"command":"health","command":"health"}"#,
                      #"{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"command":"health","i":9,"a":0}"#,
                      #"{"command":"health"} x"#])
    func invalidJSON_isRejected(line: String) async {
        #expect(await harness.send(line).errorCode == "invalid_json")
    }

    /// JSON that is not a request object gets invalid_request.
    @Test(arguments: ["[1,2]", "42", #""health""#, #"{"command":"health","id":{"a":1}}"#,
                      #"{"command":"health","params":[1]}"#, #"{"command":"health","extra":1}"#,
                      #"{"command":7}"#])
    func nonRequest_isRejected(line: String) async {
        #expect(await harness.send(line).errorCode == "invalid_request")
    }

    /// A request without a command gets missing_command, and its id is still echoed.
    @Test func missingCommand_isRejectedWithItsID() async {
        let response = await harness.send(#"{"id":"abc","params":{}}"#)
        #expect(response.errorCode == "missing_command")
        #expect(response.id == .string("abc"))
    }

    /// An unknown command name gets unknown_command.
    @Test func unknownCommand_isRejected() async {
        #expect(await harness.send(#"{"id":1,"command":"drop_tables"}"#).errorCode == "unknown_command")
    }

    /// String and number ids come back unchanged; an absent id comes back as null.
    @Test func ids_areEchoed() async {
        #expect(await harness.send(#"{"id":"x-1","command":"health"}"#).id == .string("x-1"))
        #expect(await harness.send(#"{"id":12345678901,"command":"health"}"#).id == .integer(12345678901))
        #expect(await harness.send(#"{"id":1.5,"command":"health"}"#).id == .number(1.5))
        #expect(await harness.send(#"{"command":"health"}"#).id == .null)
    }

    /// A missing required parameter gets missing_parameter naming it.
    @Test func missingParameter_isNamed() async {
        let response = await harness.send(#"{"command":"register_site","params":{"op_host":"https://op.example"}}"#)
        #expect(response.errorCode == "missing_parameter")
        #expect(response.errorDescription?.contains("params.authorization_redirect_uri") == true)
    }

    /// A parameter of the wrong type gets invalid_parameter naming it.
    @Test func mistypedParameter_isNamed() async {
        let response = await harness.send(
            #"{"command":"register_site","params":{"op_host":"https://op.example","authorization_redirect_uri":"https://rp/cb","scope":"openid"}}"#)
        #expect(response.errorCode == "invalid_parameter")
        #expect(response.errorDescription?.contains("params.scope") == true)
    }

    /// A parameter the command does not know gets invalid_parameter, so a typo is never silently ignored.
    @Test func unknownParameter_isRejected() async {
        let response = await harness.send(#"{"command":"get_user_info","params":{"oxd_id":"a","access_token":"b","scopes":[]}}"#)
        #expect(response.errorCode == "invalid_parameter")
        #expect(response.errorDescription?.contains("params.scopes") == true)
    }

    /// health answers ok with the version.
    @Test func health_answers() async {
        let response = await harness.send(#"{"id":7,"command":"health"}"#)
        #expect(response.isOK)
        #expect(response.data["status"] == .string("ok"))
        #expect(response.data["version"] == .string("test"))
        #expect(response.data["uptime_seconds"] == .integer(0))
    }

    /// A response is exactly one line ending in a newline.
    @Test func response_isOneLine() async {
        let bytes = await harness.dispatcher.respond(to: Array(#"{"command":"health"}"#.utf8), peer: DispatcherHarness.defaultPeer)
        #expect(bytes.last == 0x0A)
        #expect(bytes.filter { $0 == 0x0A }.count == 1)
    }

    /// An unexpected failure (here the store is closed) is internal_error with the fixed description; the detail
    /// goes to the log only.
    @Test func unexpectedFailure_isInternalError() async throws {
        let oxdID = try await harness.registerSite()
        await harness.store.close()
        let response = await harness.send("get_authorization_url", ["oxd_id": .string(oxdID)])
        #expect(response.errorCode == "internal_error")
        #expect(response.errorDescription == RelydError.internalErrorMessage)
        #expect(harness.logs.events.contains { $0.message == "command failed unexpectedly" })
    }
}
