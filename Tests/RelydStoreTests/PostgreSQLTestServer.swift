import Foundation
@testable import RelydStore
import RelydTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// The PostgreSQL server the store tests use: the one RELYD_TEST_POSTGRESQL_URL names (scripts/test.sh sets it),
/// else a throw-away cluster that scripts/start-postgres.sh starts on first use and stops once the test process has
/// exited (however it ends: a crash leaves no server behind). There is no skipping: without a PostgreSQL server the
/// PostgreSQL tests fail.
enum PostgreSQLTestServer {
    /// The server's URL, ending in `/relyd`, the database the start script creates.
    static let url: Result<String, StoreError> = {
        if let url = ProcessInfo.processInfo.environment["RELYD_TEST_POSTGRESQL_URL"], !url.isEmpty {
            return .success(url)
        }
        // Not popen: its shell inherits every descriptor open in the test process at that moment, and the server
        // it leaves running would hold other tests' pipes open (their readers then wait for end-of-file forever).
        let outputPath = NSTemporaryDirectory() + "relyd-start-postgres-\(getpid()).out"
        let errorPath = outputPath + ".err"
        defer {
            unlink(outputPath)
            unlink(errorPath)
        }
        let started = ChildProcess.spawn(script("start-postgres.sh"), ["--stop-when-gone", "\(getpid())"],
                                         output: .init(outputPath: outputPath, errorPath: errorPath))
        guard case .success(let pid) = started else {
            return .failure(StoreError(.io, "cannot run scripts/start-postgres.sh"))
        }
        let status = ChildProcess.waitForExit(pid)
        let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        let folder = output.trimmingCharacters(in: .whitespacesAndNewlines)
        guard status == 0, let env = try? String(contentsOfFile: folder + "/env", encoding: .utf8),
              let url = env.split(separator: "=", maxSplits: 1).last
        else {
            let errors = (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? ""
            return .failure(StoreError(.io, "scripts/start-postgres.sh failed: install postgresql "
                                       + "(scripts/install-deps.sh --test) or set RELYD_TEST_POSTGRESQL_URL; \(errors)"))
        }
        return .success(url.trimmingCharacters(in: .whitespacesAndNewlines))
    }()

    /// The path of one of the project's scripts.
    static func script(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/" + name).path
    }

    /// A new empty database on the server, for one test.
    static func createDatabase() throws(StoreError) -> TestDatabase {
        let url = try url.get()
        let name = "relyd_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        let admin = try PostgreSQLConnection(url: url)
        defer { admin.close() }
        try admin.exec("CREATE DATABASE \(name)")
        let base = url.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        return TestDatabase(name: name, url: base + "/" + name, serverURL: url)
    }
}

/// One test's database; `drop()` removes it, disconnecting whoever is still connected.
struct TestDatabase {
    let name: String
    let url: String
    let serverURL: String

        func drop() {
        guard let admin = try? PostgreSQLConnection(url: serverURL) else { return }
        defer { admin.close() }
        _ = try? admin.exec("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }
}
