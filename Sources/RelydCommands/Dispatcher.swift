#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import RelydBasics
import RelydProtocol
import RelydStore

/// Turns one request line into one response line. All generic checks happen here, before any handler runs:
/// the envelope (UTF-8, JSON, object, `id`, `command`, `params`), the command's existence, and the parameters'
/// names and types, and whether the peer may send it (``AccessPolicy``). Errors reach the wire only through this
/// type.
public struct Dispatcher: Sendable {
    public let context: CommandContext
    /// Who may send requests, and who may change sites.
    public let access: AccessControl
    /// `context.logger`, kept: that property builds a copy of the environment's logger on each use, and the
    /// dispatcher asks it on every request whether debug lines are written.
    private let logger: Logger

    public init(context: CommandContext, access: AccessControl = AccessControl()) {
        self.context = context
        self.access = access
        self.logger = context.logger
    }

    /// The response line (newline included) for `line` from `peer`. Never throws: every failure becomes an error
    /// envelope.
    nonisolated(nonsending) public func respond(to line: [UInt8], peer: PeerCredentials) async -> [UInt8] {
        let permissions = access.permissions(for: peer)
        let request: RequestEnvelope
        do {
            request = try RequestEnvelope(parsing: line)
        } catch {
            guard permissions.allowed else { return refuse(peer, command: nil, id: error.id) }
            return ResponseWriter.failure(id: error.id, error.error)
        }
        let command = CommandTable.handler(named: request.command)
        guard permissions.allowed else { return refuse(peer, command: command, id: request.id) }
        guard case let (handler, index)? = command else {
            return ResponseWriter.failure(id: request.id, RelydError(
                .unknownCommand, "unknown command '\(RelydError.quoting(request.command, limit: 80))'"))
        }
        guard !handler.changesSites || permissions.mayChangeSites else {
            return refuse(peer, command: command, id: request.id)
        }
        let statistics = context.commandStatistics
        do {
            // Timing and formatting the duration cost more than a health command: only when debug lines are written.
            let response = logger.isEnabled(.debug)
                ? try await respondTimed(handler, request)
                : try await handler.respond(to: request, context: context)
            statistics.record(commandAt: index, failed: false)
            return response
        } catch let error as RelydError {
            statistics.record(commandAt: index, failed: true)
            logger.info("command failed", ("request.command", request.command),
                        ("error.code", error.code.rawValue), ("error.description", error.loggableDescription))
            return ResponseWriter.failure(id: request.id, error)
        } catch let error as StoreError where error.kind == .unavailable {
            statistics.record(commandAt: index, failed: true)
            logger.warning("store unavailable", ("request.command", request.command),
                           ("error.detail", error.detail))
            let unavailable = RelydError(.storeUnavailable, "the store's database cannot be reached now; retry later")
            return ResponseWriter.failure(id: request.id, unavailable)
        } catch {
            statistics.record(commandAt: index, failed: true)
            // The detail may be anything (a store error, an encoder error): it goes to the log only.
            logger.error("command failed unexpectedly", ("request.command", request.command),
                         ("error.detail", String(describing: error)))
            return ResponseWriter.failure(id: request.id, RelydError(.internalError, RelydError.internalErrorMessage))
        }
    }

    /// `handler`'s response, and the debug line that says how long it took. Apart from `respond`: the start instant
    /// held across the handler's await (a `ContinuousClock.Instant`, whose size this module does not know) cost
    /// `respond` four task allocations on every request, debug or not.
    nonisolated(nonsending) private func respondTimed(
        _ handler: any CommandHandler.Type, _ request: RequestEnvelope
    ) async throws -> [UInt8] {
        let started = ContinuousClock.now
        let response = try await handler.respond(to: request, context: context)
        logger.debug("command served", ("request.command", request.command),
                     ("duration.ms", Self.milliseconds(since: started)))
        return response
    }

    /// The `access_denied` line for `peer`, logged with its uid and pid. `command` is counted when it is known.
    private func refuse(
        _ peer: PeerCredentials, command: (handler: any CommandHandler.Type, index: Int)?, id: RequestID?
    ) -> [UInt8] {
        if let command { context.commandStatistics.record(commandAt: command.index, failed: true) }
        logger.warning("peer refused", ("peer.uid", String(peer.uid)), ("peer.gid", String(peer.gid)),
                       ("peer.pid", String(peer.pid)), ("request.command", command?.handler.commandName ?? "-"))
        return ResponseWriter.failure(id: id, RelydError(.accessDenied, "this peer may not run this command"))
    }

    /// The response line for a request line longer than the limit.
    public static func requestTooLarge(limit: Int) -> [UInt8] {
        ResponseWriter.failure(id: nil, RelydError(.requestTooLarge, "the request line exceeds \(limit) bytes"))
    }

    private static func milliseconds(since start: ContinuousClock.Instant) -> String {
        let elapsed = ContinuousClock.now - start
        let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        return ms.formatted(fractionDigits: 1)
    }
}
