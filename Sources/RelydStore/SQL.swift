#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import RelydBasics

/// A value bound to a statement parameter.
enum SQLValue {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)

    /// `text`, or `null` for nil.
    static func text(_ value: String?) -> SQLValue { value.map { .text($0) } ?? .null }

    /// Dates are stored as REAL seconds since the Foundation reference date (2001-01-01Z), the number a `Date` holds,
    /// so that a date read back compares equal to the one written. (Unix seconds would lose the last bit of
    /// precision in almost half the cases.) Unix time is `value + 978307200`.
    static func date(_ value: Date) -> SQLValue { .real(value.timeIntervalSinceReferenceDate) }

    /// `date`, or `null` for nil.
    static func date(_ value: Date?) -> SQLValue { value.map { .date($0) } ?? .null }
}

/// The current result row of a query, as each backend's connection presents it.
protocol SQLRow {
    func isNull(_ column: Int32) -> Bool
    func int64(_ column: Int32) -> Int64
    func double(_ column: Int32) -> Double
    func text(_ column: Int32) -> String
}

extension SQLRow {
    func optionalText(_ column: Int32) -> String? { isNull(column) ? nil : text(column) }

    func date(_ column: Int32) -> Date { Date(timeIntervalSinceReferenceDate: double(column)) }

    func optionalDate(_ column: Int32) -> Date? { isNull(column) ? nil : date(column) }
}

/// What the store operations need of a backend's connection. Implementations are confined to one thread or serial
/// queue by their store.
protocol SQLConnection {
    associatedtype Row: SQLRow
    /// Runs one statement and maps every result row.
    func query<T>(_ sql: String, _ bindings: [SQLValue], _ map: (Row) throws(StoreError) -> T) throws(StoreError)
        -> [T]
    /// Runs one statement to completion and returns how many rows it inserted, updated or deleted.
    @discardableResult
    func run(_ sql: String, _ bindings: [SQLValue]) throws(StoreError) -> Int
    /// Runs `body` in one write transaction, committed when it returns and rolled back when it throws.
    func transaction<T>(_ body: () throws(StoreError) -> T) throws(StoreError) -> T
    /// Runs `work`, whose writes are logins in flight (pending authorizations, token bindings): they must survive
    /// a crash of the process, but need not be on disk before they return. A login lost to a power loss is started
    /// again by its user, and a consumed state that comes back is useless: the OP refuses its code a second time.
    /// An fsync for each of them tripled relyd's share of a login. By default `work` just runs.
    func withoutFsync<T>(_ work: () throws(StoreError) -> T) throws(StoreError) -> T
}

/// The ``SiteStore`` operations, written once for both SQL backends; each store only decides on which thread and
/// connection they run. Expiry is checked by the caller (``isLive(_:at:)``), not in SQL, so that both backends and
/// the in-memory double compare dates the same way.
extension SQLConnection {
    func withoutFsync<T>(_ work: () throws(StoreError) -> T) throws(StoreError) -> T { try work() }

    func insertSite(_ values: [SQLValue]) throws(StoreError) {
        guard try run(SiteRow.insert, values) == 1 else { throw StoreError(.duplicate, "sites: the id exists") }
    }

    func updateSite(_ values: [SQLValue]) throws(StoreError) -> Bool { try run(SiteRow.update, values) == 1 }

    func site(id: String) throws(StoreError) -> Site? {
        try query("SELECT \(SiteRow.columnList) FROM sites WHERE id = ?1", [.text(id)], SiteRow.site).first
    }

    /// Pending authorizations and token bindings go with the site: ON DELETE CASCADE.
    func deleteSite(id: String) throws(StoreError) -> Bool {
        try run("DELETE FROM sites WHERE id = ?1", [.text(id)]) == 1
    }

    func allSites() throws(StoreError) -> [Site] {
        try query("SELECT \(SiteRow.columnList) FROM sites ORDER BY id", [], SiteRow.site)
    }

    func insertPendingAuthorization(_ values: [SQLValue]) throws(StoreError) {
        try withoutFsync { () throws(StoreError) in
            guard try run(PendingRow.insert, values) == 1 else {
                throw StoreError(.duplicate, "pending_authorizations: the state exists")
            }
        }
    }

    /// One statement, so one atomic step: of concurrent consumers (on any connection, of any relyd sharing the
    /// database) only one gets the row. An expired row is deleted too; the caller then does not return it.
    func consumePendingAuthorization(state: String, siteID: String) throws(StoreError) -> PendingAuthorization? {
        try withoutFsync { () throws(StoreError) in
            try query(
                """
                DELETE FROM pending_authorizations WHERE state = ?1 AND site_id = ?2
                RETURNING \(PendingRow.columnList)
                """,
                [.text(state), .text(siteID)], PendingRow.pending
            ).first
        }
    }

    func purgeExpired(now: Date) throws(StoreError) -> Int {
        try withoutFsync { () throws(StoreError) -> Int in
            try transaction { () throws(StoreError) -> Int in
                try run("DELETE FROM pending_authorizations WHERE expires_at <= ?1", [.date(now)])
                    + run("DELETE FROM token_bindings WHERE expires_at <= ?1", [.date(now)])
            }
        }
    }

    /// One statement for all the rows, so one commit (SQLite) or one round trip (PostgreSQL). The rows' hashes must
    /// differ: a statement may not upsert the same row twice.
    func insertTokenBindings(_ rows: [[SQLValue]]) throws(StoreError) {
        try withoutFsync { () throws(StoreError) in
            _ = try run(TokenBindingRow.upsert(rows: rows.count), rows.flatMap { $0 })
        }
    }

