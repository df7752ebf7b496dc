import Dispatch
import Foundation
import RelydBasics

/// The daemon's durable ``SiteStore``: one SQLite database in WAL mode with `synchronous=FULL`, so that a mutation
/// whose call returned survives a crash of the daemon and a power loss.
///
/// Sendability (`@unchecked`): the only mutable state is `connection`, and it is touched only from blocks run on the
/// private serial `queue` (see ``onQueue(_:)``); `open` uses it before the instance is shared. SQLite calls block
/// (every commit fsyncs), so they run on that queue's thread, never on the Swift cooperative pool.
public final class SQLiteSiteStore: SiteStore, @unchecked Sendable {
    private let queue = DispatchQueue(label: "relyd.store.sqlite")
    /// Confined to `queue`.
    private let connection: SQLiteConnection

    private init(connection: SQLiteConnection) {
        self.connection = connection
    }

    /// Opens (creating when missing) the database `fileName` in the state directory `directory`, and brings its
    /// schema up to date.
    ///
    /// - The directory is created with mode 0700 when missing; it must be owned by the effective uid and not be
    ///   group- or world-writable, or `.unsafePermissions` is thrown.
    /// - The database file is created 0600 before SQLite sees it (SQLite gives its `-wal` and `-shm` files the main
    ///   file's mode); an existing database file that grants any group or world access is refused.
    /// - A database written by a newer relyd (a higher schema version) throws `.schema`.
    ///
    /// It blocks for the migrations' fsyncs: call it at startup, before serving.
    public static func open(directory: String, fileName: String = "relyd.sqlite3") throws(StoreError)
        -> SQLiteSiteStore
    {
        try StateDirectory.prepare(directory)
        let path = directory + "/" + fileName
        for existing in [path, path + "-wal", path + "-shm"] {
            try StateDirectory.checkPrivateFile(existing)
        }
        try StateDirectory.createPrivateFile(path)
        let connection = try SQLiteConnection(path: path)
        try connection.configure()
        try connection.migrate()
        return SQLiteSiteStore(connection: connection)
    }

    public func insertSite(_ site: Site) async throws(StoreError) {
        let values = try SiteRow.values(of: site)
        try await onQueue { connection throws(StoreError) in try connection.insertSite(values) }
    }

    public func updateSite(_ site: Site) async throws(StoreError) -> Bool {
        let values = try SiteRow.values(of: site)
        return try await onQueue { connection throws(StoreError) in try connection.updateSite(values) }
    }

    public func site(id: String) async throws(StoreError) -> Site? {
        try await onQueue { connection throws(StoreError) in try connection.site(id: id) }
    }

    public func deleteSite(id: String) async throws(StoreError) -> Bool {
        try await onQueue { connection throws(StoreError) in try connection.deleteSite(id: id) }
    }

    public func allSites() async throws(StoreError) -> [Site] {
        try await onQueue { connection throws(StoreError) in try connection.allSites() }
    }

    public func insertPendingAuthorization(_ pending: PendingAuthorization) async throws(StoreError) {
        let values = try PendingRow.values(of: pending)
        try await onQueue { connection throws(StoreError) in try connection.insertPendingAuthorization(values) }
    }

    public func consumePendingAuthorization(state: String, siteID: String, now: Date) async throws(StoreError)
        -> PendingAuthorization?
    {
        let pending = try await onQueue { connection throws(StoreError) in
            try connection.consumePendingAuthorization(state: state, siteID: siteID)
        }
        guard let pending, isLive(pending.expiresAt, at: now) else { return nil }
        return pending
    }

    public func purgeExpired(now: Date) async throws(StoreError) -> Int {
        try await onQueue { connection throws(StoreError) in try connection.purgeExpired(now: now) }
    }

    public func insertTokenBinding(_ binding: TokenBinding) async throws(StoreError) {
        let values = TokenBindingRow.values(of: binding)
        try await onQueue { connection throws(StoreError) in try connection.insertTokenBinding(values) }
    }

    public func tokenBinding(accessTokenHash: String, now: Date) async throws(StoreError) -> TokenBinding? {
        let binding = try await onQueue { connection throws(StoreError) in
            try connection.tokenBinding(accessTokenHash: accessTokenHash)
        }
        guard let binding, isLive(binding.expiresAt, at: now) else { return nil }
        return binding
    }

    public func close() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            queue.async {
                self.connection.close()
                continuation.resume()
            }
        }
    }

    /// Runs `work` with the connection on `queue` and hands its result back to the awaiting task.
    ///
    /// The continuation carries a `Result` so that the typed `StoreError` survives the bridge (a throwing
    /// continuation would erase it to `any Error`).
    private func onQueue<T: Sendable>(
        _ work: @escaping @Sendable (SQLiteConnection) throws(StoreError) -> T
    ) async throws(StoreError) -> T {
        let result = await withCheckedContinuation {
            (continuation: CheckedContinuation<Result<T, StoreError>, Never>) in
            queue.async {
                continuation.resume(returning: Result { () throws(StoreError) -> T in try work(self.connection) })
            }
        }
        return try result.get()
    }
}

