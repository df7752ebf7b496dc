import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A throw-away PostgreSQL cluster on loopback from scripts/start-postgres.sh, stopped and removed on release (and
/// by the script's watcher once the test process has gone, should it crash first).
final class PostgreSQLServer: @unchecked Sendable {
    /// The cluster's folder: data, socket, logs.
    let folder: String
    /// The URL of its `relyd` database, which relyd's configuration names.
    let url: String

    init() throws {
        folder = try run("bash", [Self.script("start-postgres.sh"), "--stop-when-gone", String(getpid())])
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let env = try String(contentsOfFile: folder + "/env", encoding: .utf8)
        guard let value = env.split(separator: "=", maxSplits: 1).last else {
            throw IntegrationError("scripts/start-postgres.sh wrote no URL in \(folder)/env")
        }
        url = value.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The relyd configuration lines that put its store in this cluster's database.
    var relydConfig: String { "store = postgresql\npostgresql_url = \(url)" }

    /// Runs one SQL statement with psql and returns its unaligned output.
    @discardableResult
    func sql(_ statement: String) throws -> String {
        try run("psql", ["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", statement, url])
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Ends every other session on relyd's database, as a failover or an operator's pg_terminate_backend does;
    /// returns how many it ended.
    func terminateSessions() throws -> Int {
        Int(try sql("""
            SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
            WHERE datname = current_database() AND pid <> pg_backend_pid()
            """)) ?? -1
    }

    /// Stops the server (fast shutdown: sessions are ended, as in a restart or failover) until ``startServer()``.
    func stopServer() throws { try run("bash", [folder + "/ctl", "stop", "-m", "fast"]) }

    /// Starts the stopped server again on the same port and data.
    func startServer() throws { try run("bash", [folder + "/ctl", "start"]) }

    /// Stops the cluster for good and removes its folder; later calls do nothing.
    func remove() {
        guard FileManager.default.fileExists(atPath: folder) else { return }
        _ = try? run("bash", [Self.script("stop-postgres.sh"), folder])
    }

    deinit { remove() }

    private static func script(_ name: String) -> String {
        Checkout.root.appendingPathComponent("scripts/\(name)").path
    }
}
