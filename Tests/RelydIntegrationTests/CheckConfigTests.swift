import Foundation
import Testing

/// `relyd check-config --config PATH` with the real binary.
@Suite struct CheckConfigTests {
    /// A good file exits 0 and prints every key's effective value, the file's values and the defaults.
    @Test func goodFile_printsTheEffectiveConfiguration() throws {
        let directory = try TemporaryDirectory()
        let path = directory.url.appendingPathComponent("relyd.cfg").path
        try "log_level = debug\nallowed_uids = 33, 1000\n".write(toFile: path, atomically: false, encoding: .utf8)
        let output = try run(Checkout.product("relyd").path, ["check-config", "--config", path])
        let lines = output.split(separator: "\n").map(String.init)
        #expect(lines.contains("log_level = debug"))
        #expect(lines.contains("allowed_uids = 33,1000"))
        #expect(lines.contains("socket_mode = 0660"))
        let sample = try String(contentsOf: Checkout.root.appendingPathComponent("sample.cfg"), encoding: .utf8)
        let sampleKeys = sample.split(separator: "\n").filter { !$0.hasPrefix("#") && $0.contains("=") }
            .map { $0.prefix { $0 != " " } }
        #expect(lines.map { $0.prefix { $0 != " " } } == sampleKeys)
    }

    /// The PostgreSQL URL's password is masked in check-config's output, wherever the URL carries it.
    @Test func postgresqlPassword_isMasked() throws {
        let directory = try TemporaryDirectory()
        let path = directory.url.appendingPathComponent("relyd.cfg").path
        for url in ["postgresql://relyd:hunter2@db1,db2/relyd", "postgresql://db/relyd?password=hunter2"] {
            try "store = postgresql\npostgresql_url = \(url)\n".write(toFile: path, atomically: false, encoding: .utf8)
            let output = try run(Checkout.product("relyd").path, ["check-config", "--config", path])
            #expect(output.contains("store = postgresql"))
            #expect(output.contains("postgresql_url = postgresql://"))
            #expect(!output.contains("hunter2"))
        }
    }

    /// A bad file exits 78 with file:line: reason on stderr.
    @Test func badFile_exits78WithFileAndLine() throws {
        let directory = try TemporaryDirectory()
        let path = directory.url.appendingPathComponent("bad.cfg").path
        try "# comment\nmax_connections = lots\n".write(toFile: path, atomically: false, encoding: .utf8)
        let failure = #expect(throws: CommandFailure.self) {
            try run(Checkout.product("relyd").path, ["check-config", "--config", path])
        }
        #expect(failure?.exitStatus == 78)
        #expect(failure?.standardError.hasPrefix("\(path):2: ") == true)
    }
}
