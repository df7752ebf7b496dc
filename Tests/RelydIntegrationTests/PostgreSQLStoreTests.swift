import Dispatch
import Foundation
import RelydBasics
import RelydClient
import RelydProtocol
import RelydTestSupport
import Testing

/// Several relyd instances (real binaries, each on its own socket) sharing one PostgreSQL database, as the hosts of
/// one application behind a load balancer would. Serialized: each test owns one cluster and its daemons.
@Suite(.serialized) struct PostgreSQLStoreTests {
    /// Three daemons on one database and the Glewlwyd OP: a site registered on the first logs in with the login
    /// started on the second and redeemed on the third, and its user info is read on the first.
    @Test func loginCrossesThreeDaemons() async throws {
        let stack = try await offPool { try SharedDatabaseStack(.glewlwyd, daemons: 3) }
        let (op, daemons, clients) = (stack.op, stack.daemons, stack.clients)

        let site = try await clients[0].send(RegisterSite.self, .init(
            opHost: op.fixture.issuer, authorizationRedirectURI: op.fixture.redirectURI, clientName: "relyd-pg"))
        let authorization = try await clients[1].send(GetAuthorizationURL.self, .init(oxdID: site.oxdID))
        let redirect = try await offPool { try op.login(authorization.authorizationURL) }
        let code = try #require(redirect["code"], "login produced no code: \(redirect)")
        let tokens = try await clients[2].send(GetTokensByCode.self, .init(
            oxdID: site.oxdID, code: code, state: authorization.state, iss: redirect["iss"]))
        #expect(tokens.idTokenClaims?["iss"]?.stringValue == op.fixture.issuer)
        let userInfo = try await clients[0].send(GetUserInfo.self, .init(oxdID: site.oxdID,
                                                                         accessToken: tokens.accessToken))
        #expect(userInfo.claims["sub"] == tokens.idTokenClaims?["sub"])

        // The database's files are the server's, not relyd's to report.
        #expect(try await clients[0].send(Stats.self, .init()).storeBytes == nil)

        // Removed on one instance, the site is gone for the others on their next request.
        _ = try await clients[1].send(command: "remove_site", parameters: ["oxd_id": .string(site.oxdID)])
        for client in [clients[0], clients[2]] {
            #expect(await errorCode { () throws(RelydClientError) in
                _ = try await client.send(GetAuthorizationURL.self, .init(oxdID: site.oxdID))
            } == "unknown_site")
        }
        for daemon in daemons {
            #expect(await offPool { daemon.terminate() } == 0)
            #expect(!daemon.log.contains(op.fixture.password))
        }
        await stack.tearDown()
    }

    /// The same code and state sent to three daemons at once: exactly one gets tokens, the others invalid_state.
    @Test func sameStateRacedOnThreeDaemonsIsRedeemedOnce() async throws {
        let stack = try await offPool { try SharedDatabaseStack(.glewlwyd, daemons: 3) }
        let (op, clients) = (stack.op, stack.clients)

        let site = try await clients[0].send(RegisterSite.self, .init(
            opHost: op.fixture.issuer, authorizationRedirectURI: op.fixture.redirectURI))
        let authorization = try await clients[0].send(GetAuthorizationURL.self, .init(oxdID: site.oxdID))
        let redirect = try await offPool { try op.login(authorization.authorizationURL) }
        let code = try #require(redirect["code"])
        let outcomes = await withTaskGroup(of: String.self) { group in
            for client in clients {
                group.addTask {
                    await errorCode { () throws(RelydClientError) in
                        _ = try await client.send(GetTokensByCode.self, .init(
                            oxdID: site.oxdID, code: code, state: authorization.state, iss: redirect["iss"]))
                    } ?? "ok"
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(outcomes.sorted() == ["invalid_state", "invalid_state", "ok"])
        await stack.tearDown()
    }

    /// A daemon whose database cannot be reached does not start (its service manager retries), and its log names
    /// the failure without the URL's password.
    @Test func unreachableDatabaseStopsTheStartWithoutLeakingThePassword() async throws {
        let directory = try TemporaryDirectory()
        let port = try OpenIDProvider.freePort()
        let failure = await offPool {
            Result {
                try RelydDaemon(in: directory.url, extraConfig: """
                    store = postgresql
                    postgresql_url = postgresql://relyd:hunter2@127.0.0.1:\(port)/relyd?connect_timeout=2
                    """)
            }
        }
        guard case .failure = failure else {
            Issue.record("relyd started without its database")
            return
        }
        let log = try String(contentsOf: directory.url.appendingPathComponent("relyd.log"), encoding: .utf8)
        #expect(log.contains("cannot start"))
        #expect(!log.contains("hunter2"))
    }

    /// When the database ends every relyd session, the requests that hit a dead connection answer
    /// store_unavailable, each daemon reconnects by itself, and every site acknowledged before is still there; the
    /// same while the server is stopped and after it has started again.
    @Test func lostDatabaseIsUnavailableThenRecovers() async throws {
        let stack = try await offPool { try SharedDatabaseStack(.oidcMock, daemons: 2) }
        let (op, database, daemons, clients) = (stack.op, stack.database, stack.daemons, stack.clients)
        var registered: [String] = []
        for client in clients {
            let site = try await client.send(RegisterSite.self, .init(
                opHost: op.fixture.issuer, authorizationRedirectURI: op.fixture.redirectURI))
            registered.append(site.oxdID)
        }

        #expect(try await offPool { try database.terminateSessions() } == daemons.count)

        for client in clients {
            let first = await errorCode { () throws(RelydClientError) in
                _ = try await client.send(ListSites.self, .init())
            }
            #expect(first == "store_unavailable")
            let sites = try await client.send(ListSites.self, .init())
            #expect(Set(sites.sites.map(\.oxdID)) == Set(registered))
        }
        for daemon in daemons { #expect(daemon.log.contains("store unavailable")) }

        try await offPool { try database.stopServer() }
        for client in clients {
            for _ in 0..<2 {
                #expect(await errorCode { () throws(RelydClientError) in
                    _ = try await client.send(ListSites.self, .init())
                } == "store_unavailable")
            }
        }
        try await offPool { try database.startServer() }
        for client in clients {
            let sites = try await client.send(ListSites.self, .init())
            #expect(Set(sites.sites.map(\.oxdID)) == Set(registered))
        }
        await stack.tearDown()
    }
}

/// One OP, one PostgreSQL cluster and `daemons` relyd instances on their own sockets, all using the cluster's
/// database, with a client for each. Torn down in reverse order: clients, daemons, OP, cluster (and the directory
/// when released): by ``tearDown()`` off the cooperative pool, or on release when a test failed before it.
private final class SharedDatabaseStack: @unchecked Sendable {
    let directory: TemporaryDirectory
    let database: PostgreSQLServer
    let op: OpenIDProvider
    let daemons: [RelydDaemon]
    let clients: [RelydClient]

    init(_ kind: OpenIDProvider.Kind, daemons count: Int) throws {
        directory = try TemporaryDirectory()
        database = try PostgreSQLServer()
        op = try OpenIDProvider(kind, runRoot: directory.url.appendingPathComponent("op"))
        // All at once against the empty database, as hosts booting together would: the schema must be created
        // once, without a daemon failing on another's half-made tables.
        let started = Locked([Int: Result<RelydDaemon, any Error>]())
        DispatchQueue.concurrentPerform(iterations: count) { [directory, op, database] index in
            let daemon = Result {
                try RelydDaemon(in: directory.url.appendingPathComponent("relyd-\(index)"),
                                extraConfig: op.relydConfig + "\n" + database.relydConfig)
            }
            started.withLock { $0[index] = daemon }
        }
        do {
            daemons = try started.withLock { results in
                try (0..<count).map { index in
                    guard let daemon = results[index] else { throw IntegrationError("relyd \(index) was not started") }
                    return try daemon.get()
                }
            }
        } catch {
            op.stop()
            throw error
        }
        clients = daemons.map { RelydClient(socketPath: $0.socketPath) }
    }

    func tearDown() async {
        await offPool { [self] in stop() }
    }

    deinit { stop() }

    /// Stops everything; once, whoever calls first.
    private func stop() {
        let first = stopped.withLock { stopped in
            defer { stopped = true }
            return !stopped
        }
        guard first else { return }
        clients.forEach { $0.close() }
        daemons.forEach { $0.kill9() }
        op.stop()
        database.remove()
    }

    private let stopped = Locked(false)
}

/// The error code `operation` fails with, or nil when it succeeds.
private func errorCode(_ operation: () async throws(RelydClientError) -> Void) async -> String? {
    do {
        try await operation()
        return nil
    } catch {
        return error.code
    }
}
