import Foundation
import RelydBasics
import RelydCommands
import RelydOIDC
import RelydProtocol
import RelydStore

/// A dispatcher wired to a ``FakeOP``, an in-memory store, a fake clock and deterministic randomness: the whole
/// daemon minus its socket, for protocol-level tests that feed request lines and read response lines.
public struct DispatcherHarness: Sendable {
    public let op: FakeOP
    public let clock: FakeClock
    public let store: InMemorySiteStore
    public let logs: CollectingLogSink
    public let dispatcher: Dispatcher

    public init(settings: OIDCSettings = OIDCSettings(), issuer: String = "https://op.example",
                access: AccessPolicy = AccessPolicy()) {
        let clock = FakeClock()
        let op = FakeOP(issuer: issuer, clock: clock)
        let logs = CollectingLogSink()
        let store = InMemorySiteStore()
        let environment = OIDCEnvironment(settings: settings, transport: op, clock: clock, random: SequentialRandom(),
                                          logger: Logger(sink: logs, minimumLevel: .debug))
        self.op = op
        self.clock = clock
        self.store = store
        self.logs = logs
        self.dispatcher = Dispatcher(context: CommandContext(store: store, environment: environment, version: "test"),
                                     access: AccessControl(access))
    }

    /// The peer requests come from unless a test names another.
    public static let defaultPeer = PeerCredentials(pid: 4242, uid: 1000, gid: 1000)

    /// Sends one raw request line and returns the decoded response envelope.
    public func send(_ line: String, peer: PeerCredentials = defaultPeer) async -> Response {
        let bytes = await dispatcher.respond(to: Array(line.utf8), peer: peer)
        return Response(bytes: bytes)
    }

    /// Sends a command with JSON params.
    public func send(_ command: String, _ params: [String: JSONValue], id: Int = 1,
                     peer: PeerCredentials = defaultPeer) async -> Response {
        let request: JSONValue = .object(["id": .integer(Int64(id)), "command": .string(command), "params": .object(params)])
        let data = (try? JSONEncoder().encode(request)) ?? Data()
        return await send(String(decoding: data, as: UTF8.self), peer: peer)
    }

    /// Registers a site dynamically and returns its oxd_id.
    public func registerSite(_ extra: [String: JSONValue] = [:]) async throws -> String {
        var params: [String: JSONValue] = [
            "op_host": .string(op.issuer), "authorization_redirect_uri": .string("https://rp.example/callback"),
        ]
        params.merge(extra) { $1 }
        let response = await send("register_site", params)
        guard response.isOK, let id = response.data["oxd_id"]?.stringValue else {
            throw FakeOPError("register_site failed: \(response.raw)")
        }
        return id
    }

    /// Runs get_authorization_url and the user's login; returns the code and state to redeem.
    public func login(oxdID: String, params: [String: JSONValue] = [:]) async throws -> (code: String, state: String) {
        var all = params
        all["oxd_id"] = .string(oxdID)
        let response = await send("get_authorization_url", all)
        guard response.isOK, let url = response.data["authorization_url"]?.stringValue,
              let state = response.data["state"]?.stringValue
        else { throw FakeOPError("get_authorization_url failed: \(response.raw)") }
        return (try op.authorize(url), state)
    }

    /// A decoded response line.
    public struct Response: Sendable {
        public let raw: String
        public let envelope: [String: JSONValue]

        public init(bytes: [UInt8]) {
            raw = String(decoding: bytes, as: UTF8.self)
            envelope = (try? JSONDecoder().decode([String: JSONValue].self, from: Data(bytes))) ?? [:]
        }

        public var isOK: Bool { envelope["status"] == .string("ok") }
        public var data: [String: JSONValue] { envelope["data"]?.objectValue ?? [:] }
        public var id: JSONValue? { envelope["id"] }
        /// The error code of an error response, nil for a success.
        public var errorCode: String? { isOK ? nil : data["error"]?.stringValue }
        public var errorDescription: String? { data["error_description"]?.stringValue }
    }
}