    func tokenBinding(accessTokenHash: String) throws(StoreError) -> TokenBinding? {
        try query(
            "SELECT \(TokenBindingRow.columnList) FROM token_bindings WHERE access_token_hash = ?1",
            [.text(accessTokenHash)], TokenBindingRow.binding
        ).first
    }
}

// Row mapping shared by both SQL backends.
//
// Each record has one column list, one function from record to bound values and one from row to record; the SQL
// of every statement is built from the column list, so the three cannot drift apart. The SQL is written once, in
// the dialect SQLite and PostgreSQL share (`ON CONFLICT`, `RETURNING`, `excluded`), with SQLite's numbered
// parameters `?N`, which ``PostgreSQLConnection`` rewrites to `$N`.

enum SiteRow {
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
    static func values(of site: Site) throws(StoreError) -> [SQLValue] {
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
    static func site(_ row: some SQLRow) throws(StoreError) -> Site {
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

enum PendingRow {
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
    static func values(of pending: PendingAuthorization) throws(StoreError) -> [SQLValue] {
        [
            .text(pending.state.revealed), .text(pending.siteID), .text(pending.nonce.revealed),
            .text(pending.codeVerifier.revealed), .text(pending.redirectURI),
            pending.maxAge.map { .integer(Int64($0)) } ?? .null,
            .text(try pending.acrValues.map(JSONStrings.encode)), .date(pending.createdAt), .date(pending.expiresAt),
        ]
    }

    /// A row selected (or returned) with `columnList`.
    static func pending(_ row: some SQLRow) throws(StoreError) -> PendingAuthorization {
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

enum TokenBindingRow {
    static let columns = ["access_token_hash", "site_id", "subject", "expires_at"]
    static let columnList = columns.joined(separator: ", ")
    /// Inserts `rows` rows at once, their values one row after the other. The same token bound again replaces the
    /// earlier binding.
    static func upsert(rows: Int) -> String {
        let tuples = (0..<rows).map { row in "(" + placeholders(columns.count, after: row * columns.count) + ")" }
        return """
            INSERT INTO token_bindings (\(columnList)) VALUES \(tuples.joined(separator: ", "))
            ON CONFLICT (access_token_hash) DO UPDATE
            SET site_id = excluded.site_id, subject = excluded.subject, expires_at = excluded.expires_at
            """
    }

    /// In the order of `columns`.
    static func values(of binding: TokenBinding) -> [SQLValue] {
        [.text(binding.accessTokenHash), .text(binding.siteID), .text(binding.subject), .date(binding.expiresAt)]
    }

    /// A row selected with `columnList`.
    static func binding(_ row: some SQLRow) -> TokenBinding {
        TokenBinding(accessTokenHash: row.text(0), siteID: row.text(1), subject: row.text(2), expiresAt: row.date(3))
    }
}

/// `?(offset+1), …, ?(offset+count)`: numbered, so a statement can use a parameter at any place in the column order
/// (and a multi-row insert its rows one after the other).
func placeholders(_ count: Int, after offset: Int = 0) -> String {
    ((offset + 1)...(offset + count)).map { "?\($0)" }.joined(separator: ", ")
}

/// String arrays are stored as JSON text.
enum JSONStrings {
    static func encode(_ strings: [String]) throws(StoreError) -> String {
        do {
            return String(decoding: try JSONEncoder().encode(strings), as: UTF8.self)
        } catch {
            throw StoreError(.io, "JSONEncoder: cannot encode a string array")
        }
    }

    /// Every site read from the database decodes three of these; `JSONDecoder` costs several microseconds each,
    /// a good part of a site lookup. What `encode` writes for strings without escapes is read directly; anything
    /// else (an escape, other spacing, a hand-edited value) goes to `JSONDecoder`, which stays the reference.
    static func decode(_ text: String, column: String) throws(StoreError) -> [String] {
        if let plain = plainStrings(text) { return plain }
        do {
            return try JSONDecoder().decode([String].self, from: Data(text.utf8))
        } catch {
            throw StoreError(.schema, "\(column): not a JSON array of strings")
        }
    }

    /// The strings of `["a","b"]` written compactly with no backslash, or nil for any other text. Without a
    /// backslash no string can hold a quote, so every quote is a delimiter and the shape check is exact. Read from
    /// the text's contiguous bytes: walking `utf8` by index cost about 4,700 instructions per array, three arrays
    /// per site read from the database.
    static func plainStrings(_ text: String) -> [String]? {
        text.withContiguousUTF8(plainStrings)
    }

    private static func plainStrings(_ bytes: UnsafeBufferPointer<UInt8>) -> [String]? {
        let count = bytes.count
        if count == 2, bytes[0] == UInt8(ascii: "["), bytes[1] == UInt8(ascii: "]") { return [] }
        guard count >= 4, bytes[0] == UInt8(ascii: "["), bytes[1] == UInt8(ascii: "\""),
              bytes[count - 2] == UInt8(ascii: "\""), bytes[count - 1] == UInt8(ascii: "]"),
              !bytes.contains(where: { $0 == UInt8(ascii: "\\") || $0 < 0x20 })
        else { return nil }
        let end = count - 2  // the closing quote
        var strings: [String] = []
        var start = 2
        var index = start
        while index < end {
            if bytes[index] == UInt8(ascii: "\"") {
                // Only `","` may separate two strings.
                guard index + 2 < end, bytes[index + 1] == UInt8(ascii: ","), bytes[index + 2] == UInt8(ascii: "\"")
                else { return nil }
                strings.append(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self))
                start = index + 3
                index = start
                continue
            }
            index += 1
        }
        strings.append(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self))
        return strings
    }
}
