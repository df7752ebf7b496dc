import Foundation
import RelydBasics
import RelydStore

/// Section 5: durable writes per second through relyd's store API against the raw engine doing the same inserts.
enum StoreBench {
    /// The store backends the bench can measure; each brings its own raw-engine reference.
    enum StoreKind: String, CaseIterable {
        case sqlite
        case postgresql
    }

    struct Rates {
        var sites: Double
        var pending: Double
    }

    static func run(kinds: [StoreKind], count: Int, report: inout Report) async throws {
        var rows: [[String]] = []
        for kind in kinds {
            progress("store: \(kind.rawValue)")
            let scratch = try ScratchDirectory("store")
            let (store, reference, engine): (Rates, Rates, String) = switch kind {
            case .sqlite: try await sqlite(count: count, scratch: scratch.path)
            case .postgresql: try await postgresql(count: count, scratch: scratch.path)
            }
            rows.append([kind.rawValue, "register_site (sites row)", Format.rate(store.sites), engine,
                         Format.rate(reference.sites), "**\(Format.ratio(store.sites / reference.sites))**"])
            rows.append([kind.rawValue, "pending authorization", Format.rate(store.pending), engine,
                         Format.rate(reference.pending), "**\(Format.ratio(store.pending / reference.pending))**"])
        }
        report.heading("5. Store: durable writes per second")
        report.paragraph("""
            **SQLite.** \(count) sequential inserts of each kind through relyd's store API, in-process, in \
            four rounds alternating with the reference: \
            `SQLiteSiteStore.insertSite` (its own transaction, fsynced: `synchronous=FULL`) and \
            `insertPendingAuthorization` (its own transaction, safe from a crash of the daemon but not fsynced: \
            `synchronous=NORMAL`). Reference: the raw engine replaying exactly the same rows as the same \
            statements (dumped with `.mode insert`), one autocommit transaction each, with the same pragmas (WAL, \
            the same synchronous level per kind, foreign_keys=ON) into a fresh database with relyd's schema; the \
            CLI's start-up time is subtracted.
            """)
        if kinds.contains(.postgresql) {
            report.paragraph("""
                **PostgreSQL.** The same rows, in the same alternating rounds, through `PostgreSQLSiteStore` (one \
                connection over 127.0.0.1) into a \
                throw-away cluster of scripts/start-postgres.sh (which runs it with `fsync=off`, so both sides \
                measure the server's work rather than the disk). Reference: `psql` replaying the same rows as the \
                same INSERT statements (`pg_dump --data-only --inserts`), one autocommit transaction each, into a \
                fresh database with relyd's schema, over the same kind of connection; psql's start-up is subtracted. \
                (psql rather than pgbench: pgbench repeats one parameterised script, and these must be the same rows.)
                """)
        }
        report.table(["store", "write", "relyd writes/s", "reference", "reference writes/s", "relyd / reference"],
                     rows)
    }

    private static func sqlite(count: Int, scratch: String) async throws -> (Rates, Rates, String) {
        let directory = scratch + "/state"
        let store = try SQLiteSiteStore.open(directory: directory)
        defer { Task { await store.close() } }
        let database = directory + "/relyd.sqlite3"
        let raw = scratch + "/raw.sqlite3"
        // The synchronous level relyd's store uses for each kind of row (see SQLiteSiteStore).
        func pragmas(synchronous: String) -> String {
            "PRAGMA journal_mode=WAL;\nPRAGMA synchronous=\(synchronous);\nPRAGMA foreign_keys=ON;\n"
        }
        let schema = try runCommand("sqlite3", [database, ".schema"], scratch: scratch)
        try runCommand("sqlite3", [raw], input: pragmas(synchronous: "FULL") + schema, scratch: scratch)
        func dump(_ table: String) throws -> String {
            try runCommand("sqlite3", [database, ".mode insert \(table)", "SELECT * FROM \(table)"], scratch: scratch)
        }
        func replay(_ synchronous: String) -> (String) throws -> Void {
            { statements in
                try runCommand("sqlite3", [raw], input: pragmas(synchronous: synchronous) + statements,
                               scratch: scratch)
            }
        }
        let now = Date()
        let siteRates = try await alternate(count: count, table: "sites", key: { site($0, now: now).id },
                                        insert: { try await store.insertSite(site($0, now: now)) },
                                        dump: dump, replay: replay("FULL"))
        let pendingRates = try await alternate(
            count: count, table: "pending_authorizations", key: { pending($0, now: now).state.revealed },
            insert: { try await store.insertPendingAuthorization(pending($0, now: now)) },
            dump: dump, replay: replay("NORMAL"))
        return (Rates(sites: siteRates.relyd, pending: pendingRates.relyd),
                Rates(sites: siteRates.reference, pending: pendingRates.reference), "sqlite3 CLI")
    }

