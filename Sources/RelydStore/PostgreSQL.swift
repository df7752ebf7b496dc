import CPostgres
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// A row of a query result in libpq's text format. Valid only inside the closure it is passed to.
struct PostgreSQLRow: SQLRow {
    fileprivate let result: OpaquePointer
    fileprivate let row: Int32

    func isNull(_ column: Int32) -> Bool { PQgetisnull(result, row, column) == 1 }

    func int64(_ column: Int32) -> Int64 { Int64(text(column)) ?? 0 }

    func double(_ column: Int32) -> Double { Double(text(column)) ?? 0 }

    func text(_ column: Int32) -> String {
        guard let value = PQgetvalue(result, row, column) else { return "" }
        return String(cString: value)
    }
}

/// The only code in relyd that calls libpq (`PQ*`): one connection to a PostgreSQL server, statements with text
/// parameters (each prepared once per session), and errors turned into ``StoreError``s that name the libpq function,
/// the SQLSTATE and the server's message (never a bound value, never the connection URL, which may carry a password).
///
/// Errors that mean the server is gone (the connection broke, or the SQLSTATE is a connection exception or an
/// operator shutdown) are `.unavailable`, and ``isBroken`` tells the owner to drop this connection and open a new
/// one. Not thread-safe: the owner confines it to one serial queue.
final class PostgreSQLConnection: SQLConnection {
    private var connection: OpaquePointer?
    /// The statements prepared on this session, by their SQL as callers write it, with their names.
    private var preparedStatements: [String: String] = [:]
    /// relyd's statements are a fixed set of a few dozen; past this many, a statement runs unprepared rather than
    /// growing the server session's memory without bound.
    private static let maximumPreparedStatements = 64
    /// The SQLSTATE of the last statement that failed, for the few the connection handles itself.
    private var lastFailureSQLState: String?

    /// Connects to `url` (a libpq connection URI or `key=value` string). relyd's defaults come first, so the URL's
    /// own parameters win. They bound how long a vanished server can hold the store's queue: a connect gives up
    /// after five seconds, and TCP keepalives and a 15-second user timeout end a connection whose host stopped
    /// answering (a failover without a reset), where the kernel alone would wait many minutes.
    init(url: String) throws(StoreError) {
        // libpq's own message for a malformed URL quotes it, password included: refuse it with a fixed one.
        guard Self.isWellFormedURL(url) else { throw StoreError(.io, "PQconninfoParse: the URL is malformed") }
        let defaults = [
            ("connect_timeout", "5"), ("application_name", "relyd"), ("keepalives_idle", "10"),
            ("keepalives_interval", "5"), ("keepalives_count", "3"), ("tcp_user_timeout", "15000"),
        ]
        let keywords = defaults.map(\.0) + ["dbname"]
        let values = defaults.map(\.1) + [url]
        let handle = withCStrings(keywords) { keywordPointers in
            // Both arrays end with a null pointer: libpq reads up to it.
            withCStrings(values) { valuePointers in
                PQconnectdbParams(keywordPointers + [nil], valuePointers + [nil], 1)
            }
        }
        guard let handle else { throw StoreError(.unavailable, "PQconnectdbParams: out of memory") }
        guard PQstatus(handle) == CONNECTION_OK else {
            let message = Self.message(PQerrorMessage(handle))
            PQfinish(handle)
            throw StoreError(.unavailable, "PQconnectdbParams: \(message)")
        }
        // Terse errors: at the default verbosity a constraint violation's DETAIL quotes the failing row, secrets
        // included, and a store error's text reaches the log.
        PQsetErrorVerbosity(handle, PQERRORS_TERSE)
        connection = handle
    }

    deinit { close() }

    /// Whether libpq can parse `url` as a connection URI or `key=value` string. Its parse error is not kept: it
    /// quotes the text, which may hold a password.
    static func isWellFormedURL(_ url: String) -> Bool {
        var error: UnsafeMutablePointer<CChar>?
        let options = PQconninfoParse(url, &error)
        defer {
            PQconninfoFree(options)
            if let error { PQfreemem(error) }
        }
        return options != nil
    }

