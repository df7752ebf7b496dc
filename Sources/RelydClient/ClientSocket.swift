import Glibc

/// Every socket call of the client, and nothing else: a blocking Unix-domain stream socket.
///
/// Callers must not use these from the Swift cooperative pool; ``ClientCore`` runs them on its I/O queue
/// (connect, send) and on a connection's reader thread (receive). `EINTR` is retried everywhere.
enum ClientSocket {
    /// The outcome of writing one request line.
    enum SendOutcome: Equatable {
        case sent
        /// `written` bytes reached the socket before the failure; 0 means the daemon never saw any of the line.
        case failed(written: Int, errno: Int32)
    }

    /// Opens a connection to the daemon's socket at `path`.
    ///
    /// `sendTimeoutSeconds` bounds how long one `send` may block when the daemon stops reading.
    static func connect(path: String, sendTimeoutSeconds: Double) -> Result<Int32, RelydClientError> {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard !pathBytes.isEmpty, pathBytes.count < capacity, !pathBytes.contains(0) else {
            return .failure(RelydClientError(.connectionFailed,
                "socket path '\(path)' is empty, contains NUL or is longer than \(capacity - 1) bytes"))
        }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: pathBytes + [0]) }

        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else {
            return .failure(RelydClientError(.connectionFailed, "socket(): \(describe(errno))"))
        }
        if sendTimeoutSeconds > 0 {
            var timeout = timeval()
            timeout.tv_sec = Int(sendTimeoutSeconds)
            timeout.tv_usec = Int((sendTimeoutSeconds - Double(Int(sendTimeoutSeconds))) * 1_000_000)
            _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        }
        let length = socklen_t(MemoryLayout<sockaddr_un>.size)
        while true {
            let result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, length) }
            }
            if result == 0 { return .success(fd) }
            let error = errno
            if error == EINTR { continue }
            _ = Glibc.close(fd)
            return .failure(RelydClientError(.connectionFailed,
                "cannot connect to '\(path)': \(describe(error)); is relyd running?"))
        }
    }

    /// Writes all of `bytes` with `MSG_NOSIGNAL`, so a closed peer gives `EPIPE` rather than `SIGPIPE`.
    static func sendAll(_ fd: Int32, _ bytes: [UInt8]) -> SendOutcome {
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeBytes { buffer in
                send(fd, buffer.baseAddress.map { $0 + written }, bytes.count - written, Int32(MSG_NOSIGNAL))
            }
            if result >= 0 {
                written += result
                continue
            }
            let error = errno
            if error == EINTR { continue }
            return .failed(written: written, errno: error)
        }
        return .sent
    }

    /// Reads what is available into `buffer`, blocking until at least one byte arrives.
    ///
    /// - Returns: the byte count, 0 at end of stream, or `-errno` on failure.
    static func receive(_ fd: Int32, into buffer: inout [UInt8]) -> Int {
        while true {
            let result = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if result >= 0 { return result }
            let error = errno
            if error == EINTR { continue }
            return -Int(error)
        }
    }

    /// Wakes a reader blocked in ``receive(_:into:)`` and stops further writes; the descriptor stays open.
    static func shutdownBoth(_ fd: Int32) {
        _ = shutdown(fd, Int32(SHUT_RDWR))
    }

    static func close(_ fd: Int32) {
        // Not retried on EINTR: on Linux the descriptor is released either way.
        _ = Glibc.close(fd)
    }

    static func describe(_ error: Int32) -> String {
        String(cString: strerror(error))
    }
}
