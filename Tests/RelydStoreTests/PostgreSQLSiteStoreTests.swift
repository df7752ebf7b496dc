import Foundation
import RelydBasics
@testable import RelydStore
import RelydTestSupport
import Testing

/// What only the PostgreSQL backend promises: a schema relyd migrates itself (also when instances start together),
/// one redemption of a state across instances, no stale reads between instances, and recovery from a lost server
/// connection. Blocking libpq work outside a store (opening, direct SQL) runs off the cooperative pool.
@Suite struct PostgreSQLSiteStoreTests {
    /// Instances starting together against an empty database all open, and the schema is created once.
    @Test func concurrentFirstStartsCreateTheSchemaOnce() async throws {
        try await withDatabase { database in
            let stores = try await withThrowingTaskGroup(of: PostgreSQLSiteStore.self) { group in
                for _ in 0..<4 {
                    group.addTask { try await open(database.url) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(stores.count == 4)
            for store in stores { await store.close() }
            let version = try await sql(database.url) { connection throws(StoreError) in
                try connection.schemaVersion()
            }
            #expect(version == PostgreSQLSchema.migrations.count)
        }
    }

    /// A database from a newer relyd (a higher schema version) is refused with `.schema`.
    @Test func futureSchemaVersionIsRefused() async throws {
        try await withDatabase { database in
            await (try await open(database.url)).close()
            try await sql(database.url) { connection throws(StoreError) in
                try connection.run("UPDATE relyd_schema_version SET version = ?1",
                                   [.integer(Int64(PostgreSQLSchema.migrations.count + 1))])
            }
            #expect(await openError(database.url) == .schema)
        }
    }

    /// A database left at schema version 1 is migrated in place: its sites survive and read back as OpenID Connect
    /// sites without a key of their own.
    @Test func versionOneDatabaseIsMigrated() async throws {
        try await withDatabase { database in
            try await sql(database.url) { connection throws(StoreError) in
                try connection.exec(PostgreSQLSchema.migrations[0])
                try connection.exec("""
                    CREATE TABLE relyd_schema_version (id integer PRIMARY KEY CHECK (id = 1), version integer NOT NULL);
                    INSERT INTO relyd_schema_version VALUES (1, 1);
                    INSERT INTO sites VALUES ('old-site', 'https://op.example', 'client', 'secret', NULL, NULL, NULL,
                        'https://rp.example/cb', NULL, '["openid"]', NULL, '["authorization_code"]', '["code"]',
                        'client_secret_basic', NULL, 1, 0);
                    """)
            }

            let store = try await open(database.url)
            let site = try #require(try await store.site(id: "old-site"))
            #expect(site.clientSecret?.revealed == "secret")
            #expect(site.providerKind == .openIDConnect)
            #expect(site.signingKey == nil)
            await store.close()
            let version = try await sql(database.url) { connection throws(StoreError) in
                try connection.schemaVersion()
            }
            #expect(version == PostgreSQLSchema.migrations.count)
        }
    }

    /// Consumers on several instances (one connection each) racing for one state: exactly one gets it.
    @Test func oneStateIsRedeemedOnceAcrossInstances() async throws {
        try await withDatabase { database in
            var stores: [PostgreSQLSiteStore] = []
            for _ in 0..<4 { stores.append(try await open(database.url)) }
            try await stores[0].insertSite(makeSite(id: "x"))
            try await stores[1].insertPendingAuthorization(makePending(state: "s", siteID: "x"))
            let successes = try await withThrowingTaskGroup(of: Bool.self) { [stores] group in
                for index in 0..<40 {
                    group.addTask {
                        try await stores[index % stores.count]
                            .consumePendingAuthorization(state: "s", siteID: "x", now: epoch) != nil
                    }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(successes == 1)
            for store in stores { await store.close() }
        }
    }

    /// A change written through one instance is what another instance reads next: nothing is cached.
    @Test func changesOnOneInstanceAreSeenByAnother() async throws {
        try await withDatabase { database in
            let writer = try await open(database.url)
            let reader = try await open(database.url)
            try await writer.insertSite(makeSite(id: "x"))
            #expect(try await reader.site(id: "x") == makeSite(id: "x"))
            var changed = makeSite(id: "x")
            changed.redirectURI = "https://app.example.test/other"
            #expect(try await writer.updateSite(changed))
            #expect(try await reader.site(id: "x") == changed)
            #expect(try await writer.deleteSite(id: "x"))
            #expect(try await reader.site(id: "x") == nil)
            await writer.close()
            await reader.close()
        }
    }

    /// When the server ends the store's session, the call that hit it throws `.unavailable`, the next call
    /// reconnects by itself, and everything written before is still there.
    @Test func lostConnectionIsUnavailableThenRecovers() async throws {
        try await withDatabase { database in
            let store = try await open(database.url)
            try await store.insertSite(makeSite(id: "x"))

            let terminated = try await sql(database.serverURL) { connection throws(StoreError) in
                try connection.query("""
                    SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                    WHERE datname = ?1 AND pid <> pg_backend_pid()
                    """, [.text(database.name)]) { row in row.text(0) }
            }
            #expect(terminated == ["t"])

            #expect(await storeErrorKind { () throws(StoreError) in _ = try await store.site(id: "x") } == .unavailable)
            #expect(try await store.site(id: "x") == makeSite(id: "x"))
            try await store.insertSite(makeSite(id: "y"))
            #expect(try await store.allSites().map(\.id) == ["x", "y"])
            await store.close()
        }
    }

    /// A failed statement's error never carries the row's values: at libpq's default verbosity a constraint
    /// violation's DETAIL quotes the whole failing row ("Failing row contains (...)"), secrets included, and the
    /// dispatcher logs a store error's detail.
    @Test func constraintViolationDoesNotQuoteTheRow() async throws {
        try await withDatabase { database in
            let detail = try await sql(database.url) { connection throws(StoreError) -> String in
                _ = try connection.run("CREATE TABLE secrets_probe (secret text, required text NOT NULL)", [])
                do throws(StoreError) {
                    _ = try connection.run("INSERT INTO secrets_probe (secret, required) VALUES (?1, NULL)",
                                           [.text("client-secret-must-not-leak")])
                    return "no error"
                } catch {
                    return error.detail
                }
            }
            #expect(detail != "no error")
            #expect(!detail.contains("client-secret-must-not-leak"))
        }
    }

    /// Only SQLite-style numbered parameters are rewritten: a `?` elsewhere (a JSON operator, a literal) stays.
    @Test func numberedParametersOnlyRewriteQuestionMarksBeforeADigit() {
        #expect(PostgreSQLConnection.numberedParameters("SELECT ?1, '?', data ? 'k' FROM t WHERE a = ?12 OR b = ?")
                == "SELECT $1, '?', data ? 'k' FROM t WHERE a = $12 OR b = ?")
    }

    /// A statement is prepared once per session, under a name that depends on its text only, and then executed
    /// by name: the session holds one prepared statement however often it runs.
    @Test func statementsArePreparedOncePerSession() async throws {
        try await withDatabase { database in
            let prepared = try await sql(database.url) { connection throws(StoreError) -> [String] in
                let select = "SELECT count(*) FROM pg_prepared_statements WHERE name = ?1"
                for _ in 0..<3 {
                    _ = try connection.query(select, [.text("none")]) { row in row.int64(0) }
                }
                return try connection.query("SELECT name FROM pg_prepared_statements ORDER BY name", []) { row in
                    row.text(0)
                }
            }
            let select = "SELECT count(*) FROM pg_prepared_statements WHERE name = ?1"
            let listing = "SELECT name FROM pg_prepared_statements ORDER BY name"
            #expect(prepared == [PostgreSQLConnection.statementName(select),
                                 PostgreSQLConnection.statementName(listing)].sorted())
        }
    }

    /// Counts the session's prepared statements other than the one named by its parameter.
    static let countOthers = "SELECT count(*) FROM pg_prepared_statements WHERE name <> ?1"

    /// Prepares `sql` under the name relyd gives it, as another instance sharing the session would have; returns it.
    static func preparedAsRelydWould(_ sql: String, on connection: PostgreSQLConnection) throws(StoreError) -> String {
        let name = PostgreSQLConnection.statementName(sql)
        try connection.exec("PREPARE \(name) AS \(PostgreSQLConnection.numberedParameters(sql))")
        return sql
    }

    /// A session that lost its prepared statements (DISCARD ALL, as a pooler runs between clients) prepares them
    /// again without failing the call; one that already holds a statement under relyd's name (prepared by another
    /// instance sharing the session through a pooler) uses it.
    @Test func lostOrForeignPreparedStatementsAreHandled() async throws {
        try await withDatabase { database in
            let counts = try await sql(database.url) { connection throws(StoreError) -> [Int64] in
                let count = try Self.preparedAsRelydWould(Self.countOthers, on: connection)
                var counts: [Int64] = []
                counts += try connection.query(count, [.text("")]) { row in row.int64(0) }
                try connection.exec("DISCARD ALL")
                counts += try connection.query(count, [.text("")]) { row in row.int64(0) }
                return counts
            }
            #expect(counts == [1, 1])
        }
    }

    /// Inside a transaction a statement is not prepared, so that a failed prepare (its name already taken in a
    /// session a pooler shares) cannot abort the transaction; the statement runs unprepared instead.
    @Test func statementsAreNotPreparedInsideATransaction() async throws {
        try await withDatabase { database in
            let counts = try await sql(database.url) { connection throws(StoreError) -> [Int64] in
                let count = try Self.preparedAsRelydWould(Self.countOthers, on: connection)
                let inside = try connection.transaction { () throws(StoreError) -> [Int64] in
                    let other = "SELECT count(*) + 0 FROM pg_prepared_statements WHERE name <> ?1"
                    return try connection.query(count, [.text("")]) { row in row.int64(0) }
                        + connection.query(other, [.text("")]) { row in row.int64(0) }
                }
                return inside + (try connection.query(count, [.text("")]) { row in row.int64(0) })
            }
            #expect(counts == [1, 1, 1])
        }
    }

    /// Statement names are stable across processes and differ between texts.
    @Test func statementNamesDependOnTheTextOnly() {
        #expect(PostgreSQLConnection.statementName("SELECT 1") == PostgreSQLConnection.statementName("SELECT 1"))
        #expect(PostgreSQLConnection.statementName("SELECT 1") != PostgreSQLConnection.statementName("SELECT 2"))
        #expect(PostgreSQLConnection.statementName("") == "relyd_cbf29ce484222325")
    }

    /// While connecting keeps failing, calls within the back-off after a failed attempt fail with `.unavailable`
    /// without trying again; the back-off doubles from 0.1 s up to 2 s, and a successful connection resets it.
    @Test func failedReconnectsBackOff() async throws {
        try await withDatabase { database in
            await (try await open(database.url)).close()  // the schema, for the call that connects at last
            let clock = SteppedClock()
            let attempts = Locked(0)
            let refusing = Locked(true)
            let provider = ReconnectingPostgreSQLConnection(url: database.url, connection: nil, clock: clock) {
                url throws(StoreError) in
                attempts.withLock { $0 += 1 }
                if refusing.withLock({ $0 }) { throw StoreError(.unavailable, "refused") }
                return try PostgreSQLConnection(url: url)
            }
            let store = PostgreSQLSiteStore(provider: provider)
            func call(at seconds: Double) async -> (StoreError.Kind?, Int) {
                clock.set(seconds)
                let kind = await storeErrorKind { () throws(StoreError) in _ = try await store.allSites() }
                return (kind, attempts.withLock { $0 })
            }
            #expect(await call(at: 0) == (.unavailable, 1))
            #expect(await call(at: 0.09) == (.unavailable, 1))  // within 0.1 s of the failure: no attempt
            #expect(await call(at: 0.11) == (.unavailable, 2))
            #expect(await call(at: 0.3) == (.unavailable, 2))  // within 0.2 s
            #expect(await call(at: 0.32) == (.unavailable, 3))
            #expect(await call(at: 0.7) == (.unavailable, 3))  // within 0.4 s
            var now = 0.73
            #expect(await call(at: now) == (.unavailable, 4))
            for expected in 5...10 {
                now += 2.05  // the cap: never more than 2 s without an attempt
                #expect(await call(at: now) == (.unavailable, expected))
            }
            refusing.withLock { $0 = false }
            #expect(await call(at: now + 2.05) == (nil, 11))
            #expect(await call(at: now + 2.05) == (nil, 11))  // connected: no new attempt
            await store.close()
        }
    }

    /// A server that does not answer is `.unavailable` at open, not a hang or a crash.
    @Test func unreachableServerIsUnavailable() async {
        #expect(await openError("postgresql://relyd@127.0.0.1:1/relyd?connect_timeout=2") == .unavailable)
    }
}

/// Opens a store on `url`, off the cooperative pool.
private func open(_ url: String) async throws -> PostgreSQLSiteStore {
    try await offPool { try PostgreSQLSiteStore.open(url: url) }
}

/// The kind of error opening a store on `url` throws, or nil when it opens (the store then closes on release).
private func openError(_ url: String) async -> StoreError.Kind? {
    do {
        _ = try await open(url)
        return nil
    } catch {
        return (error as? StoreError)?.kind
    }
}

/// Runs `work` on a connection of its own to `url`, off the cooperative pool, and closes it.
@discardableResult
private func sql<T: Sendable>(_ url: String, _ work: @escaping @Sendable (PostgreSQLConnection) throws(StoreError) -> T)
    async throws -> T
{
    try await offPool {
        let connection = try PostgreSQLConnection(url: url)
        defer { connection.close() }
        return try work(connection)
    }
}

/// A monotonic clock that stands still until a test sets it, in seconds after an arbitrary origin.
private final class SteppedClock: MonotonicClock {
    private let origin = ContinuousClock.now
    private let offset = Locked(0.0)

    func set(_ seconds: Double) { offset.withLock { $0 = seconds } }

    func now() -> ContinuousClock.Instant { origin + .seconds(offset.withLock { $0 }) }
}
