import Dispatch
import Foundation
import RelydBasics

/// The daemon's durable ``SiteStore``: one SQLite database in WAL mode. Every mutation whose call returned survives
/// a crash of the daemon (`kill -9`). Site changes are also on disk before they return (`synchronous=FULL`), so they
/// survive a power loss; pending authorizations and token bindings are written with `synchronous=NORMAL` (no fsync
/// of their own; the next site change or checkpoint syncs them), because each login writes three of them and an
/// fsync each tripled relyd's share of a login. A power loss may therefore lose logins in flight (the user starts
/// again) or bring back a consumed state whose code the OP has already redeemed: it refuses that code again.
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
        try await onQueue { connection throws(StoreError) in
            guard try connection.run(SiteRow.insert, values) == 1 else {
                throw StoreError(.duplicate, "sites: the id exists")
            }
        }
    }

    public func updateSite(_ site: Site) async throws(StoreError) -> Bool {
        let values = try SiteRow.values(of: site)
        return try await onQueue { connection throws(StoreError) in try connection.run(SiteRow.update, values) == 1 }
    }

    public func site(id: String) async throws(StoreError) -> Site? {
        try await onQueue { connection throws(StoreError) in
            try connection.query(
                "SELECT \(SiteRow.columnList) FROM sites WHERE id = ?1", [.text(id)], SiteRow.site
            ).first
        }
    }

    public func deleteSite(id: String) async throws(StoreError) -> Bool {
        // Pending authorizations and token bindings go with it: ON DELETE CASCADE.
        try await onQueue { connection throws(StoreError) in
            try connection.run("DELETE FROM sites WHERE id = ?1", [.text(id)]) == 1
        }
    }

    public func allSites() async throws(StoreError) -> [Site] {
        try await onQueue { connection throws(StoreError) in
            try connection.query("SELECT \(SiteRow.columnList) FROM sites ORDER BY id", [], SiteRow.site)
        }
    }

    public func insertPendingAuthorization(_ pending: PendingAuthorization) async throws(StoreError) {
        let values = try PendingRow.values(of: pending)
        try await onQueue { connection throws(StoreError) in
            try connection.withoutFsync { () throws(StoreError) in
                guard try connection.run(PendingRow.insert, values) == 1 else {
                    throw StoreError(.duplicate, "pending_authorizations: the state exists")
                }
            }
        }
    }

    public func consumePendingAuthorization(state: String, siteID: String, now: Date) async throws(StoreError)
        -> PendingAuthorization?
    {
        // One statement, so one atomic step: of concurrent consumers only one gets the row. An expired row is
        // deleted too and then not returned.
        let pending = try await onQueue { connection throws(StoreError) in
            try connection.withoutFsync { () throws(StoreError) in
                try connection.query(
                    """
                    DELETE FROM pending_authorizations WHERE state = ?1 AND site_id = ?2
                    RETURNING \(PendingRow.columnList)
                    """,
                    [.text(state), .text(siteID)], PendingRow.pending
                ).first
            }
        }
        guard let pending, isLive(pending.expiresAt, at: now) else { return nil }
        return pending
    }

    public func purgeExpired(now: Date) async throws(StoreError) -> Int {
        try await onQueue { connection throws(StoreError) in
            try connection.withoutFsync { () throws(StoreError) -> Int in
                try connection.transaction { () throws(StoreError) -> Int in
                    try connection.run("DELETE FROM pending_authorizations WHERE expires_at <= ?1", [.date(now)])
                        + connection.run("DELETE FROM token_bindings WHERE expires_at <= ?1", [.date(now)])
                }
            }
        }
    }

    public func insertTokenBinding(_ binding: TokenBinding) async throws(StoreError) {
        let values = TokenBindingRow.values(of: binding)
        try await onQueue { connection throws(StoreError) in
            try connection.withoutFsync { () throws(StoreError) in
                _ = try connection.run(TokenBindingRow.upsert, values)
            }
        }
    }

    public func tokenBinding(accessTokenHash: String, now: Date) async throws(StoreError) -> TokenBinding? {
        let binding = try await onQueue { connection throws(StoreError) in
            try connection.query(
                "SELECT \(TokenBindingRow.columnList) FROM token_bindings WHERE access_token_hash = ?1",
                [.text(accessTokenHash)], TokenBindingRow.binding
            ).first
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

extension SQLiteConnection {
    /// Runs `work` with `synchronous=NORMAL`, then restores FULL: in WAL mode its commits are safe from a crash of
    /// the process but not fsynced until the next FULL commit or checkpoint (see ``SQLiteSiteStore``).
    func withoutFsync<T>(_ work: () throws(StoreError) -> T) throws(StoreError) -> T {
        try exec("PRAGMA synchronous=NORMAL")
        let result = Result { () throws(StoreError) -> T in try work() }
        try exec("PRAGMA synchronous=FULL")
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
    /// Dates are REAL seconds since 2001-01-01Z (see `SQLiteValue.date`); string arrays are JSON text.
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

// MARK: - Row mapping
//
// Each record has one column list, one function from record to bound values and one from row to record; the SQL
// of every statement is built from the column list, so the three cannot drift apart.

private enum SiteRow {
    static let columns = [
        "id", "op_host", "client_id", "client_secret", "client_secret_expires_at", "registration_access_token",
        "registration_client_uri", "redirect_uri", "post_logout_redirect_uri", "scopes", "client_name",
        "grant_types", "response_types", "token_endpoint_auth_method", "id_token_signed_response_alg",
        "is_dynamically_registered", "created_at", "provider_kind", "authorization_endpoint", "token_endpoint",
        "userinfo_endpoint", "signing_key", "signing_key_id", "signing_algorithm",
    ]
    static let columnList = columns.joined(separator: ", ")
    static let insert = """
        INSERT INTO sites (\(columnList)) VALUES (\(placeholders(columns.count)))
        ON CONFLICT (id) DO NOTHING
        """
    /// `id` is `?1`; every other column is set from its own parameter.
    static let update = "UPDATE sites SET "
        + columns.enumerated().dropFirst().map { "\($1) = ?\($0 + 1)" }.joined(separator: ", ")
        + " WHERE id = ?1"

    /// In the order of `columns`.
    static func values(of site: Site) throws(StoreError) -> [SQLiteValue] {
        [
            .text(site.id), .text(site.opHost), .text(site.clientID), .text(site.clientSecret?.revealed),
            .date(site.clientSecretExpiresAt), .text(site.registrationAccessToken?.revealed),
            .text(site.registrationClientURI), .text(site.redirectURI), .text(site.postLogoutRedirectURI),
            .text(try JSONStrings.encode(site.scopes)), .text(site.clientName),
            .text(try JSONStrings.encode(site.grantTypes)), .text(try JSONStrings.encode(site.responseTypes)),
            .text(site.tokenEndpointAuthMethod), .text(site.idTokenSignedResponseAlg),
            .integer(site.isDynamicallyRegistered ? 1 : 0), .date(site.createdAt), .text(site.providerKind.rawValue),
            .text(site.authorizationEndpoint), .text(site.tokenEndpoint), .text(site.userinfoEndpoint),
            .text(site.signingKey?.revealed), .text(site.signingKeyID), .text(site.signingAlgorithm),
        ]
    }

    /// A row selected with `columnList`.
    static func site(_ row: SQLiteRow) throws(StoreError) -> Site {
        Site(
            id: row.text(0), opHost: row.text(1), clientID: row.text(2),
            clientSecret: row.optionalText(3).map(Secret.init), clientSecretExpiresAt: row.optionalDate(4),
            registrationAccessToken: row.optionalText(5).map(Secret.init), registrationClientURI: row.optionalText(6),
            redirectURI: row.text(7), postLogoutRedirectURI: row.optionalText(8),
            scopes: try JSONStrings.decode(row.text(9), column: "sites.scopes"), clientName: row.optionalText(10),
            grantTypes: try JSONStrings.decode(row.text(11), column: "sites.grant_types"),
            responseTypes: try JSONStrings.decode(row.text(12), column: "sites.response_types"),
            tokenEndpointAuthMethod: row.text(13), idTokenSignedResponseAlg: row.optionalText(14),
            isDynamicallyRegistered: row.int64(15) != 0, createdAt: row.date(16),
            providerKind: try providerKind(row.text(17)), authorizationEndpoint: row.optionalText(18),
            tokenEndpoint: row.optionalText(19), userinfoEndpoint: row.optionalText(20),
            signingKey: row.optionalText(21).map(Secret.init), signingKeyID: row.optionalText(22),
            signingAlgorithm: row.optionalText(23))
    }

    private static func providerKind(_ text: String) throws(StoreError) -> Site.ProviderKind {
        guard let kind = Site.ProviderKind(rawValue: text) else {
            throw StoreError(.schema, "sites.provider_kind holds an unknown value")
        }
        return kind
    }
}

private enum PendingRow {
    static let columns = [
        "state", "site_id", "nonce", "code_verifier", "redirect_uri", "max_age", "acr_values", "created_at",
        "expires_at",
    ]
    static let columnList = columns.joined(separator: ", ")
    static let insert = """
        INSERT INTO pending_authorizations (\(columnList)) VALUES (\(placeholders(columns.count)))
        ON CONFLICT (state) DO NOTHING
        """

    /// In the order of `columns`.
    static func values(of pending: PendingAuthorization) throws(StoreError) -> [SQLiteValue] {
        [
            .text(pending.state.revealed), .text(pending.siteID), .text(pending.nonce.revealed),
            .text(pending.codeVerifier.revealed), .text(pending.redirectURI),
            pending.maxAge.map { .integer(Int64($0)) } ?? .null,
            .text(try pending.acrValues.map(JSONStrings.encode)), .date(pending.createdAt), .date(pending.expiresAt),
        ]
    }

    /// A row selected (or returned) with `columnList`.
    static func pending(_ row: SQLiteRow) throws(StoreError) -> PendingAuthorization {
        PendingAuthorization(
            state: Secret(row.text(0)), siteID: row.text(1), nonce: Secret(row.text(2)),
            codeVerifier: Secret(row.text(3)),
            redirectURI: row.text(4), maxAge: row.isNull(5) ? nil : Int(row.int64(5)),
            acrValues: try row.optionalText(6).map { text throws(StoreError) in
                try JSONStrings.decode(text, column: "pending_authorizations.acr_values")
            },
            createdAt: row.date(7), expiresAt: row.date(8))
    }
}

private enum TokenBindingRow {
    static let columns = ["access_token_hash", "site_id", "subject", "expires_at"]
    static let columnList = columns.joined(separator: ", ")
    /// The same token bound again replaces the earlier binding.
    static let upsert = """
        INSERT INTO token_bindings (\(columnList)) VALUES (\(placeholders(columns.count)))
        ON CONFLICT (access_token_hash) DO UPDATE
        SET site_id = excluded.site_id, subject = excluded.subject, expires_at = excluded.expires_at
        """

    /// In the order of `columns`.
    static func values(of binding: TokenBinding) -> [SQLiteValue] {
        [.text(binding.accessTokenHash), .text(binding.siteID), .text(binding.subject), .date(binding.expiresAt)]
    }

    /// A row selected with `columnList`.
    static func binding(_ row: SQLiteRow) -> TokenBinding {
        TokenBinding(accessTokenHash: row.text(0), siteID: row.text(1), subject: row.text(2), expiresAt: row.date(3))
    }
}

/// `?1, ?2, …, ?count`: numbered, so a statement can use a parameter at any place in the column order.
private func placeholders(_ count: Int) -> String {
    (1...count).map { "?\($0)" }.joined(separator: ", ")
}

/// String arrays are stored as JSON text.
private enum JSONStrings {
    static func encode(_ strings: [String]) throws(StoreError) -> String {
        do {
            return String(decoding: try JSONEncoder().encode(strings), as: UTF8.self)
        } catch {
            throw StoreError(.io, "JSONEncoder: cannot encode a string array")
        }
    }

    static func decode(_ text: String, column: String) throws(StoreError) -> [String] {
        do {
            return try JSONDecoder().decode([String].self, from: Data(text.utf8))
        } catch {
            throw StoreError(.schema, "\(column): not a JSON array of strings")
        }
    }
}
