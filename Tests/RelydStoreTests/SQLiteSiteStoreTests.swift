import Foundation
import RelydBasics
@testable import RelydStore
import Testing

/// What only the SQLite backend promises: durability, private files, a guarded state directory, a versioned schema.
@Suite struct SQLiteSiteStoreTests {
    /// Sites, pending authorizations and token bindings written before `close()` are there after reopening.
    @Test func dataSurvivesCloseAndReopen() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let binding = TokenBinding(accessTokenHash: "h", siteID: "x", subject: "u", expiresAt: epoch.addingTimeInterval(60))
        let first = try SQLiteSiteStore.open(directory: directory.stateDirectory)
        try await first.insertSite(makeSite(id: "x"))
        try await first.insertPendingAuthorization(makePending(state: "s", siteID: "x"))
        try await first.insertTokenBinding(binding)
        await first.close()

        let second = try SQLiteSiteStore.open(directory: directory.stateDirectory)
        #expect(try await second.allSites() == [makeSite(id: "x")])
        let pending = try await second.consumePendingAuthorization(state: "s", siteID: "x", now: epoch)
        #expect(pending == makePending(state: "s", siteID: "x"))
        #expect(try await second.tokenBinding(accessTokenHash: "h", now: epoch) == binding)
        await second.close()
    }

    /// With the busy wait off, a lock another connection holds fails a write at once as busy instead of
    /// sleeping for the busy timeout; the timeout is back in force afterwards.
    @Test func withoutWaitingForLocks_failsBusyAtOnce() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path + "/locks.sqlite3"
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        let holder = try SQLiteConnection(path: path)
        try holder.exec("PRAGMA journal_mode=WAL; CREATE TABLE t (x INTEGER)")
        let writer = try SQLiteConnection(path: path, busyTimeoutMilliseconds: 60_000)
        try holder.exec("BEGIN IMMEDIATE")
        let started = ContinuousClock.now
        #expect(throws: StoreError.self) {
            try writer.withoutWaitingForLocks { () throws(StoreError) in try writer.run("INSERT INTO t VALUES (1)") }
        }
        #expect(writer.lastFailureWasBusy)
        #expect(ContinuousClock.now - started < .seconds(30))  // the busy timeout would have slept 60 s
        try holder.exec("COMMIT")
        #expect(try writer.run("INSERT INTO t VALUES (2)") == 1)
    }

    /// A login's brief step that meets another process's lock waits for it off the caller's thread and lands.
    @Test func briefStep_meetingAnotherProcesssLock_landsOnceItIsReleased() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try SQLiteSiteStore.open(directory: directory.stateDirectory)
        try await store.insertSite(makeSite(id: "x"))
        let other = try SQLiteConnection(path: directory.stateDirectory + "/relyd.sqlite3")
        try other.exec("BEGIN IMMEDIATE")
        let insert = Task { try await store.insertPendingAuthorization(makePending(state: "s", siteID: "x")) }
        try await Task.sleep(for: .milliseconds(300))
        try other.exec("COMMIT")
        try await insert.value
        #expect(try await store.consumePendingAuthorization(state: "s", siteID: "x", now: epoch) != nil)
        await store.close()
    }

    /// The state directory is created 0700 and the database with its -wal and -shm files is 0600.
    @Test func filesArePrivate() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try SQLiteSiteStore.open(directory: directory.stateDirectory)
        try await store.insertSite(makeSite(id: "x"))  // the -wal and -shm files exist while the store is open
        let database = directory.stateDirectory + "/relyd.sqlite3"
        #expect(try mode(of: directory.stateDirectory) == 0o700)
        for path in [database, database + "-wal", database + "-shm"] {
            #expect(try mode(of: path) == 0o600, "\(path)")
        }
        await store.close()
    }

    /// A state directory that group or others can write is refused.
    @Test(arguments: [0o777, 0o770, 0o702] as [mode_t]) func writableDirectoryIsRefused(mode: mode_t) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        #expect(chmod(directory.path, mode) == 0)
        #expect(openError(directory.path) == .unsafePermissions)
    }

    /// A state directory owned by another user is refused (needs root to arrange).
    @Test(.enabled(if: geteuid() == 0)) func foreignOwnedDirectoryIsRefused() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        #expect(chown(directory.path, 65534, 65534) == 0)
        #expect(openError(directory.path) == .unsafePermissions)
    }

    /// An existing database file that group or others can read is refused rather than used.
    @Test func groupReadableDatabaseIsRefused() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let database = directory.path + "/relyd.sqlite3"
        #expect(FileManager.default.createFile(atPath: database, contents: nil, attributes: [.posixPermissions: 0o640]))
        #expect(openError(directory.path) == .unsafePermissions)
    }

    /// Opening records the current schema version, and a database from a newer relyd is refused with `.schema`.
    @Test func schemaVersionIsRecordedAndAFutureOneRefused() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        await (try SQLiteSiteStore.open(directory: directory.path)).close()

        let connection = try SQLiteConnection(path: directory.path + "/relyd.sqlite3")
        #expect(try connection.schemaVersion() == Schema.migrations.count)
        try connection.run("UPDATE schema_version SET version = ?1", [.integer(Int64(Schema.migrations.count + 1))])
        connection.close()

        #expect(openError(directory.path) == .schema)
    }

    /// A database written by the first schema version is migrated in place: its sites survive and read back as
    /// OpenID Connect sites without a key of their own.
    @Test func versionOneDatabaseIsMigrated() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try writeDatabase(atVersion: 1, in: directory.path, rows: """
            INSERT INTO sites VALUES ('old-site', 'https://op.example', 'client', 'secret', NULL, NULL, NULL,
                'https://rp.example/cb', NULL, '["openid"]', NULL, '["authorization_code"]', '["code"]',
                'client_secret_basic', NULL, 1, 0);
            """)

        let store = try SQLiteSiteStore.open(directory: directory.path)
        let site = try #require(try await store.site(id: "old-site"))
        #expect(site.clientSecret?.revealed == "secret")
        #expect(site.providerKind == .openIDConnect)
        #expect(site.signingKey == nil)
        await store.close()
        let reopened = try SQLiteConnection(path: directory.path + "/relyd.sqlite3")
        #expect(try reopened.schemaVersion() == Schema.migrations.count)
        reopened.close()
    }

    /// Version 3 rebuilds pending_authorizations and token_bindings as WITHOUT ROWID tables: the rows of a version 2
    /// database survive, still cascade from their site, and each table keeps its expires_at index alone.
    @Test func versionTwoDatabaseIsMigratedWithItsLoginRows() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let site = makeSite(id: "x")
        let bindings = ["h1", "h2"].map { hash in
            TokenBinding(accessTokenHash: hash, siteID: "x", subject: "u-\(hash)", expiresAt: epoch.addingTimeInterval(60))
        }
        try writeDatabase(atVersion: 2, in: directory.path) { connection in
            try connection.insertSite(try SiteRow.values(of: site))
            try connection.insertSite(try SiteRow.values(of: makeSite(id: "other")))
            for state in ["s1", "s2"] {
                try connection.insertPendingAuthorization(try PendingRow.values(of: makePending(state: state, siteID: "x")))
            }
            try connection.insertPendingAuthorization(try PendingRow.values(of: makePending(state: "o", siteID: "other")))
            try connection.insertTokenBindings(bindings.map(TokenBindingRow.values(of:)))
        }

        let store = try SQLiteSiteStore.open(directory: directory.path)
        #expect(try await store.site(id: "x") == site)
        for state in ["s1", "s2"] {
            #expect(try await store.consumePendingAuthorization(state: state, siteID: "x", now: epoch)
                == makePending(state: state, siteID: "x"))
        }
        for binding in bindings {
            #expect(try await store.tokenBinding(accessTokenHash: binding.accessTokenHash, now: epoch) == binding)
        }
        #expect(try await store.deleteSite(id: "other"))
        #expect(try await store.consumePendingAuthorization(state: "o", siteID: "other", now: epoch) == nil)
        await store.close()

        let connection = try SQLiteConnection(path: directory.path + "/relyd.sqlite3")
        #expect(try connection.schemaVersion() == Schema.migrations.count)
        for table in ["sites", "pending_authorizations", "token_bindings"] {
            let withoutRowID = try connection.query("SELECT wr FROM pragma_table_list(?1)", [.text(table)]) { $0.int64(0) }
            #expect(withoutRowID == [1], "\(table)")
            guard table != "sites" else { continue }
            let indexes = try connection.query("SELECT name FROM pragma_index_list(?1) WHERE origin = 'c'",
                                               [.text(table)]) { $0.text(0) }
            #expect(indexes == [table + "_expires_at"])
            let foreignKeys = try connection.query("SELECT \"table\", \"to\", on_delete FROM pragma_foreign_key_list(?1)",
                                                   [.text(table)]) { [$0.text(0), $0.text(1), $0.text(2)] }
            #expect(foreignKeys == [["sites", "id", "CASCADE"]], "\(table)")
        }
        #expect(try connection.query("PRAGMA integrity_check") { $0.text(0) } == ["ok"])
        connection.close()
    }

    /// Version 4 rebuilds sites as a WITHOUT ROWID table: a version 3 database's sites read back the same, their
    /// login rows still refer to them and go with them, and the schema checks out.
    @Test func versionThreeDatabaseIsMigratedWithItsSites() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var keyed = makeSite(id: "keyed")
        keyed.signingKey = Secret("-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n")
        keyed.signingKeyID = "kid"
        keyed.signingAlgorithm = "RS256"
        let binding = TokenBinding(accessTokenHash: "h", siteID: "keyed", subject: "u", expiresAt: epoch.addingTimeInterval(60))
        try writeDatabase(atVersion: 3, in: directory.path) { connection in
            try connection.insertSite(try SiteRow.values(of: makeSite(id: "x")))
            try connection.insertSite(try SiteRow.values(of: keyed))
            try connection.insertPendingAuthorization(try PendingRow.values(of: makePending(state: "s", siteID: "x")))
            try connection.insertPendingAuthorization(try PendingRow.values(of: makePending(state: "k", siteID: "keyed")))
            try connection.insertTokenBindings([TokenBindingRow.values(of: binding)])
        }

        let store = try SQLiteSiteStore.open(directory: directory.path)
        #expect(try await store.site(id: "x") == makeSite(id: "x"))
        #expect(try await store.site(id: "keyed") == keyed)
        #expect(try await store.consumePendingAuthorization(state: "s", siteID: "x", now: epoch)
            == makePending(state: "s", siteID: "x"))
        #expect(try await store.tokenBinding(accessTokenHash: "h", now: epoch) == binding)
        #expect(try await store.deleteSite(id: "keyed"))
        #expect(try await store.consumePendingAuthorization(state: "k", siteID: "keyed", now: epoch) == nil)
        #expect(try await store.tokenBinding(accessTokenHash: "h", now: epoch) == nil)
        try await store.insertSite(makeSite(id: "new"))
        #expect(try await store.site(id: "new") == makeSite(id: "new"))
        await store.close()

        let connection = try SQLiteConnection(path: directory.path + "/relyd.sqlite3")
        #expect(try connection.schemaVersion() == Schema.migrations.count)
        #expect(try connection.query("SELECT wr FROM pragma_table_list('sites')") { $0.int64(0) } == [1])
        #expect(try connection.query("SELECT count(*) FROM sites") { $0.int64(0) } == [2])
        #expect(try connection.query("PRAGMA integrity_check") { $0.text(0) } == ["ok"])
        #expect(try connection.query("PRAGMA foreign_key_check") { $0.text(0) }.isEmpty)
        connection.close()
    }

    /// Migrations run with foreign keys off, as SQLite's table rebuild requires; a step that would leave a row
    /// pointing at a missing site rolls back, and foreign keys are on again afterwards either way.
    @Test func migrationDropsLoginRowsWhoseSiteIsGone() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try writeDatabase(atVersion: 2, in: directory.path) { connection in
            // A connection has foreign keys off until `configure()`: the row's site never existed.
            try connection.insertTokenBindings([TokenBindingRow.values(of: TokenBinding(
                accessTokenHash: "h", siteID: "missing", subject: "u", expiresAt: epoch))])
        }

        let connection = try SQLiteConnection(path: directory.path + "/relyd.sqlite3")
        try connection.configure()
        try connection.migrate()
        #expect(try connection.schemaVersion() == Schema.migrations.count)
        #expect(try connection.query("SELECT count(*) FROM token_bindings WHERE site_id = 'missing'") { $0.int64(0) }
                == [0])
        #expect(try connection.query("PRAGMA foreign_keys") { $0.int64(0) } == [1])
        connection.close()
    }

    /// Sites are cached after a read (this process is the database's only writer); the store's own updates,
    /// deletions and re-insertions are seen by the next read.
    @Test func siteReadsSeeTheStoresOwnWrites() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try SQLiteSiteStore.open(directory: directory.stateDirectory)
        try await store.insertSite(makeSite(id: "x"))
        #expect(try await store.site(id: "x") == makeSite(id: "x"))

        var renamed = makeSite(id: "x")
        renamed.clientName = "Renamed"
        #expect(try await store.updateSite(renamed))
        #expect(try await store.site(id: "x") == renamed)

        #expect(try await store.deleteSite(id: "x"))
        #expect(try await store.site(id: "x") == nil)

        try await store.insertSite(makeSite(id: "x"))
        #expect(try await store.site(id: "x") == makeSite(id: "x"))
        await store.close()
    }

    /// A statement's text is checked for a second statement while SQLite's pointer into it is still valid: short
    /// texts are passed to C as a temporary copy, and looking at the rest of one after the call read freed memory
    /// (a flaky "more than one statement" under the whole suite).
    @Test func shortStatements_areNotTakenForTwo() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path + "/short.sqlite3"
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        let connection = try SQLiteConnection(path: path)
        for value in 0..<3000 {
            #expect(try connection.query("SELECT \(value)") { $0.int64(0) } == [Int64(value)])
        }
        #expect(try connection.query("SELECT 5 \n\t") { $0.int64(0) } == [5])
        // The statement cache hashes a text's length and last 32 bytes only: texts alike in those stay apart.
        let suffix = " AS a_column_name_long_enough_to_fill_the_hashed_part"
        #expect(try connection.query("SELECT 1" + suffix) { $0.int64(0) } == [1])
        #expect(try connection.query("SELECT 2" + suffix) { $0.int64(0) } == [2])
        #expect(try connection.query("SELECT 1" + suffix) { $0.int64(0) } == [1])
        #expect(throws: StoreError.self) { try connection.query("SELECT 1; SELECT 2") { $0.int64(0) } }
        connection.close()
    }

    /// Login writes run with `synchronous=NORMAL` and every other write with FULL, the documented durability. The
    /// level is switched lazily: it stays NORMAL across reads and further login writes, and is FULL again before any
    /// other write, transaction or script.
    @Test func loginWritesAloneSkipTheFsync() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try StateDirectory.prepare(directory.stateDirectory)
        let path = directory.stateDirectory + "/relyd.sqlite3"
        try StateDirectory.createPrivateFile(path)
        let connection = try SQLiteConnection(path: path)
        try connection.configure()
        try connection.exec("CREATE TABLE t (x INTEGER) STRICT")
        func level() throws(StoreError) -> Int64? { try connection.query("PRAGMA synchronous") { $0.int64(0) }.first }
        // Each write records the level it runs (and commits) with.
        let write = "INSERT INTO t (x) SELECT synchronous FROM pragma_synchronous"
        func lastWritesLevel() throws(StoreError) -> Int64? {
            try connection.query("SELECT x FROM t ORDER BY rowid DESC LIMIT 1") { $0.int64(0) }.first
        }
        func loginWrite() throws(StoreError) {
            _ = try connection.withoutFsync { () throws(StoreError) -> Int in try connection.run(write) }
        }
        #expect(try level() == 2)  // FULL
        for _ in 0..<3 {
            try loginWrite()
            #expect(try lastWritesLevel() == 1)  // NORMAL
            #expect(try level() == 1)  // a read leaves it
            try loginWrite()
            #expect(try lastWritesLevel() == 1)
            try connection.run(write)
            #expect(try lastWritesLevel() == 2)
            try loginWrite()
            _ = try connection.transaction { () throws(StoreError) -> Int in try connection.run(write) }
            #expect(try lastWritesLevel() == 2)
            try loginWrite()
            try connection.exec(write)
            #expect(try lastWritesLevel() == 2)
            try loginWrite()
            _ = try connection.query(write + " RETURNING x") { $0.int64(0) }
            #expect(try lastWritesLevel() == 2)
        }
        connection.close()
    }

    /// Login writes commit without fsync, possibly on the caller's thread, so SQLite's automatic checkpoint (which
    /// would run inside such a commit) is replaced by background ones on a connection and queue of their own (and a
    /// rare catch-up on the store's): the write-ahead log still gets copied into the database file.
    @Test func walIsCheckpointedAfterManyLoginWrites() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try SQLiteSiteStore.open(directory: directory.stateDirectory)
        try await store.insertSite(makeSite(id: "x"))
        let database = directory.stateDirectory + "/relyd.sqlite3"
        let before = try size(of: database)
        // Each insert writes at least two pages (the row's and its expires_at index entry's): over 4000 WAL frames.
        for index in 0..<2500 {
            try await store.insertPendingAuthorization(makePending(state: "state-\(index)", siteID: "x"))
            // A login write may complete without suspending; let the other tests' tasks have the pool now and then.
            if index % 50 == 0 { await Task.yield() }
        }
        // The checkpoint runs beside the writes, so its end is waited for by watching the file grow.
        let deadline = ContinuousClock.now + .seconds(30)
        while try size(of: database) < before + 16 * 4096, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(try size(of: database) >= before + 16 * 4096)
        await store.close()
    }

    /// A checkpoint fsyncs the log and the database file, milliseconds on a busy disk. Login steps and site writes
    /// go on while one runs instead of waiting behind it: here the checkpoint is held until the writes have landed.
    @Test func writesGoOnWhileACheckpointRuns() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let checkpointStarted = DispatchSemaphore(value: 0)
        let checkpointMayGoOn = DispatchSemaphore(value: 0)
        let isFirstCheckpoint = Locked(true)
        let store = try SQLiteSiteStore.open(directory: directory.stateDirectory) { checkpointer throws(StoreError) in
            // Only the first is held: the writes below queue another.
            if isFirstCheckpoint.withLock({ first in defer { first = false }; return first }) {
                checkpointStarted.signal()
                checkpointMayGoOn.wait()
            }
            return try checkpointer.checkpoint()
        }
        // Released on every way out, so that a failed step below cannot leave the checkpoint's thread blocked.
        defer { checkpointMayGoOn.signal() }
        try await store.insertSite(makeSite(id: "x"))
        var index = 0
        while checkpointStarted.wait(timeout: .now()) == .timedOut {
            #expect(index < 10_000, "no checkpoint started")
            guard index < 10_000 else { break }
            try await store.insertPendingAuthorization(makePending(state: "before-\(index)", siteID: "x"))
            index += 1
            if index % 50 == 0 { await Task.yield() }
        }

        let landed = Locked(false)
        let writes = Task {
            for index in 0..<20 {
                try await store.insertPendingAuthorization(makePending(state: "during-\(index)", siteID: "x"))
            }
            let consumed = try await store.consumePendingAuthorization(state: "during-0", siteID: "x", now: epoch)
            try await store.insertSite(makeSite(id: "y"))
            landed.withLock { $0 = consumed != nil }
        }
        let deadline = ContinuousClock.now + .seconds(10)
        while !landed.withLock({ $0 }), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(landed.withLock { $0 }, "the writes waited for the checkpoint")
        checkpointMayGoOn.signal()
        try await writes.value
        #expect(try await store.site(id: "y") != nil)
        await store.close()
    }

    /// A commit that lands while a background checkpoint runs leaves frames behind it, and the log starts over only
    /// at a write that finds every frame copied. Under a steady stream of login writes the log must still start over
    /// (it would grow without bound), and checkpoints must stay one per threshold's worth of frames (not one per
    /// commit, two fsyncs each).
    @Test func logStartsOverUnderSteadyLoginWrites() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let backgroundCheckpoints = Locked(0)
        let store = try SQLiteSiteStore.open(directory: directory.stateDirectory) { checkpointer throws(StoreError) in
            backgroundCheckpoints.withLock { $0 += 1 }
            return try checkpointer.checkpoint()
        }
        try await store.insertSite(makeSite(id: "x"))
        // At least two frames each (the row's page and its expires_at index entry's): over 8,000 frames in all.
        for index in 0..<4000 {
            try await store.insertPendingAuthorization(makePending(state: "steady-\(index)", siteID: "x"))
            if index % 50 == 0 { await Task.yield() }
        }
        // The log file keeps the length of the longest log. A catch-up checkpoint is due at 4,000 frames at the
        // latest (of a 4 KB page and a 24-byte header each); the writes queued behind it may add some.
        #expect(try size(of: directory.stateDirectory + "/relyd.sqlite3-wal") <= 6000 * (4096 + 24) + 32)
        #expect(backgroundCheckpoints.withLock { $0 } <= 40)
        await store.close()
    }

    /// Login steps run on the caller's thread when the connection is free and queue when it is not (here, behind
    /// site writes and each other): whichever way each one went, every write is there afterwards.
    @Test func concurrentLoginAndSiteWritesAllLand() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try SQLiteSiteStore.open(directory: directory.stateDirectory)
        try await store.insertSite(makeSite(id: "x"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<8 {
                group.addTask {
                    for index in 0..<40 {
                        try await store.insertPendingAuthorization(
                            makePending(state: "s-\(task)-\(index)", siteID: "x"))
                        if index % 10 == 0 { try await store.insertSite(makeSite(id: "site-\(task)-\(index)")) }
                    }
                }
            }
            try await group.waitForAll()
        }
        for task in 0..<8 {
            for index in 0..<40 {
                let consumed = try await store.consumePendingAuthorization(
                    state: "s-\(task)-\(index)", siteID: "x", now: epoch)
                #expect(consumed != nil)
            }
        }
        #expect(try await store.allSites().count == 1 + 8 * 4)
        await store.close()
    }

    /// Every site whose `insertSite` returned is present after the writing process is killed with SIGKILL mid-stream,
    /// and the database passes `PRAGMA integrity_check`.
    @Test func committedSitesSurviveSIGKILL() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.stateDirectory
        let result = try await #require(processExitsWith: .signal(SIGKILL), observing: [\.standardOutputContent]) {
            [path = path as String] in
            let store = try SQLiteSiteStore.open(directory: path)
            // The kill lands at an arbitrary point: inside a commit's fsync as likely as between inserts.
            Thread.detachNewThread {
                Thread.sleep(forTimeInterval: 0.5)
                kill(getpid(), SIGKILL)
            }
            for index in 0... {
                let site = makeSite(id: "site-\(index)")
                try await store.insertSite(site)
                FileHandle.standardOutput.write(Data("\(site.id)\n".utf8))
            }
        }
        let printed = String(decoding: result.standardOutputContent, as: UTF8.self).split(separator: "\n").map(String.init)
        #expect(printed.count > 10, "the writer committed too little before the kill to prove anything")

        let store = try SQLiteSiteStore.open(directory: path)
        let stored = Set(try await store.allSites().map(\.id))
        await store.close()
        #expect(Set(printed).isSubset(of: stored))
        #expect(stored.count <= printed.count + 1, "at most the insert in flight may be extra")

        let connection = try SQLiteConnection(path: path + "/relyd.sqlite3")
        #expect(try connection.query("PRAGMA integrity_check") { $0.text(0) } == ["ok"])
        connection.close()
    }
}

