import Foundation
import RelydBasics
import RelydStore
import RelydTestSupport
import Testing

/// The store implementations every conformance test runs against.
enum Backend: String, CaseIterable, CustomTestStringConvertible {
    case inMemory, sqlite, postgresql

    var testDescription: String { rawValue }
}

/// A fresh directory under the system temporary directory, removed by `remove()`.
struct TemporaryDirectory {
    let path: String

    init() throws {
        var template = Array((NSTemporaryDirectory() + "/relyd-store-XXXXXX").utf8CString)
        guard let created = mkdtemp(&template) else { throw StoreError(.io, "mkdtemp failed") }
        path = String(cString: created)
    }

    /// Where the store keeps its state: a directory that does not exist yet, so `open` creates it.
    var stateDirectory: String { path + "/state" }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// Runs `body` with a fresh, empty store of `backend`, then closes it and removes its files (or its database).
func withStore(_ backend: Backend, _ body: (any SiteStore) async throws -> Void) async throws {
    switch backend {
    case .inMemory:
        try await withClosing(InMemorySiteStore(), body)
    case .sqlite:
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try await withClosing(try SQLiteSiteStore.open(directory: directory.stateDirectory), body)
    case .postgresql:
        try await withDatabase { database in
            try await withClosing(try await offPool { try PostgreSQLSiteStore.open(url: database.url) }, body)
        }
    }
}

/// Runs `body` with `store`, then closes it, whether `body` threw or not.
private func withClosing(_ store: any SiteStore, _ body: (any SiteStore) async throws -> Void) async throws {
    do {
        try await body(store)
    } catch {
        await store.close()
        throw error
    }
    await store.close()
}

/// Runs `body` with a new, empty PostgreSQL database, then drops it, whether `body` threw or not.
func withDatabase(_ body: (TestDatabase) async throws -> Void) async throws {
    let database = try await offPool { try PostgreSQLTestServer.createDatabase() }
    do {
        try await body(database)
    } catch {
        await offPool { database.drop() }
        throw error
    }
    await offPool { database.drop() }
}

/// A fixed instant with a fractional part, so that tests notice any loss of date precision.
let epoch = Date(timeIntervalSince1970: 1_750_000_000.123_456_7)

/// A site with every optional field set.
func makeSite(id: String) -> Site {
    Site(id: id, opHost: "https://op.example.test", clientID: "client-\(id)", clientSecret: Secret("secret-\(id)"),
         clientSecretExpiresAt: epoch.addingTimeInterval(86_400), registrationAccessToken: Secret("rat-\(id)"),
         registrationClientURI: "https://op.example.test/register/\(id)", redirectURI: "https://app.example.test/cb",
         postLogoutRedirectURI: "https://app.example.test/bye", scopes: ["openid", "profile", "email"],
         clientName: "App \(id)", grantTypes: ["authorization_code"], responseTypes: ["code"],
         tokenEndpointAuthMethod: "client_secret_basic", idTokenSignedResponseAlg: "RS256",
         isDynamicallyRegistered: true, createdAt: epoch)
}

/// A pending authorization of `siteID` that expires at `expiresAt` (ten minutes after `epoch` by default).
func makePending(state: String, siteID: String, expiresAt: Date = epoch.addingTimeInterval(600)) -> PendingAuthorization {
    PendingAuthorization(state: Secret(state), siteID: siteID, nonce: Secret("nonce-\(state)"),
                         codeVerifier: Secret("verifier-\(state)"), redirectURI: "https://app.example.test/cb",
                         maxAge: 300, acrValues: ["urn:acr:mfa"], createdAt: epoch, expiresAt: expiresAt)
}

/// The kind of the `StoreError` that `operation` throws, or nil when it does not throw.
func storeErrorKind(_ operation: () async throws(StoreError) -> Void) async -> StoreError.Kind? {
    do {
        try await operation()
        return nil
    } catch {
        return error.kind
    }
}
