import Foundation

/// Section 1: `health` through relyd's socket against redis-server answering PING, same load generator.
enum TransportBench {
    static let connectionCounts = [1, 16, 64]

    static func run(seconds: Double, report: inout Report) throws {
        let scratch = try ScratchDirectory("transport")
        let relyd = try RelydProcess(in: scratch.path)
        defer { relyd.stop() }
        let redis = try RedisProcess(in: scratch.path)
        defer { redis.stop() }
        let health = Array(#"{"id":1,"command":"health"}"#.utf8) + [0x0A]
        let ping = Array("PING\r\n".utf8)

        var rows: [[String]] = []
        var ratioAt64 = 0.0
        for connections in connectionCounts {
            progress("transport: \(connections) connections")
            let (relydResult, redisResult) = try alternating(
                (relyd.socketPath, health, { relyd.cpuSeconds }), (redis.socketPath, ping, { redis.cpuSeconds }),
                connections: connections, seconds: seconds)
            let ratio = relydResult.load.rate / redisResult.load.rate
            if connections == 64 { ratioAt64 = ratio }
            let relydLatency = medianAndTail(relydResult.load.latencies)
            let redisLatency = medianAndTail(redisResult.load.latencies)
            rows.append([
                "\(connections)", Format.rate(relydResult.load.rate),
                "\(Format.micros(relydLatency.p50)) / \(Format.micros(relydLatency.p99))",
                Format.microsPrecise(relydResult.cpuPerRequest),
                Format.rate(redisResult.load.rate),
                "\(Format.micros(redisLatency.p50)) / \(Format.micros(redisLatency.p99))",
                Format.microsPrecise(redisResult.cpuPerRequest),
                "**\(Format.ratio(ratio))**", Format.ratio(redisResult.cpuPerRequest / relydResult.cpuPerRequest),
            ])
        }
        report.heading("1. Transport: `health` vs redis-server `PING`, both over a Unix socket")
        report.paragraph("""
            Load generator: relyd-bench itself, one thread, N non-blocking connections on epoll, request-response \
            per connection (the next request is written only after the previous answer's newline arrived; no \
            pipelining). The same code drives both servers; only the request line differs \
            (`{"id":1,"command":"health"}` vs `PING`). Client and servers share the cores. Each cell is \
            \(seconds) s per server, run as \(sliceCount(seconds)) turns of equal length that alternate between \
            relyd and redis (who goes first alternates too), each after a warm-up that is not counted: this \
            machine's speed drifts over seconds, and alternating gives both servers the same share of it. CPU per \
            request: the server process's user + system time (/proc/PID/stat, all its threads) over its turns, \
            divided by every answer it sent in them (the counters move in 10 ms ticks, a few percent of a 1 s \
            turn at one connection). It depends less than throughput on how the cores were shared (though fewer \
            requests per wake-up still cost more CPU each), so it is the steadier comparison of the two servers' \
            own costs ("CPU ratio" = redis's CPU per request over relyd's).
            """)
        report.table(["connections", "relyd health req/s", "relyd p50 / p99", "relyd CPU per request",
                      "redis PING req/s", "redis p50 / p99", "redis CPU per request", "relyd / redis",
                      "CPU ratio"], rows)
        report.paragraph("Goal: at least 0.80x redis at 64 connections: \(Format.ratio(ratioAt64)), "
                         + Format.verdict(ratioAt64 >= 0.8) + ".")
    }

    /// Turns per server in one cell: about one per second.
    static func sliceCount(_ seconds: Double) -> Int { max(1, Int(seconds.rounded())) }

    /// Calls `body` with side 0 and side 1 in each of `turns` rounds, alternating which goes first: this machine's
    /// speed drifts over seconds, and alternating gives both sides the same share of it.
    static func inAlternatingTurns(_ turns: Int, _ body: (_ side: Int) throws -> Void) rethrows {
        for turn in 0..<turns {
            for side in turn.isMultiple(of: 2) ? [0, 1] : [1, 0] { try body(side) }
        }
    }

    /// A server's load result over all its turns, and its CPU time per answered request in them.
    struct Measured {
        var load: LoadResult
        var cpuPerRequest: Double
    }

    typealias Server = (socketPath: String, request: [UInt8], cpuSeconds: () -> Double)

    /// Runs `first` and `second` in alternating turns of `seconds / sliceCount` each.
    private static func alternating(_ first: Server, _ second: Server, connections: Int, seconds: Double) throws
        -> (Measured, Measured)
    {
        let slices = sliceCount(seconds)
        let servers = [first, second]
        var results: [[LoadResult]] = [[], []]
        var cpu = [0.0, 0.0]
        try inAlternatingTurns(slices) { index in
            let server = servers[index]
            let before = server.cpuSeconds()
            results[index].append(try runClosedLoop(socketPath: server.socketPath, request: server.request,
                                                    connections: connections, duration: seconds / Double(slices)))
            cpu[index] += server.cpuSeconds() - before
        }
        let measured = (0..<2).map { index in
            let load = LoadResult.combined(results[index])
            return Measured(load: load, cpuPerRequest: cpu[index] / Double(max(1, load.answered)))
        }
        return (measured[0], measured[1])
    }
}
