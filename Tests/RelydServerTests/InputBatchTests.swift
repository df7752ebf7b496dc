import RelydProtocol
@testable import RelydServer
import Testing

/// The inputs a read hands to a connection's task: kept in order whether one or many.
@Suite struct InputBatchTests {
    private func lines(_ batch: InputBatch) -> [String] {
        batch.map { input in
            if case .line(let bytes) = input { return String(decoding: bytes, as: UTF8.self) }
            return "refusal"
        }
    }

    @Test func inputs_comeOutInTheOrderTheyWentIn() {
        var batch = InputBatch()
        #expect(batch.isEmpty && batch.count == 0 && lines(batch).isEmpty)
        batch.append(.line(Array("a".utf8)))
        #expect(!batch.isEmpty && batch.count == 1 && lines(batch) == ["a"])
        batch.append(.refusal(RelydError(.rateLimited, "x")))
        batch.append(.line(Array("c".utf8)))
        var backlog = InputBatch()
        backlog.append(.line(Array("0".utf8)))
        backlog.append(contentsOf: batch)
        #expect(backlog.count == 4)
        #expect(lines(backlog) == ["0", "a", "refusal", "c"])
    }
}
