import Foundation
import RelydBasics
@testable import RelydServer
import Testing

/// The configuration file format and the documented sample.
@Suite struct ConfigurationTests {
    static let sampleURL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("sample.cfg")

    /// sample.cfg parses, documents every key, and states the defaults.
    @Test func sample_documentsEveryKeyWithItsDefault() throws {
        let text = try String(contentsOf: Self.sampleURL, encoding: .utf8)
        #expect(try ConfigurationFile.parse(text, file: "sample.cfg") == Configuration())
        let setKeys = text.split(separator: "\n").filter { !$0.hasPrefix("#") && $0.contains("=") }
            .map { $0.split(separator: "=")[0].trimmingCharacters(in: .whitespaces) }
        #expect(setKeys.sorted() == ConfigurationFile.keyNames.sorted())
    }

    /// Values are read with their types.
    @Test func values_areParsed() throws {
        let configuration = try ConfigurationFile.parse("""
            # comment
            socket_path = "/run/relyd/relyd.sock"
            socket_mode = 0600
            log_level = debug
            allow_http_loopback = yes
            op_timeout_ms = 2500
            ca_file = /etc/relyd/ca.pem
            max_connections_per_uid = 4
            idle_timeout_seconds = 0
            requests_per_second = 20
            request_burst = 5
            socket_group = root
            event_loops = 4
            """, file: "t.cfg")
        #expect(configuration.eventLoops == 4)
        #expect(configuration.maxConnectionsPerUID == 4)
        #expect(configuration.idleTimeoutSeconds == 0)
        #expect(configuration.requestsPerSecond == 20)
        #expect(configuration.requestBurst == 5)
        #expect(configuration.socketGroup == 0)
        #expect(configuration.socketPath == "/run/relyd/relyd.sock")
        #expect(configuration.socketMode == 0o600)
        #expect(configuration.logLevel == .debug)
        #expect(configuration.allowHTTPLoopback)
        #expect(configuration.opTimeoutMilliseconds == 2500)
        #expect(configuration.caFile == "/etc/relyd/ca.pem")
    }

    /// The access lists are comma-separated numeric ids; empty is no list.
    @Test func accessLists_areParsedAsIDSets() throws {
        let configuration = try ConfigurationFile.parse("""
            allowed_uids = 33, 1000
            allowed_gids = 50
            admin_uids = 0
            admin_gids =
            """, file: "t.cfg")
        #expect(configuration.allowedUIDs == [33, 1000])
        #expect(configuration.allowedGIDs == [50])
        #expect(configuration.adminUIDs == [0])
        #expect(configuration.adminGIDs == [])
    }

    /// The PostgreSQL store is chosen with its URL; SQLite stays the default.
    @Test func postgresqlStore_isChosenWithItsURL() throws {
        let configuration = try ConfigurationFile.parse("""
            store = postgresql
            postgresql_url = postgresql://relyd@db1.example,db2.example/relyd?target_session_attrs=read-write
            """, file: "t.cfg")
        #expect(configuration.store == .postgresql)
        #expect(configuration.postgresqlURL
                    == "postgresql://relyd@db1.example,db2.example/relyd?target_session_attrs=read-write")
        #expect(Configuration().store == .sqlite)
    }

    /// A bad file is refused with the file, the line and the reason.
    @Test(arguments: [
        ("op_timeout_ms = 0", 1), ("\n\nnot a pair", 3), ("colour = blue", 1), ("socket_mode = 660", 1),
        ("log_level = loud", 1), ("max_line_bytes = 1\n", 1), ("state_dir = a\nstate_dir = b", 2),
        ("allow_http_loopback = maybe", 1), ("allowed_uids = www-data", 1), ("admin_gids = 1,,2", 1),
        ("allowed_gids = -1", 1), ("socket_group = no-such-group-relyd", 1), ("request_burst = 0", 1),
        ("max_connections_per_uid = 0", 1), ("store = mysql", 1), ("log_level = info\nstore = postgresql", 2),
        ("postgresql_url = postgresql://relyd@db/relyd?nonsense=1", 1), ("event_loops = 0", 1),
        ("event_loops = auto", 1),
    ])
    func badFile_isRefusedWithItsLine(text: String, line: Int) {
        #expect(throws: ConfigurationFile.Failure.self) { try ConfigurationFile.parse(text, file: "bad.cfg") }
        do {
            _ = try ConfigurationFile.parse(text, file: "bad.cfg")
        } catch {
            #expect(error.file == "bad.cfg")
            #expect(error.line == line)
        }
    }
}

/// The effective configuration that `relyd check-config` prints.
@Suite struct EffectiveConfigurationTests {
    /// Every key is printed once, in the key table's order, and the printed text reads back to the same settings.
    @Test func effectiveLines_coverEveryKey_andReadBackEqual() throws {
        var configuration = try ConfigurationFile.parse("""
            socket_mode = 0600
            log_level = debug
            ca_file = /etc/relyd/ca.pem
            allow_http_loopback = true
            allowed_op_hosts = https://op.example/realms/a, op.example:8443, [::1]:9000
            allowed_uids = 1000,33
            admin_gids = 0
            store = postgresql
            postgresql_url = postgresql://relyd@db.example/relyd
            """, file: "t.cfg")
        configuration.maxConnections = 7
        let lines = ConfigurationFile.effectiveLines(configuration)
        #expect(lines.map { String($0.prefix { $0 != " " }) } == ConfigurationFile.keyNames)
        #expect(try ConfigurationFile.parse(lines.joined(separator: "\n"), file: "effective") == configuration)
        #expect(try ConfigurationFile.parse(ConfigurationFile.effectiveLines(Configuration()).joined(separator: "\n"),
                                            file: "defaults") == Configuration())
    }

    /// Values of secret-named keys and the credentials in URLs are masked.
    @Test func secrets_areMasked() {
        #expect(ConfigurationFile.masked("client_secret", value: "s3cr3t") == "********")
        #expect(ConfigurationFile.masked("db_password", value: "hunter2") == "********")
        #expect(ConfigurationFile.masked("proxy", value: "https://user:pw@proxy.example:3128/x")
                    == "https://***@proxy.example:3128/x")
        #expect(ConfigurationFile.masked("allowed_op_hosts", value: "https://op.example/a@b") == "https://op.example/a@b")
        #expect(ConfigurationFile.masked("postgresql_url", value: "postgresql://relyd:pw@db1:5432,db2/relyd")
                    == "postgresql://***@db1:5432,db2/relyd")
        #expect(ConfigurationFile.masked("postgresql_url", value: "postgresql://db/relyd?user=r&password=pw&x=1")
                    == "postgresql://db/relyd?user=r&password=***&x=1")
        #expect(ConfigurationFile.masked("postgresql_url", value: "host=db password='p w' dbname=relyd")
                    == "host=db password=*** dbname=relyd")
    }
}
