import CSQLite
import RelydBasics
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The current result row of a query. Valid only inside the closure it is passed to.
struct SQLiteRow: SQLRow {
    fileprivate let statement: OpaquePointer

    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(statement, column) == SQLITE_NULL }

    func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(statement, column) }

    func double(_ column: Int32) -> Double { sqlite3_column_double(statement, column) }

    func text(_ column: Int32) -> String {
        guard let bytes = sqlite3_column_text(statement, column) else { return "" }
        let count = Int(sqlite3_column_bytes(statement, column))
        return String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
    }

    func blob(_ column: Int32) -> [UInt8] {
        guard let bytes = sqlite3_column_blob(statement, column) else { return [] }
        let count = Int(sqlite3_column_bytes(statement, column))
        return Array(UnsafeRawBufferPointer(start: bytes, count: count))
    }
}

/// The only code in relyd that calls `sqlite3_*`: one connection, its prepared statements, and errors turned into
/// ``StoreError``s that name the C function and SQLite's message (never a bound value).
///
/// Not thread-safe (opened with `SQLITE_OPEN_NOMUTEX`): the owner confines it to one thread or serial queue.
/// No C pointer leaves this type except inside ``SQLiteRow``, which lives only for one row callback.
final class SQLiteConnection: SQLConnection {
    private var db: OpaquePointer?
    /// Prepared statements by SQL text, prepared once with `SQLITE_PREPARE_PERSISTENT` and reused.
    private var statements: [StatementText: OpaquePointer] = [:]
    /// See ``onCommit(_:)``.
    private var commitHandler: ((Int) -> Void)?
    /// How long a statement waits for a lock another connection holds; see ``withoutWaitingForLocks(_:)``.
    private let busyTimeoutMilliseconds: Int32
    /// Whether the last failure was `SQLITE_BUSY`: another connection (another process) held the lock.
    private(set) var lastFailureWasBusy = false
    /// The connection is at `synchronous=NORMAL`, left there by the last ``withoutFsync(_:)``; see there.
    private var skipsFsync = false
    /// ``withoutFsync(_:)``'s work is running.
    private var inWorkWithoutFsync = false

