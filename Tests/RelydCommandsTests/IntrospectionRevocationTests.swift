import Foundation
import RelydProtocol
import RelydTestSupport
import Testing

/// introspect_access_token (RFC 7662) and revoke_token (RFC 7009).
@Suite struct IntrospectionRevocationTests {
    /// An active token's introspection returns every member the OP sent, authenticated as the client.
    @Test func introspection_returnsTheOPsAnswer() async throws {
        let fixture = try await TokenCommandsFixture()
        let response = await fixture.send("introspect_access_token", [
            "token": .string(fixture.accessToken), "token_type_hint": .string("access_token"),
        ])
        #expect(response.isOK)
        #expect(response.data["active"] == .bool(true))
        #expect(response.data["sub"] == .string("alice"))
        #expect(response.data["client_id"] != nil)
        let request = try #require(fixture.harness.op.requests(to: "/introspect").last)
        #expect(request.headers.contains { $0.0 == "Authorization" && $0.1.hasPrefix("Basic ") })
        #expect(fixture.lastForm("/introspect").contains("token_type_hint=access_token"))
    }

    /// After revocation the OP reports the token inactive.
    @Test func revocation_thenIntrospection_isInactive() async throws {
        let fixture = try await TokenCommandsFixture()
        let revoked = await fixture.send("revoke_token", [
            "token": .string(fixture.refreshToken), "token_type_hint": .string("refresh_token"),
        ])
        #expect(revoked.data["revoked"] == .bool(true))
        #expect(fixture.lastForm("/revoke").contains("token_type_hint=refresh_token"))
        let response = await fixture.send("introspect_access_token", ["token": .string(fixture.refreshToken)])
        #expect(response.data == ["active": .bool(false)])
    }

    /// An OP without the endpoints is op_unsupported for both commands.
    @Test func missingEndpoints_areOPUnsupported() async throws {
        let fixture = try await TokenCommandsFixture(advertiseEndpoints: false)
        #expect(await fixture.send("introspect_access_token", ["token": .string("t")]).errorCode == "op_unsupported")
        #expect(await fixture.send("revoke_token", ["token": .string("t")]).errorCode == "op_unsupported")
        #expect(fixture.harness.op.requests(to: "/introspect").isEmpty)
    }

    /// An introspection answer without a boolean active is op_response_invalid.
    @Test func introspectionWithoutActive_isOPResponseInvalid() async throws {
        let fixture = try await TokenCommandsFixture()
        fixture.harness.op.override(path: "/introspect") { _ in FakeOP.json(["active": .string("true")]) }
        #expect(await fixture.send("introspect_access_token", ["token": .string("t")]).errorCode == "op_response_invalid")
    }

    /// The OP's refusals are op_error (introspection 401, revocation unsupported_token_type).
    @Test func refusals_areOPError() async throws {
        let fixture = try await TokenCommandsFixture()
        fixture.harness.op.override(path: "/introspect") { _ in FakeOP.json(["error": .string("invalid_client")], status: 401) }
        fixture.harness.op.override(path: "/revoke") { _ in
            FakeOP.json(["error": .string("unsupported_token_type")], status: 400)
        }
        #expect(await fixture.send("introspect_access_token", ["token": .string("t")]).errorCode == "op_error")
        #expect(await fixture.send("revoke_token", ["token": .string("t")]).errorCode == "op_error")
    }

    /// An unknown hint or an empty token is invalid_parameter, without an OP call.
    @Test func invalidParameters_areRefusedBeforeTheOP() async throws {
        let fixture = try await TokenCommandsFixture(advertiseEndpoints: false)
        for command in ["introspect_access_token", "revoke_token"] {
            #expect(await fixture.send(command, ["token": .string("t"), "token_type_hint": .string("id_token")])
                .errorCode == "invalid_parameter")
            #expect(await fixture.send(command, ["token": .string("")]).errorCode == "invalid_parameter")
            #expect(await fixture.send(command, ["oxd_id": .string("nope"), "token": .string("t")]).errorCode
                == "unknown_site")
        }
        #expect(fixture.harness.op.requests(to: "/revoke").isEmpty)
    }
}
