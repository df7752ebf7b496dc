import Foundation
import RelydBasics
import Glibc
import RelydClient
import RelydProtocol
import Synchronization
import Testing

// MARK: - A fake daemon: a blocking Unix-socket server on threads, answering with canned lines.

/// One accepted connection, used only by the thread that runs the script for it.
final class FakeConnection: @unchecked Sendable {
    let fd: Int32
    private var buffer: [UInt8] = []

    init(fd: Int32) { self.fd = fd }

    /// The next request line, or nil at end of stream.
    func readLine() -> String? {
        while true {
            if let newline = buffer.firstIndex(of: 0x0A) {
                let line = String(decoding: buffer[..<newline], as: UTF8.self)
                buffer.removeSubrange(...newline)
                return line
            }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return nil }
            buffer += chunk[..<count]
        }
    }

    /// A request line as JSON.
    func readRequest() -> [String: JSONValue]? {
        guard let line = readLine() else { return nil }
        return (try? JSONDecoder().decode(JSONValue.self, from: Data(line.utf8)))?.objectValue ?? [:]
    }

    func write(_ line: String) {
        let bytes = Array((line + "\n").utf8)
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + written, bytes.count - written, Int32(MSG_NOSIGNAL)) }
            guard count > 0 else { return }
            written += count
        }
    }

    func ok(_ id: JSONValue?, _ data: String) {
        write(#"{"data":\#(data),"id":\#(Self.json(id)),"status":"ok"}"#)
    }

    func error(_ id: JSONValue?, _ code: String, _ description: String) {
        write(#"{"data":{"error":"\#(code)","error_description":"\#(description)"},"id":\#(Self.json(id)),"status":"error"}"#)
    }

    func close() { shutdown(fd, Int32(SHUT_RDWR)) }

    static func json(_ value: JSONValue?) -> String {
        String(decoding: (try? JSONEncoder().encode(value ?? .null)) ?? Data("null".utf8), as: UTF8.self)
    }
}

/// Listens on a fresh socket path and runs `script` on its own thread for every connection it accepts.
final class FakeDaemon: @unchecked Sendable {
    let path: String
    private let listener: Int32
    private let accepted = Locked(0)

    /// Connections accepted so far.
    var connectionCount: Int { accepted.value }

    init(_ script: @escaping @Sendable (FakeConnection, Int) -> Void) throws {
        path = "/tmp/relyd-client-test-\(UUID().uuidString.prefix(12)).sock"
        listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8) + [0]) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0, listen(listener, 64) == 0 else { throw POSIXError(.EADDRINUSE) }
        let listeningFD = listener
        let accepted = self.accepted
        Thread {
            while true {
                let fd = accept(listeningFD, nil, nil)
                if fd < 0 {
                    if errno == EINTR { continue }
                    return
                }
                let number = accepted.update { count in
                    count += 1
                    return count
                }
                Thread {
                    let connection = FakeConnection(fd: fd)
                    script(connection, number)
                    // Drain until the client goes away, so that closing is the script's decision alone.
                    while connection.readLine() != nil {}
                    Glibc.close(fd)
                }.start()
            }
        }.start()
    }

    deinit {
        shutdown(listener, Int32(SHUT_RDWR))
        Glibc.close(listener)
        unlink(path)
    }
}

extension Locked {
    var value: Value { withLock { $0 } }
    func update<R>(_ body: (inout Value) -> R) -> R { withLock { body(&$0) } }
}

/// A script that answers every request with `answer(request)` until the client leaves.
func answering(_ answer: @escaping @Sendable (FakeConnection, [String: JSONValue]) -> Void)
    -> @Sendable (FakeConnection, Int) -> Void
{
    { connection, _ in
        while let request = connection.readRequest() { answer(connection, request) }
    }
}

