import Foundation
import RelydBasics
import RelydOIDC
import RelydProtocol
import RelydTestSupport
import Testing

/// SingleFlight: callers that overlap share one run; a run that ended is forgotten.
@Suite struct SingleFlightTests {
    /// A caller arriving while the work runs gets the same value, and the work runs once.
    @Test func overlappingCallers_shareOneRun() async throws {
        let flight = SingleFlight<Int>()
        let runs = Locked(0)
        let gate = RequestGate()
        let results = await gate.overlappingCalls(2) {
            try? await flight.run("key") {
                let run = runs.withLock { $0 += 1; return $0 }
                await gate.pass()
                return run * 100
            }
        }
        #expect(results == [100, 100])
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
