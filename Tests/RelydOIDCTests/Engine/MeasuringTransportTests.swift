import Foundation
import RelydBasics
import RelydHTTP
import RelydOIDC
import RelydProtocol
import Testing

/// A monotonic clock that moves on by the next of `steps` each time it is read.
private final class SteppingClock: MonotonicClock, @unchecked Sendable {
    private let lock = NSLock()
    private var instant = ContinuousClock.now
    private var steps: [Duration]

    init(steps: [Duration]) { self.steps = steps }

    func now() -> ContinuousClock.Instant {
        lock.withLock {
            if !steps.isEmpty { instant += steps.removeFirst() }
            return instant
        }
    }
}

/// Answers with the status the URL's path names (`/status/503`), or fails as unreachable for `/down`.
private struct ScriptedTransport: HTTPTransport {
    func send(_ request: HTTPRequest) async throws(HTTPTransportError) -> HTTPResponse {
        if request.url.path == "/down" { throw .unreachable("connection refused") }
        return HTTPResponse(status: Int(request.url.lastPathComponent) ?? 200)
    }
}

/// The timing decorator the daemon puts around its transport, and the figures `stats` reports from it.
@Suite struct MeasuringTransportTests {
    /// Calls are counted per host (with its port when named), in latency buckets; no response and 5xx are errors.
    @Test func calls_areCountedPerHost_withLatencyBucketsAndErrors() async throws {
        // Each call reads the clock twice: the first read starts it, the second ends it after the step.
        let clock = SteppingClock(steps: [.zero, .milliseconds(5), .zero, .milliseconds(40), .zero,
                                          .milliseconds(40), .zero, .milliseconds(20_000), .zero, .milliseconds(1)])
        let statistics = OPCallStatistics()
        let transport = MeasuringTransport(wrapping: ScriptedTransport(), statistics: statistics, clock: clock)
        _ = try await transport.send(HTTPRequest(url: URL(string: "https://op.example/status/200")!))
        _ = try await transport.send(HTTPRequest(url: URL(string: "https://op.example/status/400")!))
        _ = try await transport.send(HTTPRequest(url: URL(string: "https://op.example/status/503")!))
        await #expect(throws: HTTPTransportError.unreachable("connection refused")) {
            _ = try await transport.send(HTTPRequest(url: URL(string: "https://op.example/down")!))
        }
        _ = try await transport.send(HTTPRequest(url: URL(string: "http://127.0.0.1:8080/status/200")!))

        let figures = statistics.snapshot
        #expect(Set(figures.keys) == ["op.example", "127.0.0.1:8080"])
        let op = try #require(figures["op.example"])
        #expect(op.count == 4)
        #expect(op.errors == 2)
        #expect(op.buckets.map(\.count) == [1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1])
        #expect(op.buckets.last?.upperBoundMilliseconds == nil)
        #expect(op.p50Milliseconds == 50)
        #expect(op.p99Milliseconds == 20_000)
        #expect(figures["127.0.0.1:8080"]?.p50Milliseconds == 10)
    }

    /// The wire form: p50_ms, p99_ms, and buckets whose last le_ms is null; cache counts carry their hit rate.
    @Test func figures_encodeWithTheirWireNames() throws {
        let statistics = OPCallStatistics()
        statistics.record(host: "op.example", duration: .milliseconds(30), failed: false)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let text = String(decoding: try encoder.encode(statistics.snapshot), as: UTF8.self)
        #expect(text.contains(#""p50_ms":50"#))
        #expect(text.contains(#""p99_ms":50"#))
        #expect(text.contains(#"{"count":0,"le_ms":null}"#))
        let cache = String(decoding: try encoder.encode(Stats.CacheCounts(hits: 3, misses: 1)), as: UTF8.self)
        #expect(cache == #"{"hit_rate":0.75,"hits":3,"misses":1}"#)
    }
}
