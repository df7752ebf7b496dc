import Dispatch
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import RelydBasics

/// A ``SiteStore`` in a PostgreSQL database that several relyd instances share, so that a site registered on one
/// host works on all of them and a login started on one host can be redeemed on another.
///
/// Nothing is cached: every call reads or writes the database, so a change made by one instance is what the others
/// see on their next request. Each mutation is one autocommitted statement (or one transaction), durable when the
/// server acknowledges it, as its `synchronous_commit` setting defines.
///
/// When the server goes away, the calls that needed it throw `.unavailable`; the next call opens a new connection,
/// so relyd recovers by itself once the server is back. While connecting keeps failing, calls fail at once for a
/// short, growing while (``ReconnectingPostgreSQLConnection/backOff(afterFailures:)``) instead of each trying again.
public final class PostgreSQLSiteStore: SQLSiteStore, @unchecked Sendable {
    /// Connects to `url` and brings the schema up to date (creating it in an empty database).
    ///
    /// Several instances may start at once against a new database: the migrations run under an advisory lock, so
    /// exactly one creates the schema and the others then find it current. A database written by a newer relyd
    /// throws `.schema`; a server that cannot be reached throws `.unavailable`. It blocks: call it at startup.
    public static func open(url: String) throws(StoreError) -> PostgreSQLSiteStore {
        let connection = try PostgreSQLConnection(url: url)
        try connection.migrate()
        return PostgreSQLSiteStore(provider: ReconnectingPostgreSQLConnection(url: url, connection: connection))
    }

    /// Whether `url` is a connection URL (or `key=value` string) that libpq can parse, for checking a configuration.
    public static func isWellFormedURL(_ url: String) -> Bool { PostgreSQLConnection.isWellFormedURL(url) }
}

/// One connection at a time, confined to a serial queue, replaced by a new one after the server dropped it.
///
/// Sendability (`@unchecked`): the mutable state (`connection`, `isClosed`, the back-off) is touched only from blocks
/// on the private serial `queue`. libpq calls block on the network, so they run on that queue's thread, never on the
/// Swift cooperative pool.
final class ReconnectingPostgreSQLConnection: SQLConnectionProvider, @unchecked Sendable {
    private let queue = DispatchQueue(label: "relyd.store.postgresql")
    /// The connection URL; it may hold a password, so it is never logged or put in an error.
    private let url: String
    /// Opens a connection to the URL: `PostgreSQLConnection(url:)`, or a stand-in with which tests make connecting
    /// fail.
    private let connect: @Sendable (String) throws(StoreError) -> PostgreSQLConnection
    /// Times the back-off; tests move it by hand.
    private let clock: any MonotonicClock
    /// Confined to `queue`; nil after the server dropped it, until the next call reconnects.
    private var connection: PostgreSQLConnection?
    /// Confined to `queue`.
    private var isClosed = false
    /// Confined to `queue`: connection attempts that failed since the last one that succeeded.
    private var failedConnects = 0
    /// Confined to `queue`: before this instant, calls fail without trying to connect.
    private var nextConnect: ContinuousClock.Instant?

    init(url: String, connection: PostgreSQLConnection?, clock: any MonotonicClock = SystemMonotonicClock(),
         connect: @escaping @Sendable (String) throws(StoreError) -> PostgreSQLConnection = {
             url throws(StoreError) in try PostgreSQLConnection(url: url)
         }) {
        self.url = url
        self.connection = connection
        self.clock = clock
        self.connect = connect
    }

    /// How long calls fail at once after `failures` connection attempts in a row failed: 0.1 s, doubling, at most
    /// 2 s. Each attempt holds the queue (up to `connect_timeout` against a host that does not answer), so without
    /// it every request queued during an outage would wait for its own attempt and a recovering server would meet
    /// a burst of them; with it, requests get `store_unavailable` at once and the store is back within 2 s of the
    /// server.
    static func backOff(afterFailures failures: Int) -> Duration {
        min(.milliseconds(100) * (1 << min(max(failures - 1, 0), 5)), .seconds(2))
    }

    func perform<T: Sendable>(_ work: @escaping @Sendable (any SQLConnection) throws(StoreError) -> T)
        async throws(StoreError) -> T
    {
        try await queue.perform { () throws(StoreError) -> T in try self.withLiveConnection(work) }
    }

    func close() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            queue.async {
                self.isClosed = true
                self.connection?.close()
                self.connection = nil
                continuation.resume()
            }
        }
    }

    /// Only on `queue`. Opens a connection first when the last was lost, and drops it when `work` finds the server
    /// gone, so that the call after this one reconnects.
    private func withLiveConnection<T>(_ work: (PostgreSQLConnection) throws(StoreError) -> T) throws(StoreError) -> T {
        guard !isClosed else { throw StoreError(.io, "store: closed") }
        if connection?.isBroken ?? true {
            connection?.close()
            connection = nil
            connection = try reconnect()
        }
        guard let live = connection else { throw StoreError(.unavailable, "libpq: no connection") }
        do {
            return try work(live)
        } catch {
            if error.kind == .unavailable || live.isBroken {
                live.close()
                connection = nil
            }
            throw error
        }
    }

    /// Only on `queue`. A new connection, unless the last attempts failed and their back-off has not run out.
    private func reconnect() throws(StoreError) -> PostgreSQLConnection {
        if let nextConnect, clock.now() < nextConnect {
            throw StoreError(.unavailable, "libpq: the last connection attempt failed; waiting before the next")
        }
        do {
            let connection = try connect(url)
            failedConnects = 0
            nextConnect = nil
            return connection
        } catch {
            failedConnects += 1
            nextConnect = clock.now() + Self.backOff(afterFailures: failedConnects)
            throw error
        }
    }
}

