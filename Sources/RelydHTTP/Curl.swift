// The only file in relyd that calls libcurl.
//
// Design: one multi handle, driven by one dedicated background thread ("the worker"). `send` builds a `Transfer`
// box, queues it under a lock, wakes the worker with `curl_multi_wakeup` and suspends on a continuation; the worker
// adds the transfer's easy handle to the multi, runs `curl_multi_perform`/`curl_multi_poll`, and resumes the
// continuation when libcurl reports the transfer done. Hundreds of concurrent requests therefore cost no threads,
// and every connection lives in the multi handle's connection cache, so requests to the same OP reuse connections.
//
// Concurrency invariants (Swift 6 strict concurrency cannot check them, hence `@unchecked Sendable`):
//   * Every libcurl handle (CURLM*, CURL*, curl_slist*) and every per-transfer scratch field is touched only by the
//     worker thread. libcurl invokes the write and header callbacks from inside `curl_multi_perform`, i.e. on the
//     worker thread, too.
//   * The only libcurl call made from other threads is `curl_multi_wakeup`, which libcurl documents as callable from
//     any thread. It is made only while holding `CurlEngine.lock` and only while `state == .running`; the worker
//     leaves `.running` under the same lock before it calls `curl_multi_cleanup`, so a wakeup never races cleanup.
//   * The queues (`incoming`, `cancellations`), `state`, and each transfer's `continuation` and `cancelRequested`
//     are guarded by `CurlEngine.lock`. A continuation is resumed exactly once: by `submit` if it refuses the
//     transfer, otherwise by the worker, which takes it out of the transfer under the lock before resuming it.

import CCurl
import Dispatch
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import RelydBasics

// MARK: - Public API

