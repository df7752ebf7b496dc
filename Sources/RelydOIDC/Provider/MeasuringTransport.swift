#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import RelydBasics
import RelydHTTP
import RelydProtocol

/// The latencies and failures of calls to the OPs, per host, for `stats`.
///
/// Per host rather than per endpoint: the transport sees URLs only, and one OP is one host, which is what an
/// operator chasing a slow login wants to find. Latencies go into fixed buckets, so memory stays constant however
/// many calls are made; p50 and p99 are reported as the upper bound of the bucket they fall in.
public final class OPCallStatistics: Sendable {
    /// Upper bounds of the latency buckets, in milliseconds; a last bucket holds everything slower.
    public static let bucketBoundsMilliseconds = [10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000]

    private struct Host {
        var count = 0
        var errors = 0
        var buckets = [Int](repeating: 0, count: OPCallStatistics.bucketBoundsMilliseconds.count + 1)
        var slowestMilliseconds = 0
    }

    /// At most this many hosts are tracked; calls to further hosts are counted under `other`, so that sites
    /// registered against many OPs cannot grow the table without bound.
    static let maxHosts = 256
    private let hosts = Locked<[String: Host]>([:])

    public init() {}

    /// Records one call to `host` that took `duration`; `failed` when it got no HTTP response or a 5xx.
    public func record(host: String, duration: Duration, failed: Bool) {
        let milliseconds = Int(max(0, duration.wholeMilliseconds))
        let bucket = Self.bucketBoundsMilliseconds.firstIndex { milliseconds <= $0 }
            ?? Self.bucketBoundsMilliseconds.count
        hosts.withLock { hosts in
            let key = hosts[host] != nil || hosts.count < Self.maxHosts ? host : "other"
            var entry = hosts[key] ?? Host()
            entry.count += 1
            if failed { entry.errors += 1 }
            entry.buckets[bucket] += 1
            entry.slowestMilliseconds = max(entry.slowestMilliseconds, milliseconds)
            hosts[key] = entry
        }
    }

    /// The figures of every host called so far.
    public var snapshot: [String: Stats.OPCalls] {
        hosts.withLock { $0 }.mapValues { host in
            let bounds = Self.bucketBoundsMilliseconds
            func quantile(_ fraction: Double) -> Int {
                let rank = Int((Double(host.count) * fraction).rounded(.up))
                var seen = 0
                for (index, count) in host.buckets.enumerated() {
                    seen += count
                    if seen >= max(1, rank) { return index < bounds.count ? bounds[index] : host.slowestMilliseconds }
                }
                return host.slowestMilliseconds
            }
            let buckets = host.buckets.enumerated().map { index, count in
                Stats.LatencyBucket(upperBoundMilliseconds: index < bounds.count ? bounds[index] : nil, count: count)
            }
            return Stats.OPCalls(count: host.count, errors: host.errors, p50Milliseconds: quantile(0.5),
                                 p99Milliseconds: quantile(0.99), buckets: buckets)
        }
    }
}

/// An ``HTTPTransport`` that times every call of the one it wraps into ``OPCallStatistics``. The daemon puts it
/// between the engine and libcurl, so the engine stays unaware of measurement.
public struct MeasuringTransport: HTTPTransport {
    private let wrapped: any HTTPTransport
    private let statistics: OPCallStatistics
    private let clock: any MonotonicClock

    public init(wrapping wrapped: any HTTPTransport, statistics: OPCallStatistics, clock: any MonotonicClock) {
        self.wrapped = wrapped
        self.statistics = statistics
        self.clock = clock
    }

    public func send(_ request: HTTPRequest) async throws(HTTPTransportError) -> HTTPResponse {
        let host = Self.hostKey(request.url)
        let started = clock.now()
        do {
            let response = try await wrapped.send(request)
            statistics.record(host: host, duration: clock.now() - started, failed: response.status >= 500)
            return response
        } catch {
            statistics.record(host: host, duration: clock.now() - started, failed: true)
            throw error
        }
    }

    /// `host`, or `host:port` when the URL names a port.
    static func hostKey(_ url: URL) -> String {
        let host = url.host ?? "?"
        return url.port.map { "\(host):\($0)" } ?? host
    }
}