// MARK: - Schema

extension PostgreSQLConnection {
    /// Applies the migrations this database has not seen yet, in one transaction under an advisory lock, so that
    /// instances starting together against a new database neither race to create tables nor apply a step twice:
    /// the second waits for the first's commit and then finds the schema current.
    func migrate() throws(StoreError) {
        try transaction { () throws(StoreError) in
            try run("SELECT pg_advisory_xact_lock(?1)", [.integer(PostgreSQLSchema.migrationLock)])
            try exec("""
                CREATE TABLE IF NOT EXISTS relyd_schema_version (
                    id integer PRIMARY KEY CHECK (id = 1),
                    version integer NOT NULL
                )
                """)
            let current = try schemaVersion()
            guard current <= PostgreSQLSchema.migrations.count else {
                throw StoreError(.schema, "relyd_schema_version \(current) is newer than this relyd "
                                 + "(\(PostgreSQLSchema.migrations.count))")
            }
            for version in current..<PostgreSQLSchema.migrations.count {
                try exec(PostgreSQLSchema.migrations[version])
                try run("""
                    INSERT INTO relyd_schema_version (id, version) VALUES (1, ?1)
                    ON CONFLICT (id) DO UPDATE SET version = excluded.version
                    """, [.integer(Int64(version + 1))])
            }
        }
    }

    /// The schema version recorded in the database; 0 for a new database.
    func schemaVersion() throws(StoreError) -> Int {
        try query("SELECT version FROM relyd_schema_version WHERE id = 1", []) { row in Int(row.int64(0)) }.first ?? 0
    }
}

/// The PostgreSQL schema, owned by relyd. It has the same tables, columns and meanings as SQLite's ``Schema``, and
/// the same version numbers, so that the shared statements in `SQL.swift` run unchanged on both and version n means
/// the same columns in either database.
enum PostgreSQLSchema {
    /// The advisory lock key that serializes migrations across instances ("relyd" in ASCII).
    static let migrationLock: Int64 = 0x72_656c_7964

    /// `migrations[n]` takes a database from version n to n + 1. Append only: never edit a shipped step.
    ///
    /// Dates are double precision seconds since 2001-01-01Z like SQLite's REAL (a timestamp would round them to
    /// microseconds and a date would no longer read back equal); string arrays are JSON text. Keys use the "C"
    /// collation, so that `allSites()` is ordered by byte value as in SQLite, whatever the database's locale.
    static let migrations: [String] = [
        """
        CREATE TABLE sites (
            id text COLLATE "C" PRIMARY KEY,
            op_host text NOT NULL,
            client_id text NOT NULL,
            client_secret text,
            client_secret_expires_at double precision,
            registration_access_token text,
            registration_client_uri text,
            redirect_uri text NOT NULL,
            post_logout_redirect_uri text,
            scopes text NOT NULL,
            client_name text,
            grant_types text NOT NULL,
            response_types text NOT NULL,
            token_endpoint_auth_method text NOT NULL,
            id_token_signed_response_alg text,
            is_dynamically_registered integer NOT NULL CHECK (is_dynamically_registered IN (0, 1)),
            created_at double precision NOT NULL
        );
        CREATE TABLE pending_authorizations (
            state text COLLATE "C" PRIMARY KEY,
            site_id text COLLATE "C" NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
            nonce text NOT NULL,
            code_verifier text NOT NULL,
            redirect_uri text NOT NULL,
            max_age bigint,
            acr_values text,
            created_at double precision NOT NULL,
            expires_at double precision NOT NULL
        );
        CREATE INDEX pending_authorizations_expires_at ON pending_authorizations (expires_at);
        CREATE INDEX pending_authorizations_site_id ON pending_authorizations (site_id);
        CREATE TABLE token_bindings (
            access_token_hash text COLLATE "C" PRIMARY KEY,
            site_id text COLLATE "C" NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
            subject text NOT NULL,
            expires_at double precision NOT NULL
        );
        CREATE INDEX token_bindings_expires_at ON token_bindings (expires_at);
        CREATE INDEX token_bindings_site_id ON token_bindings (site_id);
        """,
        // 1 → 2: plain OAuth 2.0 providers (explicit endpoints) and the site's own key for private_key_jwt.
        """
        ALTER TABLE sites ADD COLUMN provider_kind text NOT NULL DEFAULT 'oidc',
            ADD COLUMN authorization_endpoint text,
            ADD COLUMN token_endpoint text,
            ADD COLUMN userinfo_endpoint text,
            ADD COLUMN signing_key text,
            ADD COLUMN signing_key_id text,
            ADD COLUMN signing_algorithm text;
        """,
    ]
}
