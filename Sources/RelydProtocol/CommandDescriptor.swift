/// The parameters of one command, as they travel in a request's `params` object.
///
/// `CodingKeys` lists every wire name the command accepts: the dispatcher refuses any other member of `params`
/// with `invalid_parameter`, so a misspelled optional parameter is an error rather than silently ignored.
/// relyctl's catalog learns each member's kind and whether it is required by running `init(from:)` against a
/// recording decoder (RelydClient's ParameterProbe): an optional member must be decoded with `decodeIfPresent`, as
/// the synthesized initialiser does, or relyctl will call it required.
public protocol CommandParameters: Codable, Sendable {
    associatedtype CodingKeys: CodingKey & CaseIterable
    /// The names of all members `params` may have.
    static var parameterNames: Set<String> { get }
}

extension CommandParameters {
    public static var parameterNames: Set<String> { Set(CodingKeys.allCases.map(\.stringValue)) }
}

/// A command of the wire protocol: its name, its parameters and its result.
///
/// The descriptors live in the protocol layer so that the daemon and every client agree on them; the daemon's
/// handlers are bound to them in its command table.
public protocol CommandDescriptor: Sendable {
    associatedtype Parameters: CommandParameters
    associatedtype Result: Codable & Sendable

    /// The wire name, snake_case (`get_tokens_by_code`).
    static var name: String { get }
    /// One line for `relyctl help` and the protocol reference.
    static var summary: String { get }
}

/// Parameters of a command that takes none.
public struct NoParameters: CommandParameters, Equatable {
    public enum CodingKeys: String, CodingKey, CaseIterable { case none = "" }

    public init() {}
    public init(from decoder: any Decoder) throws {}
    public func encode(to encoder: any Encoder) throws {
        _ = encoder.container(keyedBy: CodingKeys.self)
    }

    public static var parameterNames: Set<String> { [] }
}