/// An `HTTPTransport` on libcurl's multi interface. Create one per daemon and share it: it is `Sendable`, and
/// reusing it reuses connections (and libcurl's cached CA store).
///
/// Behaviour, whatever the request:
/// * only `http` and `https` URLs are accepted (`CURLOPT_PROTOCOLS_STR`/`CURLOPT_REDIR_PROTOCOLS_STR`), others throw
///   `.schemeNotAllowed` without touching the network;
/// * TLS peers are verified (`CURLOPT_SSL_VERIFYPEER` 1, `CURLOPT_SSL_VERIFYHOST` 2) against the trust anchors
///   described in `Configuration`;
/// * redirects are never followed: a 3xx is returned as an `HTTPResponse`;
/// * proxies from the environment (`http_proxy`, `https_proxy`, …) are ignored: `CURLOPT_PROXY` is "";
/// * no `Expect: 100-continue` is sent (an `Expect:` header suppresses it unless the caller sets one);
/// * response bodies are capped by `Configuration.maxResponseBytes`, both from `Content-Length`
///   (`CURLOPT_MAXFILESIZE_LARGE`) and while receiving;
/// * task cancellation removes the transfer from libcurl at once and throws `.timedOut("request cancelled")`.
///
/// Error messages contain libcurl's error text (which may name the host or port) but never request bodies or
/// header values.
public final class CurlTransport: HTTPTransport {
    /// Limits and trust settings, fixed for the transport's lifetime.
    ///
    /// **Trust anchors.** A server certificate is accepted if it chains to any of:
    /// * `caFile`, when set (`CURLOPT_CAINFO`), a PEM bundle, e.g. relyd's `ca_file` setting;
    /// * `caDirectory`, when set (`CURLOPT_CAPATH`), an OpenSSL hashed directory (`openssl rehash`);
    /// * when `trustSystemStore` is true (the default), the system store: libcurl's built-in CA bundle
    ///   (`/etc/ssl/certs/ca-certificates.crt` on Debian) if `caFile` is nil, and libcurl's built-in CA directory
    ///   (`/etc/ssl/certs`, also hashed) if `caDirectory` is nil.
    ///
    /// So on Debian, with libcurl's OpenSSL backend, `caFile` *adds to* the system store: `CURLOPT_CAINFO` replaces
    /// the built-in bundle file, but the built-in `CURLOPT_CAPATH` directory, which holds the same system
    /// certificates, stays in force. Set `trustSystemStore = false` to trust `caFile`/`caDirectory` only (pinning a
    /// private OP's CA); with neither set, every HTTPS request then fails verification.
    /// Caveat (OpenSSL looks issuers up by subject name): a CA in `caFile` whose subject equals that of a different
    /// CA in the directory shadows it, so certificates issued by the directory's CA then fail. Give private CAs
    /// distinctive names.
    /// libcurl caches the parsed CA store for 24 hours (`CURLOPT_CA_CACHE_TIMEOUT`'s default): changing the files
    /// on disk takes effect with a new transport.
    public struct Configuration: Sendable, Equatable {
        /// Time allowed to establish the TCP connection and the TLS handshake. Values below 1 are raised to 1.
        public var connectTimeoutMilliseconds: Int
        /// Time allowed for the whole request, from the moment it is queued (including the connect and any wait
        /// for a free connection) to the last byte of the response. Values below 1 are raised to 1.
        public var totalTimeoutMilliseconds: Int
        /// The largest accepted response body; a larger one fails with `.responseTooLarge(limit:)`.
        public var maxResponseBytes: Int
        /// The largest accepted total size of the response header lines (including any interim 1xx blocks); more
        /// fails with `.responseTooLarge(limit: maxHeaderBytes)`.
        public var maxHeaderBytes: Int
        /// Extra trusted CA certificates, a PEM file (relyd's `ca_file`). See the type's documentation.
        public var caFile: String?
        /// Extra trusted CA certificates, an OpenSSL hashed directory. See the type's documentation.
        public var caDirectory: String?
        /// Whether the system's CA store is trusted too. See the type's documentation.
        public var trustSystemStore: Bool
        /// The `User-Agent` header, unless a request sets its own.
        public var userAgent: String
        /// At most this many simultaneous connections to one host (`CURLMOPT_MAX_HOST_CONNECTIONS`); further
        /// requests wait for a free connection, within their total timeout. 0 means unlimited.
        public var maxConnectionsPerHost: Int

        public init(
            connectTimeoutMilliseconds: Int = 3000,
            totalTimeoutMilliseconds: Int = 10000,
            maxResponseBytes: Int = 1 << 20,
            maxHeaderBytes: Int = 64 << 10,
            caFile: String? = nil,
            caDirectory: String? = nil,
            trustSystemStore: Bool = true,
            userAgent: String = "relyd",
            maxConnectionsPerHost: Int = 16
        ) {
            self.connectTimeoutMilliseconds = connectTimeoutMilliseconds
            self.totalTimeoutMilliseconds = totalTimeoutMilliseconds
            self.maxResponseBytes = maxResponseBytes
            self.maxHeaderBytes = maxHeaderBytes
            self.caFile = caFile
            self.caDirectory = caDirectory
            self.trustSystemStore = trustSystemStore
            self.userAgent = userAgent
            self.maxConnectionsPerHost = maxConnectionsPerHost
        }
    }

    /// The configuration at creation; ``timeouts`` may have changed since.
    public let configuration: Configuration
    /// Started by the first request rather than here: `curl_global_init` initialises OpenSSL (about 2 MB resident),
    /// and a daemon that has not called an OP yet needs neither it nor the worker thread (issue 7: idle memory).
    private let engine = Locked(EngineState.notStarted)
    private let currentTimeouts: TimeoutsBox

    /// The connect and total timeouts of requests, in milliseconds. Sent requests keep the ones they started with.
    public struct Timeouts: Sendable, Equatable {
        public var connectMilliseconds: Int
        public var totalMilliseconds: Int

