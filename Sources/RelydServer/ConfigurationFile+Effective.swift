#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import RelydBasics

extension ConfigurationFile {
    /// The effective configuration as `key = value` pairs in the key table's order, for `relyd check-config`.
    /// Secrets are masked (see ``masked(_:value:)``); everything else reads back to an equal configuration.
    public static func effectiveLines(_ configuration: Configuration) -> [String] {
        effectiveValues(configuration).map { name, value in "\(name) = \(masked(name, value: value))" }
    }

    /// Every key's value as the file format writes it, unmasked, in the key table's order.
    static func effectiveValues(_ c: Configuration) -> [(String, String)] {
        let ids: (Set<UInt32>) -> String = { $0.sorted().map(String.init).joined(separator: ",") }
        let values: [String: String] = [
            "socket_path": c.socketPath,
            "socket_mode": "0" + String(c.socketMode, radix: 8),
            "socket_group": c.socketGroup.map(String.init) ?? "",
            "state_dir": c.stateDirectory,
            "log_level": c.logLevel.name,
            "ca_file": c.caFile ?? "",
            "allow_http_loopback": String(c.allowHTTPLoopback),
            "op_connect_timeout_ms": String(c.opConnectTimeoutMilliseconds),
            "op_timeout_ms": String(c.opTimeoutMilliseconds),
            "op_max_response_bytes": String(c.opMaxResponseBytes),
            "clock_skew_seconds": String(c.clockSkewSeconds),
            "state_lifetime_seconds": String(c.stateLifetimeSeconds),
            "metadata_cache_seconds": String(c.metadataCacheSeconds),
            "max_line_bytes": String(c.maxLineBytes),
            "max_connections": String(c.maxConnections),
            "shutdown_drain_seconds": String(c.shutdownDrainSeconds),
            "event_loops": String(c.eventLoops),
            "max_connections_per_uid": String(c.maxConnectionsPerUID),
            "idle_timeout_seconds": String(c.idleTimeoutSeconds),
            "requests_per_second": String(c.requestsPerSecond),
            "request_burst": String(c.requestBurst),
            "allowed_op_hosts": c.allowedOPHosts.configurationValue,
            "allowed_uids": ids(c.allowedUIDs),
            "allowed_gids": ids(c.allowedGIDs),
            "admin_uids": ids(c.adminUIDs),
            "admin_gids": ids(c.adminGIDs),
            "store": c.store.rawValue,
            "postgresql_url": c.postgresqlURL,
        ]
        // A key missing here shows as "?" and fails the round-trip test, so the table cannot drift silently.
        return keyNames.map { ($0, values[$0] ?? "?") }
    }

    /// `value` with secrets hidden: the whole value of a key whose name mentions a secret or password, the
    /// user-info part of any URL with a password (`https://user:pass@host` becomes `https://***@host`; a user alone
    /// stays, so that `postgresql://relyd@db/relyd` reads back equal), and a
    /// libpq `password=` parameter (in a URL's query or a `key=value` connection string).
    static func masked(_ name: String, value: String) -> String {
        let lowered = name.lowercased()
        if !value.isEmpty, ["secret", "password", "passphrase", "token"].contains(where: lowered.contains) {
            return "********"
        }
        return value.split(separator: ",", omittingEmptySubsequences: false).map { part -> String in
            guard let scheme = part.utf8.firstRange(of: "://".utf8),
                  let at = part[scheme.upperBound...].firstIndex(of: "@"),
                  !part[scheme.upperBound..<at].contains("/"), part[scheme.upperBound..<at].contains(":")
            else { return String(part) }
            return String(part[..<scheme.upperBound]) + "***" + String(part[at...])
        }.joined(separator: ",")
            .replacing(#/password\s*=\s*('[^']*'|[^&\s]*)/#.ignoresCase().matchingSemantics(.unicodeScalar),
                       with: "password=***")
    }
}
