import RelydProtocol

/// The daemon's side of one command: the work, given parameters the dispatcher has already decoded and checked
/// against the command's descriptor.
///
/// A handler throws ``RelydError`` for failures the client should hear about; anything else it throws becomes
/// `internal_error` in the dispatcher.
public protocol CommandHandler: Sendable {
    associatedtype Command: CommandDescriptor

    /// The command's work. A handler that never waits implements it without `async` (as `health` and `stats` do):
    /// that satisfies the requirement too, and saves the request an async frame (about 140 instructions of the
    /// 14,400 a `health` request cost).
    nonisolated(nonsending) static func run(_ parameters: Command.Parameters, context: CommandContext) async throws
        -> Command.Result

    /// Whether the command creates, changes or deletes sites: then only the peers of `admin_uids` /
    /// `admin_gids` may run it (when those are set). The dispatcher checks it before the handler runs.
    static var changesSites: Bool { get }

    /// The success line for `result`. Not for handlers to implement: a requirement so that the writing is chosen
    /// once per command, by the result's type (``JSONObjectWritable`` or `Encodable`), rather than by a dynamic cast
    /// per request.
    static func successLine(id: RequestID?, _ result: Command.Result) throws -> [UInt8]
}

extension CommandHandler {
    public static func successLine(id: RequestID?, _ result: Command.Result) throws -> [UInt8] {
        try ResponseWriter.success(id: id, result)
    }
}

extension CommandHandler where Command.Result: JSONObjectWritable {
    public static func successLine(id: RequestID?, _ result: Command.Result) throws -> [UInt8] {
        try ResponseWriter.success(id: id, result)
    }
}

extension CommandHandler {
    public static var changesSites: Bool { false }
}

extension CommandHandler {
    /// Decodes the parameters, runs the command and encodes the success line.
    nonisolated(nonsending) static func respond(to request: RequestEnvelope, context: CommandContext) async throws -> [UInt8] {
        let parameters = try request.decodeParameters(Command.Parameters.self)
        let result = try await run(parameters, context: context)
        return try successLine(id: request.id, result)
    }
}