        public init(connectMilliseconds: Int, totalMilliseconds: Int) {
            self.connectMilliseconds = connectMilliseconds
            self.totalMilliseconds = totalMilliseconds
        }
    }

    /// The timeouts new requests get; the daemon changes them on SIGHUP.
    public var timeouts: Timeouts {
        get { currentTimeouts.value }
        set { currentTimeouts.value = newValue }
    }

    private enum EngineState {
        case notStarted
        case started(CurlEngine)
        /// Kept so that every `shutdown` caller waits for the same worker.
        case shutDown(CurlEngine?)
    }

    /// The transport starts libcurl and its background thread with its first request. If libcurl cannot be
    /// initialised, the transport still exists but every request fails with `.unreachable`.
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
        self.currentTimeouts = TimeoutsBox(Timeouts(connectMilliseconds: configuration.connectTimeoutMilliseconds,
                                                    totalMilliseconds: configuration.totalTimeoutMilliseconds))
    }

    deinit {
        // No request can be in flight here (each `send` holds a reference to `self`); just let the thread go.
        if case .started(let engine) = engine.withLock({ $0 }) { engine.requestStop() }
    }

    /// Whether a request has started libcurl and the worker thread.
    var hasStarted: Bool {
        engine.withLock {
            switch $0 {
            case .notStarted, .shutDown(nil): false
            case .started, .shutDown: true
            }
        }
    }

    public func send(_ request: HTTPRequest) async throws(HTTPTransportError) -> HTTPResponse {
        let transfer = try Transfer(request: request, configuration: configuration, timeouts: timeouts)
        let started = engine.withLock { state -> CurlEngine? in
            switch state {
            case .notStarted:
                let engine = CurlEngine(configuration: configuration)
                state = .started(engine)
                return engine
            case .started(let engine): return engine
            case .shutDown: return nil
            }
        }
        guard let engine = started else { throw .unreachable("HTTP transport is shut down") }
        let result = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Transfer.Outcome, Never>) in
                engine.submit(transfer, continuation: continuation)
            }
        } onCancel: {
            engine.cancel(transfer)
        }
        return try result.get()
    }

    /// Stops the background thread: requests in flight and later ones fail with
    /// `.unreachable("HTTP transport is shut down")`. Waits (briefly) until the thread has released every libcurl
    /// handle. Safe to call more than once and from several threads.
    public func shutdown() {
        let started = engine.withLock { state -> CurlEngine? in
            let engine: CurlEngine? = switch state {
            case .notStarted: nil
            case .started(let engine): engine
            case .shutDown(let engine): engine
            }
            state = .shutDown(engine)
            return engine
        }
        started?.requestStop()
        started?.waitUntilStopped()
    }
}

// MARK: - libcurl global state

private enum CurlGlobal {
    /// `curl_global_init` must run once before any other libcurl call. A static `let` is initialised exactly once,
    /// thread-safely, by the Swift runtime.
    static let initialised: Bool = curl_global_init(relyd_CURL_GLOBAL_DEFAULT) == CURLE_OK
}

// MARK: - One request

/// One request and its response as it arrives. See the file header for which thread may touch which field.
private final class Transfer: @unchecked Sendable {
    typealias Outcome = Result<HTTPResponse, HTTPTransportError>

    // Immutable after init (any thread).
    let url: String
    let method: HTTPRequest.Method
    let headerLines: [String]
    let body: Data?
    let maxResponseBytes: Int
    let maxHeaderBytes: Int
    let timeouts: CurlTransport.Timeouts

    // Guarded by CurlEngine.lock.
    var continuation: CheckedContinuation<Outcome, Never>?
    var cancelRequested = false

    // Worker thread only (libcurl's callbacks run there too).
    var easy: UnsafeMutableRawPointer?
    var headerList: UnsafeMutablePointer<curl_slist>?
    var errorBuffer: UnsafeMutablePointer<CChar>?
    var responseHeaders: [String: String] = [:]
    var responseBody = Data()
    var headerBytes = 0
    var bodyTooLarge = false
    var headersTooLarge = false

