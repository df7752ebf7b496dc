#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import RelydBasics
import RelydProtocol

/// Which OPs relyd may talk to (`allowed_op_hosts`), checked before any request, so that a client of the socket
/// cannot make the daemon fetch arbitrary URLs.
///
/// Each entry is either
/// - an issuer URL (it has a scheme, `https://op.example/realms/a`): an issuer matches it when equal to it,
///   character for character, as OIDC Discovery 4.3 compares issuers; or
/// - a host, optionally with a port (`op.example`, `op.example:8443`): an issuer matches it when its host is that
///   host (case-insensitively) and, if the entry names a port, its port (explicit or the scheme's default) is
///   that port. Any path on that host matches.
///
/// No entries means any issuer the URL policy accepts (https, or loopback http when allowed).
public struct AllowedOPHosts: Sendable, Equatable {
    enum Entry: Sendable, Equatable {
        case issuer(String)
        case host(String, port: Int?)
    }

    let entries: [Entry]

    /// No restriction.
    public static let any = AllowedOPHosts(parsed: [])

    private init(parsed: [Entry]) {
        entries = parsed
    }

    /// Reads the entries; blank ones are skipped.
    ///
    /// - Throws: a description of the first entry that is neither an absolute http(s) URL with a host and no
    ///   query or fragment, nor a host with an optional port.
    public init(_ entries: [String]) throws(InvalidEntry) {
        var parsed: [Entry] = []
        for raw in entries {
            let entry = raw.trimmingWhitespace()
            if entry.isEmpty { continue }
            if entry.contains("://") {
                guard let components = URLComponents(string: entry),
                      ["https", "http"].contains(components.scheme?.lowercased() ?? ""),
                      components.host?.isEmpty == false, components.query == nil, components.fragment == nil,
                      components.user == nil
                else { throw InvalidEntry(entry: entry) }
                parsed.append(.issuer(entry))
            } else {
                guard let components = URLComponents(string: "https://" + entry), let host = components.host,
                      !host.isEmpty, components.path.isEmpty, components.query == nil, components.fragment == nil,
                      components.user == nil
                else { throw InvalidEntry(entry: entry) }
                parsed.append(.host(host.lowercased(), port: components.port))
            }
        }
        self.entries = parsed
    }

    /// The entries as the configuration writes them, comma-separated (empty for ``any``); reads back equal.
    public var configurationValue: String {
        entries.map { entry in
            switch entry {
            case .issuer(let issuer): return issuer
            case .host(let host, let port):
                let name = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
                return port.map { "\(name):\($0)" } ?? name
            }
        }.joined(separator: ",")
    }

    /// An entry that is neither an issuer URL nor a host.
    public struct InvalidEntry: Error, Sendable, Equatable {
        public var entry: String
    }

    /// Whether sites may use `issuer`.
    public func allows(issuer: String) -> Bool {
        if entries.isEmpty { return true }
        let components = URLComponents(string: issuer)
        return entries.contains { entry in
            switch entry {
            case .issuer(let allowed):
                return allowed == issuer
            case .host(let host, let port):
                guard let components else { return false }
                return Self.matches(host: host, port: port, components: components)
            }
        }
    }

    /// Whether relyd may ask `url`'s host (a WebFinger query): its host and port must be those of an entry.
    public func allows(host url: URL) -> Bool {
        if entries.isEmpty { return true }
        guard let components = URLComponents(url: url, resolvingAgainstBaseURL: false) else { return false }
        return entries.contains { entry in
            switch entry {
            case .issuer(let allowed):
                guard let issuer = URLComponents(string: allowed), let host = issuer.host else { return false }
                return Self.matches(host: host.lowercased(), port: Self.port(of: issuer), components: components)
            case .host(let host, let port):
                return Self.matches(host: host, port: port, components: components)
            }
        }
    }

    /// Throws `op_not_allowed` unless ``allows(issuer:)``.
    public func check(issuer: String) throws {
        guard allows(issuer: issuer) else {
            throw RelydError(.opNotAllowed, "'\(RelydError.quoting(issuer))' is not in allowed_op_hosts")
        }
    }

    private static func matches(host: String, port: Int?, components: URLComponents) -> Bool {
        guard components.host?.lowercased() == host else { return false }
        return port == nil || port == Self.port(of: components)
    }

    private static func port(of components: URLComponents) -> Int? {
        components.port ?? (components.scheme?.lowercased() == "http" ? 80 : 443)
    }
}