    private static func postgresql(count: Int, scratch: String) async throws -> (Rates, Rates, String) {
        let folder = try runCommand("scripts/start-postgres.sh", [], scratch: scratch)
            .split(separator: "\n").last.map(String.init) ?? ""
        defer { _ = try? runCommand("scripts/stop-postgres.sh", [folder], scratch: scratch) }
        let environment = try String(contentsOfFile: folder + "/env", encoding: .utf8)
        guard let url = environment.split(separator: "=", maxSplits: 1).last?
            .trimmingCharacters(in: .whitespacesAndNewlines)
        else { throw BenchError("scripts/start-postgres.sh wrote no URL") }

        let store = try PostgreSQLSiteStore.open(url: url)
        defer { Task { await store.close() } }
        guard let databaseSlash = url.lastIndex(of: "/") else { throw BenchError("no database in \(url)") }
        let referenceURL = String(url[..<databaseSlash]) + "/reference"
        try runCommand("psql", ["-q", "-v", "ON_ERROR_STOP=1", url, "-c", "CREATE DATABASE reference"],
                       scratch: scratch)
        let schema = try runCommand("pg_dump", ["--schema-only", "--no-owner", url], scratch: scratch)
        try runCommand("psql", ["-q", "-v", "ON_ERROR_STOP=1", referenceURL], input: schema, scratch: scratch)
        func dump(_ table: String) throws -> String {
            try runCommand("pg_dump", ["--data-only", "--inserts", "--table=\(table)", url], scratch: scratch)
        }
        func replay(_ statements: String) throws {
            try runCommand("psql", ["-q", "-v", "ON_ERROR_STOP=1", referenceURL], input: statements, scratch: scratch)
        }
        let now = Date()
        let siteRates = try await alternate(count: count, table: "sites", key: { site($0, now: now).id },
                                        insert: { try await store.insertSite(site($0, now: now)) },
                                        dump: dump, replay: replay)
        let pendingRates = try await alternate(
            count: count, table: "pending_authorizations", key: { pending($0, now: now).state.revealed },
            insert: { try await store.insertPendingAuthorization(pending($0, now: now)) },
            dump: dump, replay: replay)
        return (Rates(sites: siteRates.relyd, pending: pendingRates.relyd),
                Rates(sites: siteRates.reference, pending: pendingRates.reference), "psql")
    }

    /// Rows `0..<count` through relyd (`insert`) and through the raw engine (`replay` of relyd's rows as `dump`
    /// wrote them), alternating in rounds so that both sides see the same machine; the CLI's start-up time is
    /// taken out of each replay. Returns writes per second of each.
    private static func alternate(count: Int, rounds: Int = 4, table: String, key: (Int) -> String,
                                  insert: (Int) async throws -> Void, dump: (String) throws -> String,
                                  replay: (String) throws -> Void) async throws -> (relyd: Double, reference: Double) {
        let startup = try timed { try replay("") }
        var relydSeconds = 0.0
        var referenceSeconds = 0.0
        let size = max(1, (count + rounds - 1) / rounds)
        for first in stride(from: 0, to: count, by: size) {
            let indices = first..<min(count, first + size)
            let started = monotonicSeconds()
            for index in indices { try await insert(index) }
            relydSeconds += monotonicSeconds() - started
            // An INSERT line of either dump starts its values with the row's key.
            let keys = Set(indices.map(key))
            let statements = try dump(table).split(separator: "\n").filter { line in
                let parts = line.split(separator: "'", maxSplits: 2)
                return line.hasPrefix("INSERT INTO") && parts.count > 1 && keys.contains(String(parts[1]))
            }
            guard statements.count == indices.count else {
                throw BenchError("\(table): dumped \(statements.count) rows of \(indices.count)")
            }
            referenceSeconds += max(0, try timed { try replay(statements.joined(separator: "\n") + "\n") } - startup)
        }
        return (Double(count) / relydSeconds, Double(count) / max(1e-6, referenceSeconds))
    }

    private static func timed(_ body: () throws -> Void) throws -> Double {
        let started = monotonicSeconds()
        try body()
        return monotonicSeconds() - started
    }

    /// A site as a dynamic registration stores it (secret and registration access token included).
    private static func site(_ index: Int, now: Date) -> Site {
        Site(id: String(format: "bench-%07d", index), opHost: "https://op.example", clientID: "client-\(index)",
             clientSecret: Secret("secret-\(index)-0123456789abcdef0123456789abcdef"), clientSecretExpiresAt: nil,
             registrationAccessToken: Secret("rat-client-\(index)"),
             registrationClientURI: "https://op.example/register/client-\(index)",
             redirectURI: "https://app.example/callback", postLogoutRedirectURI: nil, scopes: ["openid", "email"],
             clientName: nil, grantTypes: ["authorization_code"], responseTypes: ["code"],
             tokenEndpointAuthMethod: "client_secret_basic", idTokenSignedResponseAlg: nil,
             isDynamicallyRegistered: true, createdAt: now)
    }

    /// A pending authorization as get_authorization_url stores it, for the first site.
    private static func pending(_ index: Int, now: Date) -> PendingAuthorization {
        PendingAuthorization(state: Secret(String(format: "state-%07d-0123456789abcdefghij", index)),
                             siteID: site(0, now: now).id, nonce: Secret("nonce-\(index)-0123456789abcdefghij"),
                             codeVerifier: Secret("verifier-\(index)-0123456789abcdefghij0123456789abcdefghij"),
                             redirectURI: "https://app.example/callback", maxAge: nil, acrValues: nil,
                             createdAt: now, expiresAt: now.addingTimeInterval(300))
    }
}
