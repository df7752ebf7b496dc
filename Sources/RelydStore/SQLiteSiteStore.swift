import Dispatch
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import RelydBasics

/// The daemon's durable ``SiteStore``: one SQLite database in WAL mode. Every mutation whose call returned survives
/// a crash of the daemon (`kill -9`); site changes are also fsynced before they return (`synchronous=FULL`), so
/// they survive a power loss. Logins in flight are written with `synchronous=NORMAL`: no fsync of their own, the
/// next site change or checkpoint syncs them (see ``SQLConnection/withoutFsync(_:)``).
public final class SQLiteSiteStore: SQLSiteStore, @unchecked Sendable {
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
        try open(directory: directory, fileName: fileName) { checkpointer throws(StoreError) in
            try checkpointer.checkpoint()
        }
    }

    /// ``open(directory:fileName:)`` with the background checkpoint step given (it returns the frames now copied),
    /// so that a test can make it slow.
    static func open(directory: String, fileName: String = "relyd.sqlite3",
                     checkpoint: @escaping @Sendable (SQLiteConnection) throws(StoreError) -> Int) throws(StoreError)
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
        let checkpointer = try SQLiteConnection(path: path)
        try checkpointer.configure()
        let provider = try OneSQLiteConnection(connection: connection, checkpointer: checkpointer,
                                               checkpoint: checkpoint)
        return SQLiteSiteStore(provider: provider, cachesSites: true)
    }
}

/// One connection for the store's life, used by one thread at a time.
///
/// Work that may block (site writes fsync, whole-table reads and purges can be long) runs on a private serial
/// queue, never on the Swift cooperative pool. A brief step of a login (one row read or written without fsync) runs
/// on the caller's thread when the connection is free: two thread hand-offs cost it more than its own work. When
/// the connection is busy, or queued work is waiting for it (so a stream of brief steps cannot starve a site
/// write), it queues like the rest rather than wait on a pool thread.
///
/// Checkpoints (see ``SQLiteConnection/onCommit(_:)``) run in the background, on a second connection with a queue
/// of its own: in WAL mode SQLite lets one connection write while another checkpoints. (A rare catch-up checkpoint
/// runs on the store's connection; see ``committed(walFrames:)``.) A checkpoint fsyncs the log and the database
/// file, milliseconds on a busy disk. Done on the store's connection, it held up every store step that came
/// meanwhile: in the benchmark's logins, the p99 added latency was 4.2–5.2 ms, and is 1.8–1.9 ms this way (with
/// the occasional catch-up checkpoint of ``committed(walFrames:)``). The second connection adds under 0.1 MB to an
/// idle daemon (heap and SQLite's pages, from /proc/PID/smaps).
///
/// Sendability (`@unchecked`): `connection` is touched only while holding `lock`, `checkpointer` only on
/// `checkpointQueue`; `open` uses both before the store is shared.
private final class OneSQLiteConnection: SQLConnectionProvider, @unchecked Sendable {
    /// WAL frames (pages of 4 KB) not yet copied into the database file that start a background checkpoint:
    /// SQLite's own automatic threshold (`SQLITE_DEFAULT_WAL_AUTOCHECKPOINT`).
    static let checkpointFrames = 1000

    private let queue = DispatchQueue(label: "relyd.store.sqlite")
    private let lock = ThreadLock()
    /// Guarded by `lock`.
    private let connection: SQLiteConnection
    /// How many of the queue's blocks are waiting for `lock` (at most one: the queue is serial).
    private let queueWaiting = Locked(0)
    private let checkpointQueue = DispatchQueue(label: "relyd.store.sqlite.checkpoint")
    /// Used only on `checkpointQueue`.
    private let checkpointer: SQLiteConnection
    private let checkpoint: @Sendable (SQLiteConnection) throws(StoreError) -> Int
    private let checkpoints = Locked(CheckpointState())

