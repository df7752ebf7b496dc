import RelydOIDC
import RelydServer
import Testing

/// The allowed_op_hosts configuration key.
@Suite struct AllowedOPHostsConfigurationTests {
    /// A comma-separated list of issuer URLs and hosts is read into the restriction.
    @Test func list_isParsed() throws {
        let configuration = try ConfigurationFile.parse(
            "allowed_op_hosts = https://op.example/realms/a, idp.example:8443", file: "t.cfg")
        #expect(configuration.allowedOPHosts == (try AllowedOPHosts(["https://op.example/realms/a", "idp.example:8443"])))
        #expect(configuration.allowedOPHosts.allows(issuer: "https://idp.example:8443/x"))
        #expect(!configuration.allowedOPHosts.allows(issuer: "https://other.example"))
    }

    /// A bad entry stops the daemon with the line.
    @Test func badEntry_isRefusedWithItsLine() {
        do {
            _ = try ConfigurationFile.parse("\nallowed_op_hosts = op.example, ftp://x", file: "t.cfg")
            Issue.record("a bad entry was accepted")
        } catch {
            #expect(error.line == 2)
        }
    }
}
