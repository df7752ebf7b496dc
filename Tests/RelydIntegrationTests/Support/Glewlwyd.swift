import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Glewlwyd, a real OpenID Provider (C, Debian package), started over HTTPS with a throw-away test CA by the
/// shared script in ../shared/op, on its own port and run directory.
final class Glewlwyd: @unchecked Sendable {
    struct Fixture: Decodable {
        struct Client: Decodable {
            var client_id: String
            var client_secret: String
        }

        var issuer: String
        var user: String
        var password: String
        var clients: [String: Client]
        var redirect_uris: [String]
        var ca_file: String
    }

    let runRoot: URL
    let port: Int
    let fixture: Fixture

    init(runRoot: URL) throws {
        self.runRoot = runRoot
        port = try Self.freePort()
        let script = Checkout.shared.appendingPathComponent("op/start-glewlwyd.sh").path
        try run("bash", [script, String(port), "--tls"], environment: ["OP_RUN_ROOT": runRoot.path])
        let data = try Data(contentsOf: runRoot.appendingPathComponent("glewlwyd/fixture.json"))
        fixture = try JSONDecoder().decode(Fixture.self, from: data)
    }

    /// Logs the test user in, as a browser would, and returns the redirect URL's query items.
    func login(_ authorizationURL: String) throws -> [String: String] {
        let script = Checkout.shared.appendingPathComponent("op/login.py").path
        let redirect = try run("python3", [script, authorizationURL, fixture.user, fixture.password,
                                           "--cafile", fixture.ca_file])
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let items = URLComponents(string: redirect)?.queryItems ?? []
        return Dictionary(items.map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
    }

    func stop() {
        let script = Checkout.shared.appendingPathComponent("op/stop-glewlwyd.sh").path
        _ = try? run("bash", [script], environment: ["OP_RUN_ROOT": runRoot.path])
    }

    deinit { stop() }

    /// A port nobody listens on, from the kernel's choice for a bound-then-closed socket.
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound else { throw IntegrationError("no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