    /// What the commits know of the checkpoints, to decide when to ask for one.
    private struct CheckpointState {
        /// A background checkpoint is queued and has not started, so commits need not queue another.
        var backgroundQueued = false
        /// A background checkpoint is running: a catch-up now would find SQLite's checkpoint lock taken.
        var backgroundRunning = false
        /// A catch-up checkpoint is queued on the store's queue (see ``committed(walFrames:)``).
        var catchUpQueued = false
        /// Frames of the current log that are in the database file, as the last checkpoint reported.
        var copiedFrames = 0
    }

    init(connection: SQLiteConnection, checkpointer: SQLiteConnection,
         checkpoint: @escaping @Sendable (SQLiteConnection) throws(StoreError) -> Int) throws(StoreError)
    {
        self.connection = connection
        self.checkpointer = checkpointer
        self.checkpoint = checkpoint
        try connection.onCommit { [weak self] frames in self?.committed(walFrames: frames) }
    }

    func perform<T: Sendable>(_ work: @escaping @Sendable (any SQLConnection) throws(StoreError) -> T)
        async throws(StoreError) -> T
    {
        try await queue.perform { () throws(StoreError) -> T in try self.withConnection(work) }
    }

    func performBrief<T: Sendable>(_ work: @escaping @Sendable (any SQLConnection) throws(StoreError) -> T)
        async throws(StoreError) -> T
    {
        if let result = runIfIdle(work) { return try result.get() }
        return try await perform(work)
    }

