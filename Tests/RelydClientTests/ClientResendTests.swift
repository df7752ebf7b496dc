import Foundation
import RelydBasics
import RelydClient
import RelydProtocol
import Testing

/// Which requests the client sends again after the connection broke with the request already written.
@Suite struct ClientResendTests {
    /// The first connection reads one request and hangs up without answering; later ones answer everything.
    private func daemonDroppingTheFirstRequest(seen: Locked<[String]>) throws -> FakeDaemon {
        try FakeDaemon { connection, number in
            while let request = connection.readRequest() {
                seen.update { $0.append(request["command"]?.stringValue ?? "?") }
                if number == 1 {
                    connection.close()
                    return
                }
                connection.ok(request["id"], #"{"status":"ok","uptime_seconds":1,"version":"x"}"#)
            }
        }
    }

    @Test func aReadingCommandIsSentAgainOnANewConnection() async throws {
        let seen = Locked<[String]>([])
        let daemon = try daemonDroppingTheFirstRequest(seen: seen)
        let client = RelydClient(socketPath: daemon.path, timeout: .seconds(30))
        #expect(try await client.health().status == "ok")
        #expect(seen.value == ["health", "health"])
        #expect(daemon.connectionCount == 2)
    }

    @Test(arguments: [RegisterSite.name, GetTokensByCode.name, GetAccessTokenByRefreshToken.name])
    func aCommandThatChangesStateIsNotSentAgain(command: String) async throws {
        let seen = Locked<[String]>([])
        let daemon = try daemonDroppingTheFirstRequest(seen: seen)
        let client = RelydClient(socketPath: daemon.path, timeout: .seconds(30))
        await expectError("connection_lost") { _ = try await client.send(command: command, parameters: [:]) }
        #expect(seen.value == [command])
        #expect(!RelydClient.resentCommands.contains(command))
    }
}
