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
            let relydResult = try runClosedLoop(socketPath: relyd.socketPath, request: health,
                                                connections: connections, duration: seconds)
            let redisResult = try runClosedLoop(socketPath: redis.socketPath, request: ping,
                                                connections: connections, duration: seconds)
            let ratio = relydResult.rate / redisResult.rate
            if connections == 64 { ratioAt64 = ratio }
            let relydLatency = medianAndTail(relydResult.latencies)
            let redisLatency = medianAndTail(redisResult.latencies)
            rows.append([
                "\(connections)", Format.rate(relydResult.rate),
                "\(Format.micros(relydLatency.p50)) / \(Format.micros(relydLatency.p99))",
                Format.rate(redisResult.rate),
                "\(Format.micros(redisLatency.p50)) / \(Format.micros(redisLatency.p99))",
                "**\(Format.ratio(ratio))**",
            ])
        }
        report.heading("1. Transport: `health` vs redis-server `PING`, both over a Unix socket")
        report.paragraph("""
            Load generator: relyd-bench itself, one thread, N non-blocking connections on epoll, request-response \
            per connection (the next request is written only after the previous answer's newline arrived; no \
            pipelining); \(seconds) s per cell after a 0.3 s warm-up. The same code drives both servers; only the \
            request line differs (`{"id":1,"command":"health"}` vs `PING`). Client and servers share the cores.
            """)
        report.table(["connections", "relyd health req/s", "relyd p50 / p99", "redis PING req/s",
                      "redis p50 / p99", "relyd / redis"], rows)
        report.paragraph("Goal: at least 0.80x redis at 64 connections: \(Format.ratio(ratioAt64)), "
                         + Format.verdict(ratioAt64 >= 0.8) + ".")
    }
}
