import RelydBasics
@testable import RelydServer
import Testing

/// The event loop's table of connections by epoll token.
@Suite struct ConnectionTableTests {
    private func connection(_ id: UInt64, _ token: UInt64) -> Connection {
        Connection(id: id, token: token, fd: -1, peer: PeerCredentials(pid: 1, uid: 0, gid: 0), maxLineBytes: 64,
                   interest: 0, logger: .discarding)
    }

    /// Each connection is found by its own token; a freed slot is reused under a new token, and the old token
    /// (an event still queued for the closed connection) finds nothing, nor removes the new one.
    @Test func tokens_findTheirConnection_andAFreedSlotsOldTokenFindsNothing() {
        var table = ConnectionTable()
        let first = table.add { connection(1, $0) }
        let second = table.add { connection(2, $0) }
        #expect(first.token != second.token)
        #expect(table[first.token] === first)
        #expect(table[second.token] === second)
        #expect(table.count == 2)

        let removed = table.remove(token: first.token)
        #expect(removed)
        #expect(table[first.token] == nil)
        let removedTwice = table.remove(token: first.token)
        #expect(!removedTwice)
        let third = table.add { connection(3, $0) }
        #expect(third.token != first.token)
        #expect(table[first.token] == nil)
        let staleRemoved = table.remove(token: first.token)
        #expect(!staleRemoved)
        #expect(table[third.token] === third)
        #expect(Set(table.all.map(\.id)) == [2, 3])
        #expect(table.count == 2)
    }

    /// Tokens never collide with the loop's own (the listener's and the wake-up descriptor's), nor are unknown
    /// tokens found.
    @Test func reservedAndUnknownTokens_findNothing() {
        var table = ConnectionTable()
        var tokens: [UInt64] = []
        for id in 0..<1000 { tokens.append(table.add { token in connection(UInt64(id), token) }.token) }
        #expect(!tokens.contains(EventLoop.listenerToken))
        #expect(!tokens.contains(EventLoop.wakeToken))
        #expect(table[EventLoop.listenerToken] == nil)
        #expect(table[EventLoop.wakeToken] == nil)
        #expect(table[UInt64(1) << 32 | 5] == nil)
        table.removeAll()
        #expect(table.isEmpty)
        #expect(table[tokens[0]] == nil)
    }
}