    init(request: HTTPRequest, configuration: CurlTransport.Configuration,
         timeouts: CurlTransport.Timeouts) throws(HTTPTransportError) {
        let scheme = request.url.scheme?.lowercased() ?? ""
        guard scheme == "http" || scheme == "https" else {
            throw .schemeNotAllowed(scheme.isEmpty ? "URL without a scheme" : "scheme \(scheme) is not allowed")
        }
        var lines: [String] = []
        var hasExpect = false
        for (index, (name, value)) in request.headers.enumerated() {
            // A line break would let a value smuggle extra headers; a bad name would corrupt the request line.
            // The message names the position, never the value (it may be a credential).
            guard Transfer.isToken(name), !value.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0 }) else {
                throw .unreachable("request header #\(index + 1) is not a valid HTTP header; request not sent")
            }
            if name.lowercased() == "expect" { hasExpect = true }
            // libcurl reads "Name:" as "remove this header"; "Name;" sends it with an empty value.
            lines.append(value.isEmpty ? "\(name);" : "\(name): \(value)")
        }
        if !hasExpect { lines.append("Expect:") }
        self.url = request.url.absoluteString
        self.method = request.method
        self.headerLines = lines
        self.body = request.body
        self.maxResponseBytes = max(0, configuration.maxResponseBytes)
        self.maxHeaderBytes = max(0, configuration.maxHeaderBytes)
        self.timeouts = timeouts
    }

    /// RFC 9110 token characters.
    private static func isToken(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"):
                return true
            default:
                return "!#$%&'*+-.^_`|~".utf8.contains(byte)
            }
        }
    }

    /// Called by libcurl (worker thread) with a chunk of the body.
    func receiveBody(_ bytes: UnsafeRawBufferPointer) -> Bool {
        if bytes.count > maxResponseBytes - responseBody.count {
            bodyTooLarge = true
            return false
        }
        responseBody.append(contentsOf: bytes)
        return true
    }

    /// Called by libcurl (worker thread) with one complete header line, CRLF included.
    func receiveHeaderLine(_ bytes: UnsafeRawBufferPointer) -> Bool {
        headerBytes += bytes.count
        if headerBytes > maxHeaderBytes {
            headersTooLarge = true
            return false
        }
        if bytes.starts(with: "HTTP/".utf8) {
            // A new status line: an interim 1xx block (or, were redirects followed, another response) precedes the
            // final one. Keep only the headers of the last block.
            responseHeaders.removeAll(keepingCapacity: true)
            return true
        }
        // Parsed as bytes, not with Foundation's string trimming: every response has a dozen header lines.
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")) else { return true }  // the blank line ending a block
        let name = String(decoding: Transfer.trimmed(bytes[..<colon]), as: UTF8.self).lowercased()
        let value = String(decoding: Transfer.trimmed(bytes[(colon + 1)...]), as: UTF8.self)
        if !name.isEmpty { responseHeaders[name] = value }
        return true
    }

    /// `bytes` without leading and trailing ASCII whitespace (optional whitespace around a field value, and the
    /// line's CRLF).
    private static func trimmed(_ bytes: Slice<UnsafeRawBufferPointer>) -> Slice<UnsafeRawBufferPointer> {
        func isSpace(_ byte: UInt8) -> Bool {
            byte == 0x20 || (0x09...0x0D).contains(byte)  // space, tab, LF, VT, FF, CR
        }
        guard let first = bytes.firstIndex(where: { !isSpace($0) }),
              let last = bytes.lastIndex(where: { !isSpace($0) })
        else { return bytes[bytes.startIndex..<bytes.startIndex] }
        return bytes[first...last]
    }
}

// MARK: - libcurl callbacks (run on the worker thread, inside curl_multi_perform)

