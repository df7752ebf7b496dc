import Foundation
import RelydOIDC
import Testing

/// The matching rules of allowed_op_hosts.
@Suite struct AllowedOPHostsTests {
    /// No entries allow any issuer.
    @Test func empty_allowsAny() throws {
        #expect(AllowedOPHosts.any.allows(issuer: "https://anything.example/x"))
        #expect(try AllowedOPHosts([" ", ""]).allows(issuer: "https://anything.example"))
    }

    /// An issuer entry matches that issuer exactly, nothing else.
    @Test func issuerEntry_matchesExactly() throws {
        let allowed = try AllowedOPHosts(["https://op.example/realms/a"])
        #expect(allowed.allows(issuer: "https://op.example/realms/a"))
        #expect(!allowed.allows(issuer: "https://op.example/realms/a/"))
        #expect(!allowed.allows(issuer: "https://op.example/realms/b"))
        #expect(!allowed.allows(issuer: "https://op.example"))
        #expect(allowed.allows(host: URL(string: "https://op.example/.well-known/webfinger")!))
        #expect(!allowed.allows(host: URL(string: "https://op.example:8443/.well-known/webfinger")!))
    }

    /// A host entry matches any issuer on that host, case-insensitively, and its port when it names one.
    @Test func hostEntry_matchesHostAndPort() throws {
        let allowed = try AllowedOPHosts(["OP.example", "idp.example:8443"])
        #expect(allowed.allows(issuer: "https://op.example/realms/a"))
        #expect(allowed.allows(issuer: "https://op.example:9443"))
        #expect(allowed.allows(issuer: "https://idp.example:8443/x"))
        #expect(!allowed.allows(issuer: "https://idp.example/x"))
        #expect(!allowed.allows(issuer: "https://op.example.evil.example"))
        #expect(!allowed.allows(issuer: "https://evil.example/op.example"))
    }

    /// Entries that are neither an issuer URL nor a host are refused.
    @Test(arguments: ["ftp://op.example", "https://", "op.example/path", "https://op.example?x=1", "user@op.example",
                      "https://op.example#f"])
    func badEntry_isRefused(entry: String) {
        #expect(throws: AllowedOPHosts.InvalidEntry.self) { try AllowedOPHosts([entry]) }
    }
}