    /// True when the server connection is lost; every later statement would fail, so the owner reconnects.
    var isBroken: Bool { connection.map { PQstatus($0) != CONNECTION_OK } ?? true }

    /// Closes the connection; later calls throw `.io`. Closing twice does nothing.
    func close() {
        if let connection { PQfinish(connection) }
        connection = nil
    }

    /// Runs one or more SQL statements without parameters or results (schema scripts).
    func exec(_ sql: String) throws(StoreError) {
        let handle = try openHandle()
        try withResult(PQexec(handle, sql), "PQexec") { _ throws(StoreError) in }
    }

    func query<T>(_ sql: String, _ bindings: [SQLValue], _ map: (PostgreSQLRow) throws(StoreError) -> T)
        throws(StoreError) -> [T]
    {
        try execute(sql, bindings) { result throws(StoreError) in
            var rows: [T] = []
            for row in 0..<PQntuples(result) {
                rows.append(try map(PostgreSQLRow(result: result, row: row)))
            }
            return rows
        }
    }

    @discardableResult
    func run(_ sql: String, _ bindings: [SQLValue]) throws(StoreError) -> Int {
        try execute(sql, bindings) { result in PQcmdTuples(result).flatMap { Int(String(cString: $0)) } ?? 0 }
    }

    func transaction<T>(_ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        try exec("BEGIN")
        do {
            let result = try body()
            try exec("COMMIT")
            return result
        } catch {
            // On a broken connection the server has rolled back already; then this ROLLBACK fails harmlessly.
            _ = try? exec("ROLLBACK")
            throw error
        }
    }

    /// Runs one statement with text-format parameters and hands the successful result to `body`.
    ///
    /// The SQL is written with SQLite's `?N` parameters (see `SQL.swift`); PostgreSQL numbers them `$N`. Each
    /// statement is prepared once per session and then only bound and executed: parsing and planning a 24-column
    /// INSERT cost the server more than executing it, and made a write twice as slow as psql's.
    private func execute<T>(_ sql: String, _ bindings: [SQLValue], _ body: (OpaquePointer) throws(StoreError) -> T)
        throws(StoreError) -> T
    {
        let handle = try openHandle()
        let texts = try bindings.map { value throws(StoreError) in try Self.parameterText(value) }
        return try withOptionalCStrings(texts) { parameters throws(StoreError) -> T in
            let count = Int32(parameters.count)
            func run(_ name: String?) throws(StoreError) -> T {
                guard let name else {
                    return try withResult(PQexecParams(handle, Self.numberedParameters(sql), count, nil, parameters,
                                                       nil, nil, 0), "PQexecParams", body)
                }
                return try withResult(PQexecPrepared(handle, name, count, parameters, nil, nil, 0), "PQexecPrepared",
                                      body)
            }
            do throws(StoreError) {
                return try run(try preparedStatement(sql, parameterCount: parameters.count))
            } catch where lastFailureSQLState == "26000" && PQtransactionStatus(handle) == PQTRANS_IDLE {
                // The session lost its prepared statements (DISCARD ALL, or a pooler gave relyd another server
                // session). Nothing ran and no transaction is open, so preparing again and retrying is safe.
                preparedStatements[sql] = nil
                return try run(try preparedStatement(sql, parameterCount: parameters.count))
            }
        }
    }

    /// The name `sql` is prepared under in this session, preparing it first if needed; nil once the session holds
    /// ``maximumPreparedStatements``, or inside a transaction block (where a failed prepare, even the harmless
    /// 42P05 below, would abort the transaction; relyd's transactions are rare: migrations and the minutely purge).
    ///
    /// The name is derived from the text alone, so that the same name always means the same statement: where a
    /// pooler shares one server session between relyd instances, an instance that finds its name already prepared
    /// (42P05) finds exactly its own statement, and one instance can never execute another's under its name.
    private func preparedStatement(_ sql: String, parameterCount: Int) throws(StoreError) -> String? {
        if let name = preparedStatements[sql] { return name }
        let handle = try openHandle()
        guard preparedStatements.count < Self.maximumPreparedStatements, PQtransactionStatus(handle) == PQTRANS_IDLE
        else { return nil }
        let name = Self.statementName(sql)
        do throws(StoreError) {
            try withResult(PQprepare(handle, name, Self.numberedParameters(sql), Int32(parameterCount), nil),
                           "PQprepare") { _ throws(StoreError) in }
        } catch where lastFailureSQLState == "42P05" {
            // Already prepared under this name in this server session, hence with this very text.
        }
        preparedStatements[sql] = name
        return name
    }