private let writeCallback: relyd_curl_write_callback = { pointer, size, count, userdata in
    deliver(pointer, size, count, userdata) { $0.receiveBody($1) }
}

private let headerCallback: relyd_curl_write_callback = { pointer, size, count, userdata in
    deliver(pointer, size, count, userdata) { $0.receiveHeaderLine($1) }
}

/// Hands a chunk libcurl delivered to its transfer. Returning anything but the chunk's size makes libcurl abort
/// the transfer, which is how a body over the cap or a malformed header stops it.
private func deliver(_ pointer: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int,
                     _ userdata: UnsafeMutableRawPointer?,
                     _ receive: (Transfer, UnsafeRawBufferPointer) -> Bool) -> Int {
    let (total, overflow) = size.multipliedReportingOverflow(by: count)
    guard !overflow, let userdata else { return 0 }
    guard total > 0, let pointer else { return total }
    let transfer = Unmanaged<Transfer>.fromOpaque(userdata).takeUnretainedValue()
    return receive(transfer, UnsafeRawBufferPointer(start: pointer, count: total)) ? total : 0
}

// MARK: - The engine: the multi handle and its thread

/// Owns the multi handle, the worker thread and the queues. See the file header for the invariants behind
/// `@unchecked Sendable`.
private final class CurlEngine: @unchecked Sendable {
    private enum State { case running, stopping, stopped }

    private let configuration: CurlTransport.Configuration

    // Guarded by `lock`.
    private let lock = ThreadLock()
    private var state: State = .running
    private var incoming: [Transfer] = []
    private var cancellations: [Transfer] = []

    /// Signalled once when the worker has released every libcurl handle (or immediately if there is no worker).
    private let stopped = DispatchSemaphore(value: 0)

    // Created in init, then used only by the worker thread, except `curl_multi_wakeup` (see the file header).
    private let multi: UnsafeMutableRawPointer?

    // Worker thread only.
    private var active: [ObjectIdentifier: Transfer] = [:]
    private var idleHandles: [UnsafeMutableRawPointer] = []
    private static let maxIdleHandles = 8

    init(configuration: CurlTransport.Configuration) {
        self.configuration = configuration
        let multi = CurlGlobal.initialised ? curl_multi_init() : nil
        self.multi = multi
        guard let multi else {
            state = .stopped
            stopped.signal()
            return
        }
        _ = relyd_multi_setopt_long(multi, CURLMOPT_MAX_HOST_CONNECTIONS, max(0, configuration.maxConnectionsPerHost))
        if !BackgroundThread.start(name: "relyd-curl", { [self] in run() }) {
            // No worker will ever take a transfer: refuse them as unreachable rather than leave callers waiting.
            _ = curl_multi_cleanup(multi)
            state = .stopped
            stopped.signal()
        }
    }

    // MARK: Called from any thread

    func submit(_ transfer: Transfer, continuation: CheckedContinuation<Transfer.Outcome, Never>) {
        lock.lock()
        let refusal: HTTPTransportError?
        if state != .running {
            refusal = .unreachable(multi == nil ? "libcurl could not be initialised" : "HTTP transport is shut down")
        } else if transfer.cancelRequested {
            refusal = .timedOut("request cancelled")
        } else {
            refusal = nil
            transfer.continuation = continuation
            incoming.append(transfer)
            if let multi { _ = curl_multi_wakeup(multi) }
        }
        lock.unlock()
        if let refusal { continuation.resume(returning: .failure(refusal)) }
    }

    func cancel(_ transfer: Transfer) {
        lock.lock()
        defer { lock.unlock() }
        transfer.cancelRequested = true
        // Not yet submitted (submit will see the flag) or already finished: nothing to do.
        guard transfer.continuation != nil, state == .running, let multi else { return }
        cancellations.append(transfer)
        _ = curl_multi_wakeup(multi)
    }