// MARK: - Schema

extension SQLiteConnection {
    /// Connection settings relyd relies on; checked where SQLite could silently refuse.
    func configure() throws(StoreError) {
        let mode = try query("PRAGMA journal_mode=WAL") { row in row.text(0) }.first
        guard mode == "wal" else { throw StoreError(.io, "PRAGMA journal_mode=WAL: not in WAL mode") }
        // FULL: a commit is on disk when it returns, power loss included (about 2k commits/s, plenty here).
        try exec("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;")
    }

    /// Applies the migrations this database has not seen yet, each in its own transaction with its version bump.
    func migrate() throws(StoreError) {
        try exec("""
            CREATE TABLE IF NOT EXISTS schema_version (
                id INTEGER PRIMARY KEY CHECK (id = 1),
                version INTEGER NOT NULL
            ) STRICT;
            """)
        let current = try schemaVersion()
        guard current <= Schema.migrations.count else {
            throw StoreError(.schema, "schema_version \(current) is newer than this relyd (\(Schema.migrations.count))")
        }
        for version in current..<Schema.migrations.count {
            try transaction { () throws(StoreError) in
                try exec(Schema.migrations[version])
                try run("""
                    INSERT INTO schema_version (id, version) VALUES (1, ?1)
                    ON CONFLICT (id) DO UPDATE SET version = excluded.version
                    """, [.integer(Int64(version + 1))])
            }
        }
    }

    /// The schema version recorded in the database; 0 for a new database.
    func schemaVersion() throws(StoreError) -> Int {
        try query("SELECT version FROM schema_version WHERE id = 1") { row in Int(row.int64(0)) }.first ?? 0
    }
}

/// The database schema, owned by relyd rather than by a migration tool.
enum Schema {
    /// `migrations[n]` takes a database from version n to n + 1. Append only: never edit a shipped step.
    ///
    /// Dates are REAL seconds since 2001-01-01Z (see `SQLValue.date`); string arrays are JSON text.
    static let migrations: [String] = [
        """
        CREATE TABLE sites (
            id TEXT PRIMARY KEY NOT NULL,
            op_host TEXT NOT NULL,
            client_id TEXT NOT NULL,
            client_secret TEXT,
            client_secret_expires_at REAL,
            registration_access_token TEXT,
            registration_client_uri TEXT,
            redirect_uri TEXT NOT NULL,
            post_logout_redirect_uri TEXT,
            scopes TEXT NOT NULL,
            client_name TEXT,
            grant_types TEXT NOT NULL,
            response_types TEXT NOT NULL,
            token_endpoint_auth_method TEXT NOT NULL,
            id_token_signed_response_alg TEXT,
            is_dynamically_registered INTEGER NOT NULL CHECK (is_dynamically_registered IN (0, 1)),
            created_at REAL NOT NULL
        ) STRICT;
        CREATE TABLE pending_authorizations (
            state TEXT PRIMARY KEY NOT NULL,
            site_id TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
            nonce TEXT NOT NULL,
            code_verifier TEXT NOT NULL,
            redirect_uri TEXT NOT NULL,
            max_age INTEGER,
            acr_values TEXT,
            created_at REAL NOT NULL,
            expires_at REAL NOT NULL
        ) STRICT;
        CREATE INDEX pending_authorizations_expires_at ON pending_authorizations (expires_at);
        CREATE INDEX pending_authorizations_site_id ON pending_authorizations (site_id);
        CREATE TABLE token_bindings (
            access_token_hash TEXT PRIMARY KEY NOT NULL,
            site_id TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
            subject TEXT NOT NULL,
            expires_at REAL NOT NULL
        ) STRICT;
        CREATE INDEX token_bindings_expires_at ON token_bindings (expires_at);
        CREATE INDEX token_bindings_site_id ON token_bindings (site_id);
        """,
        // 1 → 2: plain OAuth 2.0 providers (explicit endpoints) and the site's own key for private_key_jwt.
        """
        ALTER TABLE sites ADD COLUMN provider_kind TEXT NOT NULL DEFAULT 'oidc';
        ALTER TABLE sites ADD COLUMN authorization_endpoint TEXT;
        ALTER TABLE sites ADD COLUMN token_endpoint TEXT;
        ALTER TABLE sites ADD COLUMN userinfo_endpoint TEXT;
        ALTER TABLE sites ADD COLUMN signing_key TEXT;
        ALTER TABLE sites ADD COLUMN signing_key_id TEXT;
        ALTER TABLE sites ADD COLUMN signing_algorithm TEXT;
        """,
    ]
}