/// Makes `directory/relyd.sqlite3` a database as relyd at schema `version` left it: its first `version` migrations,
/// then `rows` written with that schema.
private func writeDatabase(atVersion version: Int, in directory: String,
                           rows: (SQLiteConnection) throws -> Void) throws {
    let path = directory + "/relyd.sqlite3"
    #expect(FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]))
    let connection = try SQLiteConnection(path: path)
    defer { connection.close() }
    try connection.exec("PRAGMA journal_mode=WAL")
    for migration in Schema.migrations.prefix(version) { try connection.exec(migration) }
    try connection.exec("""
        CREATE TABLE schema_version (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL) STRICT;
        INSERT INTO schema_version VALUES (1, \(version));
        """)
    try rows(connection)
}

/// `writeDatabase(atVersion:in:rows:)` with rows written as SQL.
private func writeDatabase(atVersion version: Int, in directory: String, rows: String) throws {
    try writeDatabase(atVersion: version, in: directory) { connection in try connection.exec(rows) }
}

/// The permission bits of `path`.
private func mode(of path: String) throws -> mode_t {
    var info = stat()
    guard stat(path, &info) == 0 else { throw StoreError(.io, "stat failed") }
    return info.st_mode & 0o7777
}

/// The size of the file at `path`, in bytes.
private func size(of path: String) throws -> Int {
    var info = stat()
    guard stat(path, &info) == 0 else { throw StoreError(.io, "stat failed") }
    return Int(info.st_size)
}

/// The kind of error opening a store in `directory` throws, or nil when it opens (the store then closes on release).
private func openError(_ directory: String) -> StoreError.Kind? {
    do {
        _ = try SQLiteSiteStore.open(directory: directory)
        return nil
    } catch {
        return error.kind
    }
}
