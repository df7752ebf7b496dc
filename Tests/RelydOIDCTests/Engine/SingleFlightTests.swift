import Foundation
import RelydBasics
import RelydOIDC
import RelydProtocol
import Testing

/// SingleFlight: callers that overlap share one run; a run that ended is forgotten.
@Suite struct SingleFlightTests {
    /// A gate the work waits at, and a signal that the work has started.
    final class Gate: Sendable {
        let started: AsyncStream<Void>
        let startedContinuation: AsyncStream<Void>.Continuation
        let open: AsyncStream<Void>
        let openContinuation: AsyncStream<Void>.Continuation

        init() {
            (started, startedContinuation) = AsyncStream.makeStream()
            (open, openContinuation) = AsyncStream.makeStream()
        }

        func pass() async {
            startedContinuation.yield()
            for await _ in open { return }
        }
    }

    /// A caller arriving while the work runs gets the same value, and the work runs once.
    @Test func overlappingCallers_shareOneRun() async throws {
        let flight = SingleFlight<Int>()
        let runs = Locked(0)
        let gate = Gate()
        let work: @Sendable () async throws -> Int = {
            let run = runs.withLock { $0 += 1; return $0 }
            await gate.pass()
            return run * 100
        }
        async let first = flight.run("key", work)
        for await _ in gate.started { break }
        async let second = flight.run("key", work)
        // Let the second caller reach the actor before the work ends.
        try await Task.sleep(for: .milliseconds(50))
        gate.openContinuation.yield()
        #expect(try await [first, second] == [100, 100])
        #expect(runs.withLock { $0 } == 1)
    }

    /// A failure reaches the caller; after a flight ends, a new call for the key runs the work again.
    @Test func failureIsThrown_andAnEndedFlightIsForgotten() async throws {
        let flight = SingleFlight<Int>()
        let runs = Locked(0)
        await #expect(throws: RelydError(.opError)) {
            try await flight.run("key") {
                runs.withLock { $0 += 1 }
                throw RelydError(.opError)
            }
        }
        #expect(try await flight.run("key") { runs.withLock { $0 += 1; return $0 } } == 2)
        #expect(try await flight.run("other") { 7 } == 7)
    }
}
