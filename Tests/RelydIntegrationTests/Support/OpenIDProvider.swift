import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A real OpenID Provider on loopback, started by the shared scripts in ../shared/op on its own port and run
/// directory: Glewlwyd (a C product, Debian package) over HTTPS with a throw-away test CA, or oidc-provider-mock
/// (a Python test double on Authlib) over plain HTTP.
final class OpenIDProvider: @unchecked Sendable {
    enum Kind {
        case glewlwyd
        case oidcMock

        var name: String { self == .glewlwyd ? "glewlwyd" : "oidc-mock" }
        var startArguments: [String] { self == .glewlwyd ? ["--tls"] : [] }
    }

    struct Fixture: Decodable {
        struct Client: Decodable {
            var client_id: String
            var client_secret: String
        }

        var issuer: String
        var user: String
        var password: String
        var clients: [String: Client]
        var redirect_uris: [String]?
        var ca_file: String?

        /// A redirect URI the OP's pre-registered clients accept (the mock accepts any).
        var redirectURI: String { redirect_uris?.first ?? "http://127.0.0.1:8765/callback" }
    }

    let kind: Kind
    let runRoot: URL
    let port: Int
    let fixture: Fixture

    init(_ kind: Kind, runRoot: URL) throws {
        self.kind = kind
        self.runRoot = runRoot
        port = try Self.freePort()
        // The mock's virtualenv is kept between runs so that only the first run installs it from PyPI.
        let venv = FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/relyd-tests/oidc-mock-venv")
        try run("bash", [Self.script("start-\(kind.name).sh"), String(port)] + kind.startArguments,
                environment: ["OP_RUN_ROOT": runRoot.path, "OIDC_MOCK_VENV": venv.path])
        let data = try Data(contentsOf: runRoot.appendingPathComponent("\(kind.name)/fixture.json"))
        fixture = try JSONDecoder().decode(Fixture.self, from: data)
    }

    /// The relyd configuration lines that let it reach this OP.
    var relydConfig: String {
        fixture.ca_file.map { "ca_file = \($0)" } ?? "allow_http_loopback = true"
    }

    /// Logs the test user in, as a browser would, and returns the redirect URL's query items.
    func login(_ authorizationURL: String) throws -> [String: String] {
        var arguments = [Self.script("login.py"), authorizationURL, fixture.user, fixture.password]
        if let ca = fixture.ca_file { arguments += ["--cafile", ca] }
        let redirect = try run("python3", arguments).trimmingCharacters(in: .whitespacesAndNewlines)
        let items = URLComponents(string: redirect)?.queryItems ?? []
        return Dictionary(items.map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
    }

    func stop() {
        _ = try? run("bash", [Self.script("stop-\(kind.name).sh")], environment: ["OP_RUN_ROOT": runRoot.path])
    }

    deinit { stop() }

    private static func script(_ name: String) -> String {
        Checkout.shared.appendingPathComponent("op/\(name)").path
    }

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

/// One OP and one relyd configured for it, in a temporary directory: what each end-to-end test starts from.
///
/// Torn down in reverse order of start: the daemon, then the OP (its stop script needs the pid file in the run
/// directory), then the directory.
final class EndToEndStack {
    let directory: TemporaryDirectory
    let op: OpenIDProvider
    let daemon: RelydDaemon

    init(_ kind: OpenIDProvider.Kind, trustOP: Bool = true) throws {
        directory = try TemporaryDirectory()
        op = try OpenIDProvider(kind, runRoot: directory.url.appendingPathComponent("op"))
        do {
            daemon = try RelydDaemon(in: directory.url, extraConfig: trustOP ? op.relydConfig : "")
        } catch {
            op.stop()
            throw error
        }
    }

    deinit {
        daemon.kill9()
        op.stop()
    }
}