    /// Opens an existing database file read-write. The file is not created here and a symlink is refused, so that
    /// the caller controls how the file comes into being (its mode, above all).
    init(path: String, busyTimeoutMilliseconds: Int32 = 5000) throws(StoreError) {
        var handle: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_EXRESCODE
        let rc = sqlite3_open_v2(path, &handle, flags, nil)
        guard rc == SQLITE_OK, let handle else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(rc))
            sqlite3_close(handle)
            throw StoreError(.io, "sqlite3_open_v2: \(message) (\(rc))")
        }
        db = handle
        self.busyTimeoutMilliseconds = busyTimeoutMilliseconds
        sqlite3_extended_result_codes(handle, 1)
        sqlite3_busy_timeout(handle, busyTimeoutMilliseconds)
    }

    deinit { close() }

    /// Finalizes every statement and closes the database; later calls throw `.io`. Closing twice does nothing.
    func close() {
        for statement in statements.values { sqlite3_finalize(statement) }
        statements = [:]
        if let db { sqlite3_close(db) }
        db = nil
    }

    /// Runs one or more SQL statements without parameters or results (schema scripts, pragmas that answer nothing).
    func exec(_ sql: String) throws(StoreError) {
        let db = try openHandle()
        try fsyncWrites(of: nil)
        let rc = sqlite3_exec(db, sql, nil, nil, nil)
        guard rc == SQLITE_OK else { throw error("sqlite3_exec", rc) }
    }

    /// Runs one statement and maps every result row.
    func query<T>(_ sql: String, _ bindings: [SQLValue] = [],
                  _ map: (SQLiteRow) throws(StoreError) -> T) throws(StoreError) -> [T] {
        let statement = try prepared(sql)
        defer { sqlite3_reset(statement); sqlite3_clear_bindings(statement) }
        try fsyncWrites(of: statement)
        try bind(bindings, to: statement)
        var rows: [T] = []
        while try step(statement) {
            rows.append(try map(SQLiteRow(statement: statement)))
        }
        return rows
    }

    /// Runs one statement to completion and returns how many rows it inserted, updated or deleted.
    @discardableResult
    func run(_ sql: String, _ bindings: [SQLValue] = []) throws(StoreError) -> Int {
        let statement = try prepared(sql)
        defer { sqlite3_reset(statement); sqlite3_clear_bindings(statement) }
        try fsyncWrites(of: statement)
        try bind(bindings, to: statement)
        while try step(statement) {}
        return Int(sqlite3_changes64(try openHandle()))
    }

    /// Runs `body` with SQLite's busy wait off, so that a lock another process holds (a backup, a `sqlite3` shell)
    /// fails at once with `SQLITE_BUSY` (``lastFailureWasBusy``) instead of sleeping on the caller's thread, which
    /// may be an event loop serving other connections.
    func withoutWaitingForLocks<T>(_ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        let db = try openHandle()
        sqlite3_busy_timeout(db, 0)
        defer { sqlite3_busy_timeout(db, busyTimeoutMilliseconds) }
        lastFailureWasBusy = false
        return try body()
    }

    /// Runs `body` in one write transaction, committed when it returns and rolled back when it throws.
    ///
    /// `BEGIN IMMEDIATE` takes the write lock up front, so a transaction that reads first never fails half-way with
    /// `SQLITE_BUSY` when another connection writes.
    func transaction<T>(_ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        // BEGIN counts as read-only, and the level cannot change once the transaction is open.
        try fsyncWrites(of: nil)
        try run("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try run("COMMIT")
            return result
        } catch {
            // After a failed COMMIT SQLite may already have rolled back; then this ROLLBACK fails harmlessly.
            _ = try? run("ROLLBACK")
            throw error
        }
    }

    /// Calls `handler` after each commit with the number of frames the write-ahead log now holds, on the committing
    /// thread, and stops SQLite's automatic checkpoint: that one runs inside the commit that crosses its threshold,
    /// fsyncs included, so a commit that is not meant to fsync (`synchronous=NORMAL`) would sometimes wait for a
    /// checkpoint. The owner runs ``checkpoint()`` where waiting for it is harmless (``SQLiteSiteStore``: mostly on
    /// a second connection to the same database, so that store steps do not wait for it).
    func onCommit(_ handler: @escaping (Int) -> Void) throws(StoreError) {
        let db = try openHandle()
        commitHandler = handler
        // Replaces the automatic checkpoint, which SQLite implements as a WAL hook too. The context is unretained:
        // the hook is uninstalled with the handle, which this object closes before it goes away.
        sqlite3_wal_hook(db, { context, _, _, frames in
            guard let context else { return SQLITE_OK }
            Unmanaged<SQLiteConnection>.fromOpaque(context).takeUnretainedValue().commitHandler?(Int(frames))
            return SQLITE_OK
        }, Unmanaged.passUnretained(self).toOpaque())
    }

    /// Copies the write-ahead log into the database file as far as no reader still needs it (a PASSIVE
    /// checkpoint: it never waits for other connections), fsyncing both, as SQLite's automatic checkpoint does.
    ///
    /// - Returns: how many frames of the log are now in the database file.
    func checkpoint() throws(StoreError) -> Int {
        let db = try openHandle()
        var copiedFrames: Int32 = 0
        let rc = sqlite3_wal_checkpoint_v2(db, nil, SQLITE_CHECKPOINT_PASSIVE, nil, &copiedFrames)
        guard rc == SQLITE_OK else { throw error("sqlite3_wal_checkpoint_v2", rc) }
        return Int(copiedFrames)
    }

    /// `synchronous=NORMAL` for `work`: in WAL mode, a commit that is safe from a crash of the process but not
    /// fsynced until the next FULL commit or checkpoint.
    ///
    /// The level is switched lazily: the connection stays at NORMAL after `work`, and goes back to FULL just before
    /// the next statement that may write outside such work (a write, a transaction, a script). A run of login
    /// writes then switches nothing, and every other write still commits with an fsync. Each switch is a PRAGMA,
    /// which SQLite parses anew every time it runs, even prepared: two of them for each write of a login showed in
    /// its profile.
    func withoutFsync<T>(_ work: () throws(StoreError) -> T) throws(StoreError) -> T {
        if !skipsFsync {
            try setSynchronous("NORMAL")
            skipsFsync = true
        }
        let outer = inWorkWithoutFsync
        inWorkWithoutFsync = true
        defer { inWorkWithoutFsync = outer }
        return try work()
    }

    /// Back to `synchronous=FULL` before `statement` (nil: any statement) when it may write outside
    /// ``withoutFsync(_:)``'s work.
    private func fsyncWrites(of statement: OpaquePointer?) throws(StoreError) {
        guard skipsFsync, !inWorkWithoutFsync else { return }
        if let statement, sqlite3_stmt_readonly(statement) != 0 { return }
        try setSynchronous("FULL")
        skipsFsync = false
    }

    private func setSynchronous(_ level: StaticString) throws(StoreError) {
        let db = try openHandle()
        let rc = sqlite3_exec(db, "PRAGMA synchronous=\(level)", nil, nil, nil)
        guard rc == SQLITE_OK else { throw error("sqlite3_exec", rc) }
    }

    private func openHandle() throws(StoreError) -> OpaquePointer {
        guard let db else { throw StoreError(.io, "sqlite3: the connection is closed") }
        return db
    }

    private func prepared(_ sql: String) throws(StoreError) -> OpaquePointer {
        if let statement = statements[StatementText(sql)] { return statement }
        let db = try openHandle()
        var statement: OpaquePointer?
        // How many bytes of `sql` SQLite read, taken while its pointer into them is valid: C gets a copy of a short
        // string that lives only for the call, and reading the rest through that pointer afterwards read freed stack
        // memory (a flaky "more than one statement" in the whole suite).
        let (rc, consumed) = sql.withCString { text in
            var tail: UnsafePointer<CChar>?
            let rc = sqlite3_prepare_v3(db, text, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, &tail)
            return (rc, tail.map { text.distance(to: $0) } ?? 0)
        }
        guard rc == SQLITE_OK, let statement else { throw error("sqlite3_prepare_v3", rc) }
        // A second statement in `sql` would be silently ignored; that is a programming error, so refuse it.
        if !sql.utf8.dropFirst(consumed).allSatisfy({ $0 == 0x20 || (0x09...0x0D).contains($0) }) {
            sqlite3_finalize(statement)
            throw StoreError(.io, "sqlite3_prepare_v3: more than one statement")
        }
        statements[StatementText(sql)] = statement
        return statement
    }

    private func bind(_ values: [SQLValue], to statement: OpaquePointer) throws(StoreError) {
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            let rc: Int32
            switch value {
            case .null:
                rc = sqlite3_bind_null(statement, index)
            case .integer(let number):
                rc = sqlite3_bind_int64(statement, index, number)
            case .real(let number):
                rc = sqlite3_bind_double(statement, index, number)
            case .text(let string):
                // The explicit length keeps an embedded NUL from truncating the value.
                rc = string.withCString { pointer in
                    sqlite3_bind_text64(statement, index, pointer, UInt64(string.utf8.count),
                                        relyd_sqlite_transient(), UInt8(SQLITE_UTF8))
                }
            }
            guard rc == SQLITE_OK else { throw error("sqlite3_bind", rc) }
        }
    }

    /// Advances `statement`; true when a row is available, false when it is done.
    private func step(_ statement: OpaquePointer) throws(StoreError) -> Bool {
        switch sqlite3_step(statement) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        case let rc: throw error("sqlite3_step", rc)
        }
    }

    private func error(_ function: String, _ rc: Int32) -> StoreError {
        lastFailureWasBusy = rc & 0xFF == SQLITE_BUSY
        let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(rc))
        return StoreError(.io, "\(function): \(message) (\(rc))")
    }
}

/// A statement's text as the key of the prepared-statement cache, hashed by its length and last 32 bytes: hashing
/// the whole text (a few hundred bytes for a site's SELECT) cost about 3,000 instructions on every statement run.
/// relyd's statements differ in those; equal keys still mean byte-equal texts.
private struct StatementText: Hashable {
    let text: String

    init(_ text: String) {
        self.text = text
    }

    static func == (lhs: StatementText, rhs: StatementText) -> Bool {
        lhs.text.withContiguousUTF8 { left in rhs.text.withContiguousUTF8 { left.hasSameBytes(as: $0) } }
    }

    func hash(into hasher: inout Hasher) {
        text.withContiguousUTF8 { bytes in
            hasher.combine(bytes.count)
            hasher.combine(bytes: UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes.suffix(32))))
        }
    }
}