    /// The store's connection first, so that no commit queues a checkpoint after the checkpointer closed.
    func close() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            queue.async {
                self.lockFromQueue()
                self.connection.close()
                self.lock.unlock()
                continuation.resume()
            }
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            checkpointQueue.async {
                self.checkpointer.close()
                continuation.resume()
            }
        }
    }

    /// `work`'s outcome, or nil when another thread holds the connection or the queue waits for it (not run), or
    /// when another process holds the database's lock (run, failed busy, changed nothing).
    private func runIfIdle<T>(_ work: (any SQLConnection) throws(StoreError) -> T) -> Result<T, StoreError>? {
        guard queueWaiting.withLock({ $0 == 0 }), lock.try() else { return nil }
        defer { lock.unlock() }
        let outcome = Result { () throws(StoreError) -> T in
            try connection.withoutWaitingForLocks { () throws(StoreError) -> T in try work(connection) }
        }
        // Another process holds the database's lock: wait for it on the queue, never on the caller's thread. A
        // brief step is one statement, so a busy one changed nothing and runs again there.
        if case .failure = outcome, connection.lastFailureWasBusy { return nil }
        return outcome
    }

    /// Runs `work` on the queue's thread.
    private func withConnection<T>(_ work: (any SQLConnection) throws(StoreError) -> T) throws(StoreError) -> T {
        lockFromQueue()
        defer { lock.unlock() }
        return try work(connection)
    }

    /// Takes `lock` on the queue's thread, ahead of brief steps that would run inline (see ``runIfIdle(_:)``).
    private func lockFromQueue() {
        queueWaiting.withLock { $0 += 1 }
        lock.lock()
        queueWaiting.withLock { $0 -= 1 }
    }

    /// Runs inside a commit, so with `lock` held; queues checkpoints without waiting for them.
    ///
    /// The log starts over only at a write that finds every frame copied, and a commit that lands while a background
    /// checkpoint runs leaves frames behind it. Under a steady stream of logins the log would then never start over:
    /// it grows, and each commit past the threshold would queue another checkpoint of a frame or two, two fsyncs
    /// each (a reviewer's C reproduction: 10,000 checkpoints in 6 s and a log of 300 MB without pauses between
    /// writes). So a background checkpoint is queued only when the frames not yet copied reach the threshold, and
    /// once the log is twice that long with the background caught up (four times in any case), one checkpoint runs
    /// on the store's queue, where no commit can land during it: it copies the frames left, and the next write
    /// starts the log over (unless another process still reads an older snapshot, as with SQLite's own automatic
    /// checkpoint). That one holds up store steps for its fsyncs, once per some thousands of frames instead of
    /// every thousand.
    private func committed(walFrames: Int) {
        enum Next { case nothing, background, catchUp }
        let next = checkpoints.withLock { state -> Next in
            // The log started over since the last checkpoint reported.
            if walFrames < state.copiedFrames { state.copiedFrames = 0 }
            let uncopied = walFrames - state.copiedFrames
            if uncopied >= Self.checkpointFrames, !state.backgroundQueued {
                state.backgroundQueued = true
                return .background
            }
            // Twice the threshold with the background caught up; four times in any case, so that a background
            // that cannot keep up with the writes does not let the log grow without bound.
            let caughtUp = uncopied < Self.checkpointFrames && !state.backgroundQueued && !state.backgroundRunning
            if walFrames >= (caughtUp ? 2 : 4) * Self.checkpointFrames, !state.catchUpQueued {
                state.catchUpQueued = true
                return .catchUp
            }
            return .nothing
        }
        switch next {
        case .nothing:
            break
        case .background:
            checkpointQueue.async { [self] in
                // No longer queued: a commit during this checkpoint may need the next one.
                checkpoints.withLock { state in
                    state.backgroundQueued = false
                    state.backgroundRunning = true
                }
                // As with SQLite's automatic checkpoint, a failed one is retried after a later commit.
                let copied = try? checkpoint(checkpointer)
                checkpoints.withLock { state in
                    state.backgroundRunning = false
                    if let copied { state.copiedFrames = copied }
                }
            }
        case .catchUp:
            queue.async { [self] in
                lockFromQueue()
                defer { lock.unlock() }
                let copied = try? connection.checkpoint()
                checkpoints.withLock { state in
                    state.catchUpQueued = false
                    if let copied { state.copiedFrames = copied }
                }
            }
        }
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
    ///
    /// Foreign keys are off while they run, as SQLite's procedure for changing a table's definition requires
    /// (https://www.sqlite.org/lang_altertable.html#otheralter): a table is rebuilt by copying it into a new one,
    /// dropping the old and renaming the new, and with foreign keys on, dropping a parent table would delete its
    /// children through ON DELETE CASCADE. The pragma has no effect inside a transaction, so it is switched around
    /// them; before each commit, `PRAGMA foreign_key_check` must find no dangling reference, or the step rolls back.
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
        guard current < Schema.migrations.count else { return }
        try exec("PRAGMA foreign_keys=OFF")
        let outcome = Result { () throws(StoreError) in
            for version in current..<Schema.migrations.count {
                try transaction { () throws(StoreError) in
                    try exec(Schema.migrations[version])
                    guard try query("PRAGMA foreign_key_check", [], { _ in () }).isEmpty else {
                        throw StoreError(.schema, "migration \(version + 1): a row refers to a missing parent")
                    }
                    try run("""
                        INSERT INTO schema_version (id, version) VALUES (1, ?1)
                        ON CONFLICT (id) DO UPDATE SET version = excluded.version
                        """, [.integer(Int64(version + 1))])
                }
            }
        }
        // The migration's own error, if any, is the one to report; the pragma's only if the migration succeeded.
        let restored = Result { () throws(StoreError) in try exec("PRAGMA foreign_keys=ON") }
        try outcome.get()
        try restored.get()
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
        // 2 → 3: a login's three writes (pending authorization inserted, then consumed; token bindings upserted)
        // are commits without fsync, whose cost is the pages they write: one per B-tree the row touches. Both
        // tables become WITHOUT ROWID, the row stored in its primary key's B-tree instead of a rowid table plus a
        // separate index on the key, and lose their site_id index. Only a site's removal (a rare admin command)
        // looks rows up by site, and its ON DELETE CASCADE now scans both tables; every login statement finds
        // its row by the primary key. The expires_at indexes stay: the purge, once a minute, must not scan a large
        // table while it holds the write lock. Each table is rebuilt as SQLite's procedure for changing a table
        // says (copy, drop, rename, indexes again; see ``SQLiteConnection/migrate()``), columns and constraints
        // unchanged. Rows whose site is gone (deleted by hand with foreign keys off, a partial restore) are not
        // copied: they were dead login state already, and the migration's foreign-key check would otherwise stop
        // relyd from starting until someone cleaned them up.
        """
        CREATE TABLE pending_authorizations_new (
            state TEXT PRIMARY KEY NOT NULL,
            site_id TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
            nonce TEXT NOT NULL,
            code_verifier TEXT NOT NULL,
            redirect_uri TEXT NOT NULL,
            max_age INTEGER,
            acr_values TEXT,
            created_at REAL NOT NULL,
            expires_at REAL NOT NULL
        ) STRICT, WITHOUT ROWID;
        INSERT INTO pending_authorizations_new (
            state, site_id, nonce, code_verifier, redirect_uri, max_age, acr_values, created_at, expires_at
        ) SELECT state, site_id, nonce, code_verifier, redirect_uri, max_age, acr_values, created_at, expires_at
        FROM pending_authorizations WHERE site_id IN (SELECT id FROM sites);
        DROP TABLE pending_authorizations;
        ALTER TABLE pending_authorizations_new RENAME TO pending_authorizations;
        CREATE INDEX pending_authorizations_expires_at ON pending_authorizations (expires_at);
        CREATE TABLE token_bindings_new (
            access_token_hash TEXT PRIMARY KEY NOT NULL,
            site_id TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
            subject TEXT NOT NULL,
            expires_at REAL NOT NULL
        ) STRICT, WITHOUT ROWID;
        INSERT INTO token_bindings_new (access_token_hash, site_id, subject, expires_at)
        SELECT access_token_hash, site_id, subject, expires_at FROM token_bindings
        WHERE site_id IN (SELECT id FROM sites);
        DROP TABLE token_bindings;
        ALTER TABLE token_bindings_new RENAME TO token_bindings;
        CREATE INDEX token_bindings_expires_at ON token_bindings (expires_at);
        """,
        // 3 → 4: sites becomes WITHOUT ROWID too. A request whose site is not in the site cache (it holds 1,024)
        // reads the row: by id, that walked the primary key's index and then the rowid table, two leaf pages to read
        // (each a `pread` the first time); the row now sits in its key's B-tree, one leaf. relyd-bench section 4
        // (get_authorization_url, 100,000 against 1,000 sites), three alternating pairs: 1.25x, 1.26x, 1.35x before,
        // 1.15x, 1.19x, 1.23x after. Rebuilt by step 3's procedure, columns, constraints and defaults unchanged; the
        // tables that refer to sites do so by name, so they refer to the new one.
        """
        CREATE TABLE sites_new (
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
            created_at REAL NOT NULL,
            provider_kind TEXT NOT NULL DEFAULT 'oidc',
            authorization_endpoint TEXT,
            token_endpoint TEXT,
            userinfo_endpoint TEXT,
            signing_key TEXT,
            signing_key_id TEXT,
            signing_algorithm TEXT
        ) STRICT, WITHOUT ROWID;
        INSERT INTO sites_new (
            id, op_host, client_id, client_secret, client_secret_expires_at, registration_access_token,
            registration_client_uri, redirect_uri, post_logout_redirect_uri, scopes, client_name, grant_types,
            response_types, token_endpoint_auth_method, id_token_signed_response_alg, is_dynamically_registered,
            created_at, provider_kind, authorization_endpoint, token_endpoint, userinfo_endpoint, signing_key,
            signing_key_id, signing_algorithm
        ) SELECT
            id, op_host, client_id, client_secret, client_secret_expires_at, registration_access_token,
            registration_client_uri, redirect_uri, post_logout_redirect_uri, scopes, client_name, grant_types,
            response_types, token_endpoint_auth_method, id_token_signed_response_alg, is_dynamically_registered,
            created_at, provider_kind, authorization_endpoint, token_endpoint, userinfo_endpoint, signing_key,
            signing_key_id, signing_algorithm
        FROM sites;
        DROP TABLE sites;
        ALTER TABLE sites_new RENAME TO sites;
        """,
    ]
}
