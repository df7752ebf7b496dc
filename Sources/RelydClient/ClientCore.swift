import Dispatch
import Foundation
import RelydProtocol
import Synchronization

/// One connection to the daemon: its descriptor, closed when the last user lets go of it.
///
/// The reader thread, the client's state and an in-flight write each hold a reference, so the descriptor is
/// never closed (and its number never reused) while one of them may still use it. To stop a connection, shut it
/// down (``ClientSocket/shutdownBoth(_:)``): the reader wakes and lets go.
final class Connection: Sendable {
    let fd: Int32
    let generation: UInt64

    init(fd: Int32, generation: UInt64) {
        self.fd = fd
        self.generation = generation
    }

    deinit { ClientSocket.close(fd) }
}

/// The machinery behind ``RelydClient``: one connection at a time, request ids, waiting requests, timeouts.
///
/// Threads: socket writes and connects run on `ioQueue` (serial, so writes never interleave and only one connect
/// happens at a time); each connection has one reader thread blocked in `recv`; timeouts fire on a global
/// Dispatch queue. Callers only await a continuation, so the cooperative pool never blocks. All shared state is
/// in `state`; continuations are resumed outside the lock.
final class ClientCore: Sendable {
    typealias Reply = Result<[UInt8], RelydClientError>
    typealias Waiter = CheckedContinuation<Reply, Never>

    let socketPath: String
    let timeoutSeconds: Double
    let maximumResponseLength: Int
    private let ioQueue = DispatchQueue(label: "relyd.client.io")
    private let state = Mutex(State())

    private struct Pending {
        var waiter: Waiter
        /// The connection the request was written on; nil until then.
        var generation: UInt64?
    }

    private struct State {
        var nextID: Int64 = 1
        var nextGeneration: UInt64 = 1
        var connection: Connection?
        /// Requests whose caller is still waiting.
        var pending: [Int64: Pending] = [:]
        /// Per live connection, the ids written on it whose response has not been read, in write order. An id here
        /// but not in `pending` was abandoned (timeout, cancellation): its late response is read and dropped.
        var outstanding: [UInt64: [Int64]] = [:]
        var isShutDown = false
    }

    init(socketPath: String, timeoutSeconds: Double, maximumResponseLength: Int) {
        self.socketPath = socketPath
        self.timeoutSeconds = timeoutSeconds
        self.maximumResponseLength = maximumResponseLength
    }

    func allocateID() -> Int64 {
        state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
    }