    /// `relyd_` and the FNV-1a hash of `sql` in hex: stable across processes and versions, for the same text only.
    static func statementName(_ sql: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in sql.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        return "relyd_" + String(hash, radix: 16)
    }

    /// `sql` with SQLite's `?N` parameters written as PostgreSQL's `$N`; a `?` not followed by a digit is left alone.
    static func numberedParameters(_ sql: String) -> String {
        var utf8 = Array(sql.utf8)
        for index in utf8.indices.dropLast() where utf8[index] == UInt8(ascii: "?")
            && (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(utf8[index + 1]) {
            utf8[index] = UInt8(ascii: "$")
        }
        return String(decoding: utf8, as: UTF8.self)
    }

    /// Checks `result`, runs `body` on it when it succeeded, and always frees it.
    private func withResult<T>(_ result: OpaquePointer?, _ function: String,
                               _ body: (OpaquePointer) throws(StoreError) -> T) throws(StoreError) -> T {
        lastFailureSQLState = nil  // so that an error `body` throws is never taken for the server's
        guard let result else { throw failure(function, sqlState: nil, message: errorMessage()) }
        defer { PQclear(result) }
        let status = PQresultStatus(result)
        guard status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK else {
            let sqlState = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
            throw failure(function, sqlState: sqlState, message: Self.message(PQresultErrorMessage(result)))
        }
        return try body(result)
    }

    /// `.unavailable` when the server is gone (class 08 connection exception, 57P01-57P03 shutting down or not yet
    /// accepting, or a connection libpq reports as broken); `.io` for anything else.
    private func failure(_ function: String, sqlState: String?, message: String) -> StoreError {
        lastFailureSQLState = sqlState
        let serverGone = isBroken || sqlState.map { $0.hasPrefix("08") || ["57P01", "57P02", "57P03"].contains($0) }
            ?? false
        return StoreError(serverGone ? .unavailable : .io, "\(function): \(sqlState ?? "-") \(message)")
    }

    private func openHandle() throws(StoreError) -> OpaquePointer {
        guard let connection else { throw StoreError(.io, "libpq: the connection is closed") }
        return connection
    }

    private func errorMessage() -> String { connection.map { Self.message(PQerrorMessage($0)) } ?? "closed" }

    /// libpq's messages end with a newline and may span lines; the log wants one line.
    private static func message(_ text: UnsafePointer<CChar>?) -> String {
        guard let text else { return "" }
        return String(cString: text).split(whereSeparator: \.isNewline).joined(separator: " ")
    }

    /// A parameter in PostgreSQL's text input format; nil is SQL NULL.
    ///
    /// Doubles print as Swift's shortest round-tripping form and PostgreSQL (12 and later) prints float8 the same
    /// way, so a date reads back equal. PostgreSQL's text type cannot hold NUL, so such a value is refused here
    /// rather than silently truncated.
    private static func parameterText(_ value: SQLValue) throws(StoreError) -> String? {
        switch value {
        case .null: return nil
        case .integer(let number): return String(number)
        case .real(let number): return String(number)
        case .text(let string):
            guard !string.utf8.contains(0) else { throw StoreError(.io, "PostgreSQL text cannot hold NUL") }
            return string
        }
    }
}

/// Runs `body` with NUL-terminated copies of `strings` that live for the call.
private func withCStrings<R>(_ strings: [String], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
    withOptionalCStrings(strings.map(Optional.some), body)
}

/// Runs `body` with NUL-terminated copies of `strings` (nil stays a null pointer) that live for the call.
private func withOptionalCStrings<R, Failure>(
    _ strings: [String?], _ body: ([UnsafePointer<CChar>?]) throws(Failure) -> R
) throws(Failure) -> R {
    let copies = strings.map { $0.flatMap { strdup($0) } }
    defer { copies.forEach { free($0) } }
    return try body(copies.map { $0.map { UnsafePointer($0) } })
}