    func requestStop() {
        lock.lock()
        if state == .running {
            state = .stopping
            if let multi { _ = curl_multi_wakeup(multi) }
        }
        lock.unlock()
    }

    func waitUntilStopped() {
        stopped.wait()
        stopped.signal()  // let any other waiter through too
    }

    // MARK: Worker thread

    private func run() {
        guard let multi else { return }
        var running: Int32 = 0
        while true {
            lock.lock()
            let newTransfers = incoming
            let cancelled = cancellations
            incoming.removeAll(keepingCapacity: true)
            cancellations.removeAll(keepingCapacity: true)
            let stopping = state != .running
            lock.unlock()

            if stopping {
                for transfer in newTransfers {
                    resume(transfer, with: .failure(.unreachable("HTTP transport is shut down")))
                }
                break
            }
            for transfer in newTransfers { start(transfer, multi: multi) }
            for transfer in cancelled where active[ObjectIdentifier(transfer)] != nil {
                finish(transfer, multi: multi, with: .failure(.timedOut("request cancelled")))
            }

            _ = curl_multi_perform(multi, &running)
            var remaining: Int32 = 0
            while let message = curl_multi_info_read(multi, &remaining) {
                guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle else { continue }
                var raw: UnsafeMutableRawPointer?
                guard relyd_easy_getinfo_pointer(easy, CURLINFO_PRIVATE, &raw) == CURLE_OK, let raw else { continue }
                let transfer = Unmanaged<Transfer>.fromOpaque(raw).takeUnretainedValue()
                guard active[ObjectIdentifier(transfer)] != nil else { continue }
                let code = relyd_curlmsg_result(message)
                finish(transfer, multi: multi, with: outcome(of: transfer, easy: easy, code: code))
            }

            // Sleeps until a socket is ready, libcurl's next timeout, a wakeup, or 1 s.
            if curl_multi_poll(multi, nil, 0, 1000, nil) != CURLM_OK {
                usleep(10_000)  // never expected; avoid spinning if it happens
            }
        }

        for transfer in Array(active.values) {
            finish(transfer, multi: multi, with: .failure(.unreachable("HTTP transport is shut down")))
        }
        for easy in idleHandles { curl_easy_cleanup(easy) }
        idleHandles.removeAll()
        _ = curl_multi_cleanup(multi)
        lock.lock()
        state = .stopped
        lock.unlock()
        stopped.signal()
    }

    private func start(_ transfer: Transfer, multi: UnsafeMutableRawPointer) {
        guard let easy = idleHandles.popLast() ?? curl_easy_init() else {
            resume(transfer, with: .failure(.unreachable("libcurl could not create a transfer")))
            return
        }
        transfer.easy = easy
        active[ObjectIdentifier(transfer)] = transfer
        if let failure = configure(easy, for: transfer) {
            finish(transfer, multi: nil, with: .failure(failure))
            return
        }
        let added = curl_multi_add_handle(multi, easy)
        if added != CURLM_OK {
            finish(transfer, multi: nil, with: .failure(.unreachable("libcurl could not start the transfer")))
        }
    }

