import RelydProtocol

/// The daemon's side of one command: the work, given parameters the dispatcher has already decoded and checked
/// against the command's descriptor.
///
/// A handler throws ``RelydError`` for failures the client should hear about; anything else it throws becomes
/// `internal_error` in the dispatcher.
public protocol CommandHandler: Sendable {
    associatedtype Command: CommandDescriptor

    static func run(_ parameters: Command.Parameters, context: CommandContext) async throws -> Command.Result

    /// Whether the command creates, changes or deletes sites: then only the peers of `admin_uids` /
    /// `admin_gids` may run it (when those are set). The dispatcher checks it before the handler runs.
    static var changesSites: Bool { get }
}

extension CommandHandler {
    public static var changesSites: Bool { false }
}

extension CommandHandler {
    /// Decodes the parameters, runs the command and encodes the success line.
    static func respond(to request: RequestEnvelope, context: CommandContext) async throws -> [UInt8] {
        let parameters = try request.decodeParameters(Command.Parameters.self)
        let result = try await run(parameters, context: context)
        return try ResponseWriter.success(id: request.id, result)
    }
}
