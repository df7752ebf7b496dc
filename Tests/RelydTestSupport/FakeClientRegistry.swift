import Foundation
import RelydBasics
import RelydHTTP
import RelydProtocol

/// Dynamic registration with RFC 7592 client management on a ``FakeOP``: takes over its `/register` endpoint
/// and serves each client's `registration_client_uri` (`/register/<client_id>`), checking the Bearer
/// registration access token like a strict OP. Registered clients are added to the fake OP, so logins with the
/// current secret work; an update or a read can rotate the secret.
public final class FakeClientRegistry: @unchecked Sendable {
    public struct Record: Sendable {
        public var secret: String
        public var registrationAccessToken: String
        public var document: [String: JSONValue]
        /// Unix seconds; 0 means never.
        public var secretExpiresAt: Int64
    }

    private let op: FakeOP
    private let clock: any WallClock
    // Invariant: every stored property below is read and written only under `lock`.
    private let lock = NSLock()
    private var records: [String: Record] = [:]
    private var counter = 0
    private var secretLifetimeStorage: TimeInterval?
    private var rotatesOnReadStorage = false

    /// Lifetime of each secret issued from now on; nil: secrets never expire.
    public var secretLifetime: TimeInterval? {
        get { lock.withLock { secretLifetimeStorage } }
        set { lock.withLock { secretLifetimeStorage = newValue } }
    }

    /// Whether a read (GET) hands out a fresh secret, as an OP does that rotates expired secrets on read.
    public var rotatesOnRead: Bool {
        get { lock.withLock { rotatesOnReadStorage } }
        set { lock.withLock { rotatesOnReadStorage = newValue } }
    }

    public init(op: FakeOP, clock: any WallClock) {
        self.op = op
        self.clock = clock
        op.override(path: "/register") { request in self.register(request) }
    }

    /// The client's current registration at the OP, nil once deleted.
    public func record(_ clientID: String) -> Record? { lock.withLock { records[clientID] } }

    private func register(_ request: HTTPRequest) -> HTTPResponse {
        guard let body = Self.object(request.body),
              let redirectURIs = body["redirect_uris"]?.arrayValue?.compactMap(\.stringValue), !redirectURIs.isEmpty
        else { return FakeOP.json(["error": .string("invalid_redirect_uri")], status: 400) }
        let id = lock.withLock { () -> String in
            counter += 1
            return "dyn-\(counter)"
        }
        let token = "rat-\(id)"
        let record = issue(Record(secret: "", registrationAccessToken: token, document: body, secretExpiresAt: 0),
                           clientID: id)
        op.override(path: "/register/\(id)") { request in self.manage(request, clientID: id) }
        return FakeOP.json(answer(record, clientID: id, includingManagement: true), status: 201)
    }

    private func manage(_ request: HTTPRequest, clientID: String) -> HTTPResponse {
        let authorization = request.headers.first { $0.0.lowercased() == "authorization" }?.1
        guard let record = lock.withLock({ records[clientID] }),
              authorization == "Bearer " + record.registrationAccessToken
        else { return FakeOP.json(["error": .string("invalid_token")], status: 401) }
        switch request.method {
        case .get:
            let current = rotatesOnRead ? issue(record, clientID: clientID) : record
            return FakeOP.json(answer(current, clientID: clientID, includingManagement: false))
        case .put:
            guard var body = Self.object(request.body), body["client_id"] == .string(clientID),
                  body["client_secret"] == nil,
                  body["redirect_uris"]?.arrayValue?.isEmpty == false
            else { return FakeOP.json(["error": .string("invalid_client_metadata")], status: 400) }
            body["client_id"] = nil
            var updated = record
            updated.document = body
            updated.registrationAccessToken = "rat-\(clientID)-\(Int(clock.now().timeIntervalSince1970))"
            let issued = issue(updated, clientID: clientID)
            return FakeOP.json(answer(issued, clientID: clientID, includingManagement: true))
        case .delete:
            lock.withLock { records[clientID] = nil }
            return HTTPResponse(status: 204)
        case .post:
            return HTTPResponse(status: 405)
        }
    }

    /// Stores the record with a fresh secret and makes the fake OP accept it.
    private func issue(_ record: Record, clientID: String) -> Record {
        var record = record
        let now = clock.now()
        let (number, lifetime) = lock.withLock { () -> (Int, TimeInterval?) in
            counter += 1
            return (counter, secretLifetimeStorage)
        }
        record.secret = "dyn-secret-\(number)-0123456789abcdef0123456789abcdef"
        record.secretExpiresAt = lifetime.map { Int64(now.addingTimeInterval($0).timeIntervalSince1970) } ?? 0
        lock.withLock { records[clientID] = record }
        op.addClient(id: clientID, secret: record.secret,
                     redirectURIs: record.document["redirect_uris"]?.arrayValue?.compactMap(\.stringValue) ?? [],
                     authMethod: record.document["token_endpoint_auth_method"]?.stringValue ?? "client_secret_basic")
        return record
    }

    private func answer(_ record: Record, clientID: String, includingManagement: Bool) -> [String: JSONValue] {
        var answer = record.document
        answer["client_id"] = .string(clientID)
        answer["client_secret"] = .string(record.secret)
        answer["client_secret_expires_at"] = .integer(record.secretExpiresAt)
        if includingManagement {
            answer["registration_access_token"] = .string(record.registrationAccessToken)
            answer["registration_client_uri"] = .string(op.issuer + "/register/" + clientID)
        }
        return answer
    }

    private static func object(_ body: Data?) -> [String: JSONValue]? {
        try? JSONDecoder().decode([String: JSONValue].self, from: body ?? Data())
    }
}