    /// Sets every option on `easy`. Returns an error if libcurl refused one.
    private func configure(_ easy: UnsafeMutableRawPointer, for transfer: Transfer) -> HTTPTransportError? {
        let configuration = self.configuration
        var failed: CURLcode = CURLE_OK
        func check(_ code: CURLcode) { if failed == CURLE_OK && code != CURLE_OK { failed = code } }
        func long(_ option: CURLoption, _ value: Int) { check(relyd_easy_setopt_long(easy, option, value)) }
        func string(_ option: CURLoption, _ value: String?) {
            if let value { check(relyd_easy_setopt_string(easy, option, value)) }
            else { check(relyd_easy_setopt_string(easy, option, nil)) }
        }

        let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
        transfer.errorBuffer = errorBuffer
        check(relyd_easy_setopt_pointer(easy, CURLOPT_ERRORBUFFER, errorBuffer))

        let context = Unmanaged.passUnretained(transfer).toOpaque()
        check(relyd_easy_setopt_pointer(easy, CURLOPT_PRIVATE, context))
        check(relyd_easy_setopt_write_callback(easy, CURLOPT_WRITEFUNCTION, writeCallback))
        check(relyd_easy_setopt_pointer(easy, CURLOPT_WRITEDATA, context))
        check(relyd_easy_setopt_write_callback(easy, CURLOPT_HEADERFUNCTION, headerCallback))
        check(relyd_easy_setopt_pointer(easy, CURLOPT_HEADERDATA, context))

        string(CURLOPT_URL, transfer.url)
        string(CURLOPT_PROTOCOLS_STR, "http,https")
        string(CURLOPT_REDIR_PROTOCOLS_STR, "http,https")
        long(CURLOPT_FOLLOWLOCATION, 0)
        long(CURLOPT_NOSIGNAL, 1)
        // A timed-out DNS lookup is abandoned, not joined: joining blocks the worker, i.e. every OP request, meanwhile.
        long(CURLOPT_QUICK_EXIT, 1)
        string(CURLOPT_PROXY, "")  // ignore proxy environment variables
        long(CURLOPT_CONNECTTIMEOUT_MS, max(1, transfer.timeouts.connectMilliseconds))
        long(CURLOPT_TIMEOUT_MS, max(1, transfer.timeouts.totalMilliseconds))
        check(relyd_easy_setopt_off_t(easy, CURLOPT_MAXFILESIZE_LARGE, curl_off_t(transfer.maxResponseBytes)))
        long(CURLOPT_SSL_VERIFYPEER, 1)
        long(CURLOPT_SSL_VERIFYHOST, 2)
        if let caFile = configuration.caFile {
            string(CURLOPT_CAINFO, caFile)
        } else if !configuration.trustSystemStore {
            string(CURLOPT_CAINFO, nil)
        }
        if let caDirectory = configuration.caDirectory {
            string(CURLOPT_CAPATH, caDirectory)
        } else if !configuration.trustSystemStore {
            string(CURLOPT_CAPATH, nil)
        }
        string(CURLOPT_USERAGENT, configuration.userAgent)

        switch transfer.method {
        case .get:
            long(CURLOPT_HTTPGET, 1)
        case .post:
            setBody(easy, transfer.body ?? Data(), check: check)
        case .put:
            setBody(easy, transfer.body ?? Data(), check: check)
            string(CURLOPT_CUSTOMREQUEST, "PUT")
        case .delete:
            if let body = transfer.body { setBody(easy, body, check: check) }
            string(CURLOPT_CUSTOMREQUEST, "DELETE")
        }

        var list: UnsafeMutablePointer<curl_slist>?
        for line in transfer.headerLines {
            guard let extended = curl_slist_append(list, line) else {
                curl_slist_free_all(list)
                return .unreachable("out of memory building request headers")
            }
            list = extended
        }
        transfer.headerList = list
        check(relyd_easy_setopt_slist(easy, CURLOPT_HTTPHEADER, list))

        guard failed == CURLE_OK else { return .unreachable("libcurl rejected an option: \(describe(failed))") }
        return nil
    }

