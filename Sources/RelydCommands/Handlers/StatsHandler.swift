import RelydProtocol

/// `stats`: the dispatcher's counters, the OP calls and caches, plus what the daemon reports through
/// ``CommandContext/operations``.
public enum StatsHandler: CommandHandler {
    public typealias Command = Stats

    public static func run(_ parameters: NoParameters, context: CommandContext) throws -> Stats.Result {
        let uptime = context.environment.clock.now().timeIntervalSince(context.startedAt)
        let commands = context.commandStatistics.snapshot.mapValues {
            Stats.CommandCounts(requests: $0.requests, errors: $0.errors)
        }
        let caches = [
            "provider_metadata": context.providers.metadataCounters.snapshot,
            "provider_jwks": context.providers.keySetCounters.snapshot,
            "client_tokens": context.clientTokens.counters.snapshot,
        ]
        return Stats.Result(uptimeSeconds: max(0, Int(uptime)), commands: commands,
                            connections: context.operations.connections(), storeBytes: context.operations.storeBytes(),
                            opCalls: context.opCalls.snapshot, caches: caches)
    }
}
