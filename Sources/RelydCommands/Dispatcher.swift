import Foundation
import RelydBasics
import RelydProtocol

/// Turns one request line into one response line. All generic checks happen here, before any handler runs:
/// the envelope (UTF-8, JSON, object, `id`, `command`, `params`), the command's existence, and the parameters'
/// names and types. Errors reach the wire only through this type.
public struct Dispatcher: Sendable {
    public let context: CommandContext

    public init(context: CommandContext) {
        self.context = context
    }

    /// The response line (newline included) for `line`. Never throws: every failure becomes an error envelope.
    public func respond(to line: [UInt8]) async -> [UInt8] {
        let request: RequestEnvelope
        do {
            request = try RequestEnvelope(parsing: line)
        } catch {
            return ResponseWriter.failure(id: error.id, error.error)
        }
        guard let handler = CommandTable.byName[request.command] else {
            return ResponseWriter.failure(id: request.id, RelydError(
                .unknownCommand, "unknown command '\(RelydError.quoting(request.command, limit: 80))'"))
        }
        let started = ContinuousClock.now
        do {
            let response = try await handler.respond(to: request, context: context)
            context.logger.debug("command served", ("request.command", request.command),
                                 ("duration.ms", Self.milliseconds(since: started)))
            return response
        } catch let error as RelydError {
            context.logger.info("command failed", ("request.command", request.command),
                                ("error.code", error.code.rawValue), ("error.description", error.loggableDescription))
            return ResponseWriter.failure(id: request.id, error)
        } catch {
            // The detail may be anything (a store error, an encoder error): it goes to the log only.
            context.logger.error("command failed unexpectedly", ("request.command", request.command),
                                 ("error.detail", String(describing: error)))
            return ResponseWriter.failure(id: request.id, RelydError(.internalError, RelydError.internalErrorMessage))
        }
    }

    /// The response line for a request line longer than the limit.
    public static func requestTooLarge(limit: Int) -> [UInt8] {
        ResponseWriter.failure(id: nil, RelydError(.requestTooLarge, "the request line exceeds \(limit) bytes"))
    }

    private static func milliseconds(since start: ContinuousClock.Instant) -> String {
        let elapsed = ContinuousClock.now - start
        let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        return String(format: "%.1f", ms)
    }
}
