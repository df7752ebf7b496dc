#if canImport(Glibc)
import Glibc
#endif
import RelydBasics
import RelydCommands
import RelydProtocol

extension OperationalProbes {
    /// The probes of the running daemon: the socket server's counters (once it exists) and the size of the
    /// SQLite store's files in `sqliteDirectory` (none for a PostgreSQL store, whose files are the server's).
    static func daemon(server: Locked<SocketServer?>, sqliteDirectory: String?) -> OperationalProbes {
        OperationalProbes(
            connections: {
                server.withLock { $0 }.map { server in
                    let statistics = server.statistics
                    return Stats.Connections(open: statistics.openConnections, total: statistics.acceptedConnections)
                }
            },
            storeBytes: {
                guard let sqliteDirectory else { return nil }
                let files = ["relyd.sqlite3", "relyd.sqlite3-wal"]
                let sizes = files.compactMap { name -> Int? in
                    var status = stat()
                    return stat(sqliteDirectory + "/" + name, &status) == 0 ? Int(status.st_size) : nil
                }
                return sizes.isEmpty ? nil : sizes.reduce(0, +)
            })
    }
}