    /// Writes `line` (newline included, carrying id `id`) and waits for the response line with that id.
    func exchange(id: Int64, line: [UInt8]) async -> Reply {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (waiter: Waiter) in
                let refusal: RelydClientError? = state.withLock { state in
                    if state.isShutDown {
                        return RelydClientError(.connectionFailed, "the client was closed")
                    }
                    state.pending[id] = Pending(waiter: waiter, generation: nil)
                    return nil
                }
                if let refusal {
                    waiter.resume(returning: .failure(refusal))
                    return
                }
                // A cancellation that came before the registration found nothing to cancel; catch it here.
                if Task.isCancelled {
                    cancel(id)
                    return
                }
                ioQueue.async { self.deliver(id: id, line: line) }
                let seconds = timeoutSeconds
                DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { [weak self] in
                    self?.finish(id, RelydClientError(.timeout,
                        "no response from relyd within \(seconds) s; the request may still be carried out"))
                }
            }
        } onCancel: {
            self.cancel(id)
        }
    }

    /// Stops the current connection; requests waiting on it fail with `connection_lost`, later ones with
    /// `connection_failed`.
    func shutDown() {
        let connection = state.withLock { state in
            state.isShutDown = true
            defer { state.connection = nil }
            return state.connection
        }
        if let connection { ClientSocket.shutdownBoth(connection.fd) }
    }

    // MARK: - Writing (on ioQueue)

    /// Connects when needed and writes the request.
    ///
    /// A request is written at most once. The only retry is when the connection turns out to be closed before a
    /// single byte of this request went out (the daemon closed an idle connection, or its reader has not noticed
    /// yet): then the daemon cannot have seen it, and it goes out once more on a fresh connection. Once any byte
    /// was written the request is never resent, because `register_site` is not idempotent: a resend could
    /// register a second client at the OP. The caller gets `connection_lost` and decides.
    private func deliver(id: Int64, line: [UInt8]) {
        for attempt in 0..<2 {
            let connection: Connection
            switch obtainConnection() {
            case .success(let current): connection = current
            case .failure(let error):
                finish(id, error)
                return
            }
            enum Mark { case finished, dead, ready }
            let mark: Mark = state.withLock { state in
                guard state.pending[id] != nil else { return .finished }
                guard state.connection === connection, state.outstanding[connection.generation] != nil else {
                    return .dead
                }
                state.pending[id]?.generation = connection.generation
                state.outstanding[connection.generation, default: []].append(id)
                return .ready
            }
            switch mark {
            case .finished: return  // timed out or cancelled while queued: nothing was sent
            case .dead: continue
            case .ready: break
            }
            switch ClientSocket.sendAll(connection.fd, line) {
            case .sent:
                return
            case .failed(written: 0, let error):
                unmark(id, on: connection)
                stop(connection)
                if attempt == 0 && (error == EPIPE || error == ECONNRESET) { continue }
                finish(id, RelydClientError(.connectionFailed,
                    "cannot write to relyd: \(ClientSocket.describe(error)); the request was not sent"))
                return
            case .failed(_, let error):
                // Part of the line went out: the connection is unusable and the request's fate unknown.
                finish(id, RelydClientError(.connectionLost,
                    "writing the request failed midway: \(ClientSocket.describe(error)); it may have been carried out"))
                stop(connection)
                return
            }
        }
        finish(id, RelydClientError(.connectionFailed, "relyd closed the connection before the request was sent"))
    }

    private func obtainConnection() -> Result<Connection, RelydClientError> {
        let current: Connection?? = state.withLock { state in
            state.isShutDown ? .none : .some(state.connection)
        }
        guard let current else { return .failure(RelydClientError(.connectionFailed, "the client was closed")) }
        if let current { return .success(current) }
        switch ClientSocket.connect(path: socketPath, sendTimeoutSeconds: timeoutSeconds) {
        case .failure(let error):
            return .failure(error)
        case .success(let fd):
            let connection: Connection? = state.withLock { state in
                guard !state.isShutDown else { return nil }
                let connection = Connection(fd: fd, generation: state.nextGeneration)
                state.nextGeneration += 1
                state.connection = connection
                state.outstanding[connection.generation] = []
                return connection
            }
            guard let connection else {
                ClientSocket.close(fd)
                return .failure(RelydClientError(.connectionFailed, "the client was closed"))
            }
            let reader = Thread { [self] in self.readLoop(connection) }
            reader.name = "relyd-client-reader"
            reader.start()
            return .success(connection)
        }
    }

    private func unmark(_ id: Int64, on connection: Connection) {
        state.withLock { state in
            state.pending[id]?.generation = nil
            state.outstanding[connection.generation]?.removeAll { $0 == id }
        }
    }

    /// Takes `connection` out of service; its reader wakes up and fails whatever still waits on it.
    private func stop(_ connection: Connection) {
        state.withLock { state in
            if state.connection === connection { state.connection = nil }
        }
        ClientSocket.shutdownBoth(connection.fd)
    }

    // MARK: - Reading (on the connection's reader thread)

    private func readLoop(_ connection: Connection) {
        var framer = LineFramer(maximumLineLength: maximumResponseLength)
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var reason: RelydClientError
        reading: while true {
            let count = ClientSocket.receive(connection.fd, into: &buffer)
            if count == 0 {
                reason = RelydClientError(.connectionLost,
                    "relyd closed the connection before answering; the request may have been carried out")
                break
            }
            if count < 0 {
                reason = RelydClientError(.connectionLost,
                    "reading from relyd failed: \(ClientSocket.describe(Int32(-count))); the request may have been carried out")
                break
            }
            for frame in framer.feed(buffer[0..<count]) {
                switch frame {
                case .lineTooLong:
                    reason = RelydClientError(.protocolViolation,
                        "a response line is longer than \(maximumResponseLength) bytes")
                    break reading
                case .line(let line):
                    if let violation = dispatch(line, from: connection) {
                        reason = violation
                        break reading
                    }
                }
            }
        }
        stop(connection)
        let waiters: [Waiter] = state.withLock { state in
            state.outstanding[connection.generation] = nil
            let ids = state.pending.compactMap { $0.value.generation == connection.generation ? $0.key : nil }
            return ids.compactMap { state.pending.removeValue(forKey: $0)?.waiter }
        }
        for waiter in waiters { waiter.resume(returning: .failure(reason)) }
    }

    private struct ResponseHead: Decodable {
        var id: JSONValue?
        var status: ResponseEnvelope<JSONValue>.Status
    }

    /// Hands a response line to the request it answers; returns an error when the line answers none.
    private func dispatch(_ line: [UInt8], from connection: Connection) -> RelydClientError? {
        let head: ResponseHead
        do {
            head = try JSONDecoder().decode(ResponseHead.self, from: Data(line))
        } catch {
            return RelydClientError(.protocolViolation, "relyd sent a line that is not a response: \(error)")
        }
        enum Outcome { case deliver(Waiter), drop, violation(String) }
        let outcome: Outcome = state.withLock { state in
            var queue = state.outstanding[connection.generation] ?? []
            let id: Int64
            switch head.id {
            case .integer(let value)?:
                guard let index = queue.firstIndex(of: value) else {
                    return .violation("relyd answered id \(value), which no request on this connection is waiting for")
                }
                queue.remove(at: index)
                id = value
            case nil, .null?:
                // The daemon could not read the request's id (an oversized or unreadable line); it answers in
                // order, so this answers the oldest request still outstanding.
                guard !queue.isEmpty else {
                    return .violation("relyd sent a response with a null id while no request was waiting")
                }
                id = queue.removeFirst()
            case let other?:
                return .violation("relyd answered id \(other), which this client never sends")
            }
            state.outstanding[connection.generation] = queue
            guard let pending = state.pending.removeValue(forKey: id) else { return .drop }
            return .deliver(pending.waiter)
        }
        switch outcome {
        case .deliver(let waiter):
            waiter.resume(returning: .success(line))
            return nil
        case .drop:
            return nil
        case .violation(let message):
            return RelydClientError(.protocolViolation, message)
        }
    }

    // MARK: - Ending a request

    /// Fails a waiting request (timeout, write failure). The id stays outstanding on its connection, so a late
    /// response is recognised and dropped.
    private func finish(_ id: Int64, _ error: RelydClientError) {
        let waiter = state.withLock { $0.pending.removeValue(forKey: id)?.waiter }
        waiter?.resume(returning: .failure(error))
    }

    private func cancel(_ id: Int64) {
        let waiter: Waiter? = state.withLock { state in
            state.pending.removeValue(forKey: id)?.waiter
        }
        waiter?.resume(returning: .failure(RelydClientError(.cancelled,
            "the task was cancelled; the request may still be carried out")))
    }
}
