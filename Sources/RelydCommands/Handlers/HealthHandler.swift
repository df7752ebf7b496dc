import RelydProtocol

/// `health`: answers without touching the store or the OP, so it measures the daemon alone.
public enum HealthHandler: CommandHandler {
    public typealias Command = Health

    public static func run(_ parameters: NoParameters, context: CommandContext) throws -> Health.Result {
        let uptime = context.environment.clock.now().timeIntervalSince(context.startedAt)
        return Health.Result(status: "ok", version: context.version, uptimeSeconds: max(0, Int(uptime)))
    }
}