    /// POST semantics with a copied body; `CURLOPT_CUSTOMREQUEST` then renames the method for PUT and DELETE.
    private func setBody(_ easy: UnsafeMutableRawPointer, _ body: Data, check: (CURLcode) -> Void) {
        check(relyd_easy_setopt_long(easy, CURLOPT_POST, 1))
        check(relyd_easy_setopt_off_t(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count)))
        // COPYPOSTFIELDS copies POSTFIELDSIZE bytes now, so the Data need not outlive this call. An empty body still
        // needs a valid pointer (a NULL one would make libcurl read the body from a read callback).
        var empty: UInt8 = 0
        withUnsafeMutableBytes(of: &empty) { emptyBytes in
            body.withUnsafeBytes { bytes in
                let pointer = bytes.baseAddress.map { UnsafeMutableRawPointer(mutating: $0) } ?? emptyBytes.baseAddress
                check(relyd_easy_setopt_pointer(easy, CURLOPT_COPYPOSTFIELDS, pointer))
            }
        }
    }

    private func outcome(of transfer: Transfer, easy: UnsafeMutableRawPointer, code: CURLcode) -> Transfer.Outcome {
        if transfer.bodyTooLarge || code == CURLE_FILESIZE_EXCEEDED {
            return .failure(.responseTooLarge(limit: transfer.maxResponseBytes))
        }
        if transfer.headersTooLarge { return .failure(.responseTooLarge(limit: transfer.maxHeaderBytes)) }
        guard code == CURLE_OK else {
            let message = describe(code, errorBuffer: transfer.errorBuffer)
            switch code {
            case CURLE_OPERATION_TIMEDOUT: return .failure(.timedOut(message))
            case CURLE_UNSUPPORTED_PROTOCOL: return .failure(.schemeNotAllowed(message))
            default: return .failure(.unreachable(message))
            }
        }
        var status = 0
        guard relyd_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK, status > 0 else {
            return .failure(.unreachable("no HTTP status received"))
        }
        return .success(HTTPResponse(status: status, headers: transfer.responseHeaders, body: transfer.responseBody))
    }

    /// Resumes `transfer`'s caller, then detaches it from libcurl and returns its easy handle to the pool.
    /// `multi` is nil when the handle was never added to it.
    ///
    /// The caller goes first: the outcome is complete, and the clean-up (removing and resetting the handle) then
    /// runs on this thread while the caller's continues on another core, rather than before it.
    private func finish(_ transfer: Transfer, multi: UnsafeMutableRawPointer?, with outcome: Transfer.Outcome) {
        active[ObjectIdentifier(transfer)] = nil
        resume(transfer, with: outcome)
        if let easy = transfer.easy {
            if let multi { _ = curl_multi_remove_handle(multi, easy) }
            // Reset before freeing the buffers it points to; a reset handle keeps no pointer into this transfer.
            curl_easy_reset(easy)
            if idleHandles.count < CurlEngine.maxIdleHandles { idleHandles.append(easy) } else { curl_easy_cleanup(easy) }
            transfer.easy = nil
        }
        curl_slist_free_all(transfer.headerList)
        transfer.headerList = nil
        transfer.errorBuffer?.deallocate()
        transfer.errorBuffer = nil
    }

    private func resume(_ transfer: Transfer, with outcome: Transfer.Outcome) {
        lock.lock()
        let continuation = transfer.continuation
        transfer.continuation = nil
        lock.unlock()
        continuation?.resume(returning: outcome)
    }
}

/// libcurl's text for `code`, plus the transfer's error buffer when it says more. Neither contains request bodies
/// or header values.
private func describe(_ code: CURLcode, errorBuffer: UnsafeMutablePointer<CChar>? = nil) -> String {
    let summary = curl_easy_strerror(code).map { String(cString: $0) } ?? "libcurl error"
    let detail = errorBuffer.map { String(cString: $0) } ?? ""
    let trimmed = detail.trimmingWhitespaceAndNewlines()
    return trimmed.isEmpty || trimmed == summary ? "\(summary) (curl \(code.rawValue))"
        : "\(summary) (curl \(code.rawValue)): \(trimmed)"
}

/// The transport's current timeouts, read by every `send` and replaced on SIGHUP.
private final class TimeoutsBox: @unchecked Sendable {
    private let lock = ThreadLock()
    private var stored: CurlTransport.Timeouts

    init(_ timeouts: CurlTransport.Timeouts) { stored = timeouts }

    var value: CurlTransport.Timeouts {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
}
