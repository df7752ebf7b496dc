import Foundation
import RelydProtocol
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The real relyd binary fed hostile input over its socket: every bad line gets its code, the connection stays
/// usable, no descriptor leaks, and SIGTERM ends it cleanly.
@Suite struct DaemonRobustnessTests {
    /// A blocking line client for raw bytes.
    final class LineConnection {
        let fd: Int32
        private var buffer: [UInt8] = []

        init(path: String) throws {
            fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) == 0
                }
            }
            var timeout = timeval(tv_sec: 20, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            guard connected else { close(fd); throw IntegrationError("cannot connect to \(path)") }
        }

        deinit { close(fd) }

        func write(_ bytes: [UInt8]) {
            var offset = 0
            while offset < bytes.count {
                let sent = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if sent <= 0 { return }
                offset += sent
            }
        }

        func readLine() throws -> [String: JSONValue] {
            while true {
                if let newline = buffer.firstIndex(of: 0x0A) {
                    let line = Array(buffer[..<newline])
                    buffer.removeFirst(newline + 1)
                    return try JSONDecoder().decode([String: JSONValue].self, from: Data(line))
                }
                var chunk = [UInt8](repeating: 0, count: 65536)
                let count = recv(fd, &chunk, chunk.count, 0)
                guard count > 0 else { throw IntegrationError("connection closed or timed out") }
                buffer += chunk[..<count]
            }
        }

        func errorCode(after line: [UInt8]) throws -> String? {
            write(line)
            let response = try readLine()
            return response["status"] == .string("ok") ? nil : response["data"]?["error"]?.stringValue
        }
    }

    /// Each malformed input has its stable code and the same connection goes on working.
    @Test func malformedInput_getsCodes_andTheConnectionStaysUsable() throws {
        let directory = try TemporaryDirectory()
        let daemon = try RelydDaemon(in: directory.url)
        let connection = try LineConnection(path: daemon.socketPath)
        let cases: [([UInt8], String?)] = [
            (Array("not json\n".utf8), "invalid_json"),
            ([0x7b, 0xff, 0x7d, 0x0a], "invalid_utf8"),
            (Array("[1]\n".utf8), "invalid_request"),
            (Array(#"{"id":1}"#.utf8) + [0x0a], "missing_command"),
            (Array(#"{"command":"nope"}"#.utf8) + [0x0a], "unknown_command"),
            (Array(#"{"command":"get_user_info","params":{}}"#.utf8) + [0x0a], "missing_parameter"),
            (Array(#"{"command":"get_user_info","params":{"oxd_id":5,"access_token":"x"}}"#.utf8) + [0x0a], "invalid_parameter"),
            (Array(#"{"command":"get_user_info","params":{"oxd_id":"no","access_token":"x"}}"#.utf8) + [0x0a], "unknown_site"),
            (Array(repeating: 0x61, count: 200_000) + [0x0a], "request_too_large"),
            (Array(#"{"command":"health"}"#.utf8) + [0x0a], nil),
        ]
        for (line, expected) in cases {
            #expect(try connection.errorCode(after: line) == expected)
        }
        #expect(daemon.terminate() == 0)
    }

    /// Pipelined requests on one connection come back in order.
    @Test func pipelinedRequests_comeBackInOrder() throws {
        let directory = try TemporaryDirectory()
        let daemon = try RelydDaemon(in: directory.url)
        let connection = try LineConnection(path: daemon.socketPath)
        let lines = (0..<200).map { #"{"id":\#($0),"command":"health"}"# }.joined(separator: "\n") + "\n"
        connection.write(Array(lines.utf8))
        for index in 0..<200 {
            #expect(try connection.readLine()["id"] == .integer(Int64(index)))
        }
    }

    /// Connections that send garbage and vanish leave no descriptor behind.
    @Test func abandonedConnections_leakNoDescriptors() throws {
        let directory = try TemporaryDirectory()
        let daemon = try RelydDaemon(in: directory.url)
        _ = try LineConnection(path: daemon.socketPath).errorCode(after: Array(#"{"command":"health"}"#.utf8) + [0x0a])
        let baseline = daemon.openDescriptorCount
        for index in 0..<50 {
            let connection = try LineConnection(path: daemon.socketPath)
            connection.write(Array("{\"command\": \"hea".utf8) + (index.isMultiple(of: 2) ? [0x0a] : []))
        }
        let deadline = Date().addingTimeInterval(10)
        while daemon.openDescriptorCount > baseline, Date() < deadline { usleep(50_000) }
        #expect(daemon.openDescriptorCount <= baseline)
    }

    /// SIGTERM exits 0 and removes the socket file.
    @Test func sigterm_exitsCleanly() throws {
        let directory = try TemporaryDirectory()
        let daemon = try RelydDaemon(in: directory.url)
        #expect(daemon.terminate() == 0)
        #expect(!FileManager.default.fileExists(atPath: daemon.socketPath))
    }

    /// A bad configuration is refused at start with the file and line.
    @Test func badConfiguration_isRefusedAtStart() throws {
        let directory = try TemporaryDirectory()
        let path = directory.url.appendingPathComponent("bad.cfg").path
        try "max_line_bytes = lots\n".write(toFile: path, atomically: false, encoding: .utf8)
        let process = Process()
        process.executableURL = try Checkout.product("relyd")
        process.arguments = ["--config", path]
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus != 0)
        #expect(text.contains("bad.cfg:1"))
    }

    /// relyctl talks to the real daemon: data on stdout and exit 0, or the wire code on stderr and exit 1, or
    /// exit 3 when no daemon listens.
    @Test func relyctl_printsResultsAndExitsWithTheOutcome() throws {
        let directory = try TemporaryDirectory()
        let daemon = try RelydDaemon(in: directory.url)
        let relyctl = try Checkout.product("relyctl").path
        let health = try run(relyctl, ["--socket", daemon.socketPath, "health"])
        #expect(health.contains("\"status\""))
        do {
            try run(relyctl, ["--socket", daemon.socketPath, "get_user_info", "--oxd-id", "nope", "--access-token", "t"])
            Issue.record("relyctl exited 0 on an error response")
        } catch let error as CommandFailure {
            #expect(error.exitStatus == 1)
            #expect(error.standardError.contains("unknown_site"))
        }
        do {
            try run(relyctl, ["--socket", directory.url.appendingPathComponent("absent.sock").path, "health"])
            Issue.record("relyctl exited 0 without a daemon")
        } catch let error as CommandFailure {
            #expect(error.exitStatus == 3)
        }
    }
}