@discardableResult
func expectError(_ code: String, _ body: () async throws -> Void,
                 sourceLocation: SourceLocation = #_sourceLocation) async -> RelydClientError? {
    do {
        try await body()
        Issue.record("expected error \(code), got success", sourceLocation: sourceLocation)
        return nil
    } catch let error as RelydClientError {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        return error
    } catch {
        Issue.record("expected RelydClientError, got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

// MARK: - The client against the fake daemon

@Suite struct ClientTests {
    @Test func typedResultsDecodeAndRequestsAreWellFormed() async throws {
        let seen = Locked<[[String: JSONValue]]>([])
        let daemon = try FakeDaemon(answering { connection, request in
            seen.update { $0.append(request) }
            switch request["command"]?.stringValue {
            case "health":
                connection.ok(request["id"], #"{"status":"ok","uptime_seconds":7,"version":"0.1.0"}"#)
            case "register_site":
                connection.ok(request["id"], #"{"client_id":"c1","op_host":"https://op.example","oxd_id":"s-1"}"#)
            case "get_tokens_by_code":
                connection.ok(request["id"], #"""
                    {"access_token":"at","expires_in":300,"expires_at":1700000300,"scope":["openid","email"],"id_token":"a.b.c","id_token_claims":{"sub":"alice","iat":1700000000,"amr":["pwd"]},"token_type":"Bearer"}
                    """#)
            default:
                connection.error(request["id"], "unknown_command", "no such command")
            }
        })
        let client = RelydClient(socketPath: daemon.path)

        let health = try await client.health()
        #expect(health == Health.Result(status: "ok", version: "0.1.0", uptimeSeconds: 7))

        let site = try await client.registerSite(opHost: "https://op.example",
                                                 authorizationRedirectURI: "https://app.example/cb",
                                                 scope: ["openid", "email"])
        #expect(site == RegisterSite.Result(oxdID: "s-1", clientID: "c1", opHost: "https://op.example"))

        let tokens = try await client.tokensByCode(oxdID: "s-1", code: "xyz", state: "st")
        #expect(tokens.accessToken == "at")
        #expect(tokens.expiresIn == 300)
        #expect(tokens.refreshToken == nil)
        #expect(tokens.idTokenClaims?["sub"] == .string("alice"))
        #expect(tokens.idTokenClaims?["iat"] == .integer(1_700_000_000))

        let requests = seen.value
        #expect(requests.count == 3)
        #expect(requests[0]["params"] == .object([:]))
        #expect(requests[1]["command"] == .string("register_site"))
        #expect(requests[1]["params"] == .object([
            "op_host": .string("https://op.example"),
            "authorization_redirect_uri": .string("https://app.example/cb"),
            "scope": .array([.string("openid"), .string("email")]),
        ]))
        let ids = requests.compactMap { $0["id"]?.int64Value }
        #expect(ids.count == 3 && Set(ids).count == 3, "every request has its own integer id")
    }

    @Test func errorResponsesSurfaceTheirCode() async throws {
        let daemon = try FakeDaemon(answering { connection, request in
            if request["params"]?["state"] == .string("old") {
                connection.error(request["id"], "invalid_state", "the state has expired")
            } else {
                connection.error(request["id"], "some_future_code", "a newer daemon")
            }
        })
        let client = RelydClient(socketPath: daemon.path)

        let error = await expectError("invalid_state") {
            _ = try await client.tokensByCode(oxdID: "s", code: "c", state: "old")
        }
        #expect(error?.errorCode == .invalidState)
        #expect(error?.description == "the state has expired")
        #expect(error?.isConnectionFailure == false)

        let future = await expectError("some_future_code") { _ = try await client.health() }
        #expect(future?.errorCode == nil)
        #expect(future?.localCode == nil)
    }

    @Test func responsesOutOfOrderAreMatchedById() async throws {
        let daemon = try FakeDaemon { connection, _ in
            var requests: [[String: JSONValue]] = []
            for _ in 0..<3 { if let request = connection.readRequest() { requests.append(request) } }
            for request in requests.reversed() {
                let token = request["params"]?["access_token"]?.stringValue ?? "?"
                connection.ok(request["id"], #"{"claims":{"token":"\#(token)"}}"#)
            }
        }
        let client = RelydClient(socketPath: daemon.path)
        try await withThrowingTaskGroup(of: (String, GetUserInfo.Result).self) { group in
            for index in 0..<3 {
                group.addTask { ("t\(index)", try await client.userInfo(oxdID: "s", accessToken: "t\(index)")) }
            }
            for try await (token, result) in group {
                #expect(result.claims["token"] == .string(token))
            }
        }
    }

    @Test func fiftyConcurrentPipelinedSendsEachGetTheirOwnAnswer() async throws {
        let daemon = try FakeDaemon { connection, _ in
            // Answer in reversed batches of ten, so that answers cross.
            var batch: [[String: JSONValue]] = []
            while let request = connection.readRequest() {
                batch.append(request)
                guard batch.count == 10 else { continue }
                for request in batch.reversed() {
                    let token = request["params"]?["access_token"]?.stringValue ?? "?"
                    connection.ok(request["id"], #"{"claims":{"token":"\#(token)"}}"#)
                }
                batch.removeAll()
            }
        }
        let client = RelydClient(socketPath: daemon.path)
        let matched = try await withThrowingTaskGroup(of: Bool.self) { group in
            for index in 0..<50 {
                group.addTask {
                    let result = try await client.userInfo(oxdID: "s", accessToken: "token-\(index)")
                    return result.claims["token"] == .string("token-\(index)")
                }
            }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(matched == 50)
        #expect(daemon.connectionCount == 1, "all requests share one connection")
    }

    @Test func timeoutFiresAndALateResponseIsDropped() async throws {
        let daemon = try FakeDaemon { connection, _ in
            guard let first = connection.readRequest(), let second = connection.readRequest() else { return }
            // The first answer comes after its request timed out; the client must drop it, not fail.
            connection.ok(first["id"], #"{"status":"late","uptime_seconds":1,"version":"x"}"#)
            connection.ok(second["id"], #"{"status":"ok","uptime_seconds":2,"version":"x"}"#)
        }
        let client = RelydClient(socketPath: daemon.path, timeout: .milliseconds(200))
        let start = ContinuousClock.now
        let error = await expectError("timeout") { _ = try await client.health() }
        // Well under the 30 s default, so the configured 200 ms timeout is the one that fired; generous because a
        // loaded 2-core CI machine can delay any timer by seconds.
        #expect(ContinuousClock.now - start < .seconds(20))
        #expect(error?.localCode == .timeout)
        #expect(error?.isConnectionFailure == true)

        let health = try await client.health()
        #expect(health.status == "ok")
    }

    @Test func daemonClosingTheConnectionFailsWaitingRequests() async throws {
        let daemon = try FakeDaemon { connection, _ in
            _ = connection.readLine()
            connection.close()
        }
        let client = RelydClient(socketPath: daemon.path)
        let error = await expectError("connection_lost") { _ = try await client.health() }
        #expect(error?.isConnectionFailure == true)
        #expect(error?.errorCode == nil)
    }

    @Test func noDaemonIsConnectionFailed() async throws {
        let client = RelydClient(socketPath: "/tmp/relyd-client-test-nobody-\(UUID().uuidString.prefix(8)).sock")
        let error = await expectError("connection_failed") { _ = try await client.health() }
        #expect(error?.isConnectionFailure == true)
        let tooLong = RelydClient(socketPath: "/tmp/" + String(repeating: "x", count: 200))
        await expectError("connection_failed") { _ = try await tooLong.health() }
    }

    @Test func reconnectsOnceWhenTheIdleConnectionWasClosed() async throws {
        let closed = Locked(false)
        let daemon = try FakeDaemon { connection, number in
            guard let request = connection.readRequest() else { return }
            connection.ok(request["id"], #"{"status":"ok","uptime_seconds":\#(number),"version":"x"}"#)
            if number == 1 {
                connection.close()
                closed.update { $0 = true }
            } else {
                while let request = connection.readRequest() {
                    connection.ok(request["id"], #"{"status":"ok","uptime_seconds":\#(number),"version":"x"}"#)
                }
            }
        }
        let client = RelydClient(socketPath: daemon.path)
        #expect(try await client.health().uptimeSeconds == 1)
        while !closed.value { try await Task.sleep(for: .milliseconds(5)) }
        #expect(try await client.health().uptimeSeconds == 2)
        #expect(try await client.health().uptimeSeconds == 2)
        #expect(daemon.connectionCount == 2)
    }

    @Test func answersThatMatchNoRequestAreProtocolViolations() async throws {
        let daemon = try FakeDaemon { connection, number in
            guard connection.readRequest() != nil else { return }
            switch number {
            case 1: connection.ok(.integer(999_999), #"{"status":"ok","uptime_seconds":1,"version":"x"}"#)
            case 2: connection.write("this is not json")
            default: connection.ok(.integer(3), #"{"unexpected":true}"#)  // request 3 gets data of the wrong shape
            }
        }
        let client = RelydClient(socketPath: daemon.path)
        await expectError("protocol_violation") { _ = try await client.health() }
        await expectError("protocol_violation") { _ = try await client.health() }
        await expectError("protocol_violation") { _ = try await client.health() }
        #expect(daemon.connectionCount == 3, "a violation closes the connection; the next request opens another")
    }

    @Test func cancellationEndsTheWait() async throws {
        let daemon = try FakeDaemon { connection, _ in _ = connection.readLine() }
        let client = RelydClient(socketPath: daemon.path)
        let task = Task { try await client.health() }
        try await Task.sleep(for: .milliseconds(100))
        task.cancel()
        await expectError("cancelled") { _ = try await task.value }
    }

    @Test func sendRawKeepsTheCallersIdAndPassesOtherLinesThrough() async throws {
        let daemon = try FakeDaemon { connection, _ in
            while let line = connection.readLine() {
                guard let request = (try? JSONDecoder().decode(JSONValue.self, from: Data(line.utf8)))?.objectValue
                else {
                    connection.error(nil, "invalid_json", "the request line is not valid JSON")
                    continue
                }
                connection.ok(request["id"], #"{"status":"ok","uptime_seconds":1,"version":"x"}"#)
            }
        }
        let client = RelydClient(socketPath: daemon.path)
        let withStringID = try await client.sendRaw(#"{"id":"mine","command":"health"}"#)
        #expect(withStringID == #"{"data":{"status":"ok","uptime_seconds":1,"version":"x"},"id":"mine","status":"ok"}"#)
        let withoutID = try await client.sendRaw("{\"command\":\"health\"}\r\n")
        #expect(withoutID.contains(#""id":null"#))
        let notJSON = try await client.sendRaw("{nope")
        #expect(notJSON.contains(#""error":"invalid_json""#))
        await expectError("invalid_request_line") { _ = try await client.sendRaw("{}\n{}") }
        // The typed path still works after raw lines on the same connection.
        #expect(try await client.health().status == "ok")
    }
}

// MARK: - relyctl's argument mapping

@Suite struct CommandLineTests {
    @Test func catalogMatchesTheDescriptors() {
        for command in CommandCatalog.commands {
            #expect(Set(command.parameters.map(\.name)) == command.declaredParameterNames, "\(command.name)")
        }
        #expect(CommandCatalog.commands.map(\.name)
                == ["register_site", "get_authorization_url", "get_tokens_by_code", "get_user_info", "health",
                    "update_site", "remove_site", "get_site", "list_sites", "get_discovery", "get_issuer",
                    "get_logout_uri", "validate_logout_token",
                    "get_access_token_by_refresh_token", "get_client_token", "introspect_access_token", "revoke_token",
                    "check_id_token", "get_jwks", "stats"])
    }

    /// Kinds and requiredness are read from the parameters type's decoding: every kind, required and optional.
    @Test func catalogKindsComeFromTheParametersTypes() throws {
        let command = try #require(CommandCatalog.command(named: GetAuthorizationURL.name))
        let described = command.parameters.map { "\($0.name) \($0.kind) \($0.isRequired ? "required" : "optional")" }
        #expect(described == [
            "oxd_id string required", "scope strings optional", "acr_values strings optional",
            "prompt string optional", "max_age integer optional", "login_hint string optional",
            "ui_locales strings optional", "claims jsonObject optional", "response_mode string optional",
            "custom_parameters object optional",
        ])
        #expect(CommandCatalog.command(named: GetTokensByCode.name)?.parameters.map(\.isRequired)
                == [true, true, true, false])
    }

    @Test func parametersAreTypedFromTheCatalog() throws {
        let request = try CommandLineRequest.parse([
            "--socket", "/run/r.sock", "get-authorization-url", "--oxd-id", "s-1",
            "--scope", "openid", "--scope", "email,profile", "--acr-values=pwd",
            "--max-age", "600", "--custom-parameters", #"{"login_hint":"alice"}"#, "--prompt", "--login",
        ])
        #expect(request.socketPath == "/run/r.sock")
        #expect(request.action == .command(name: "get_authorization_url", parameters: [
            "oxd_id": .string("s-1"),
            "scope": .array([.string("openid"), .string("email"), .string("profile")]),
            "acr_values": .array([.string("pwd")]),
            "max_age": .integer(600),
            "custom_parameters": .object(["login_hint": .string("alice")]),
            "prompt": .string("--login"),
        ]))
    }

    @Test func globalOptionsAnywhereAndModes() throws {
        let request = try CommandLineRequest.parse(["health", "--socket=/s", "--timeout", "2.5"])
        #expect(request == CommandLineRequest(socketPath: "/s", timeoutSeconds: 2.5,
                                              action: .command(name: "health", parameters: [:])))
        #expect(try CommandLineRequest.parse([]).action == .raw)
        #expect(try CommandLineRequest.parse(["--socket", "/s", "-"]).action == .raw)
        #expect(try CommandLineRequest.parse(["help"]).action == .help(command: nil))
        #expect(try CommandLineRequest.parse(["help", "register-site"]).action == .help(command: "register_site"))
        #expect(try CommandLineRequest.parse(["get_user_info", "--help"]).action == .help(command: "get_user_info"))
        #expect(CommandLineRequest.helpText(command: nil).contains(Health.summary))
        #expect(CommandLineRequest.helpText(command: "register_site").contains("--authorization-redirect-uri"))
    }

    @Test(arguments: [
        ["frobnicate"],
        ["health", "--verbose", "x"],
        ["get_user_info", "--oxd-id"],
        ["get_user_info", "--oxd-id", "a", "--oxd-id", "b"],
        ["get_authorization_url", "--max-age", "soon"],
        ["get_authorization_url", "--custom-parameters", "login_hint=a"],
        ["get_authorization_url", "--custom-parameters", #"{"n":1}"#],
        ["get_user_info", "stray"],
        ["--bogus", "health"],
        ["--socket"],
        ["--timeout", "0", "health"],
        ["-", "--scope", "x"],
        ["help", "nothing"],
    ])
    func usageErrors(_ arguments: [String]) {
        #expect(throws: CommandLineRequest.UsageError.self) { try CommandLineRequest.parse(arguments) }
    }
}
