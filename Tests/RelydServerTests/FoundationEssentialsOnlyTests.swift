import Foundation
import RelydBasics
import RelydOIDC
import RelydServer
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The daemon links only FoundationEssentials (idle RSS, issue 7); the few full-Foundation operations it used are
/// replaced by RelydBasics and RelydOIDC code that must answer exactly as Foundation did. These tests compare them
/// with Foundation itself, which the tests may still import.
@Suite struct FoundationEssentialsOnlyTests {
    /// Spaces of every kind Foundation's sets name, newlines, and characters that are neither.
    static let samples = [
        "", " ", "\t", "plain", "  both  ", "\tkey = value\t", " \u{00A0}nbsp\u{3000} ", "\u{2003}em\u{202F}",
        "line\n", "\r\nwindows\r\n", "\u{85}nel\u{2028}\u{2029}", "\u{0B}\u{0C}vt ff", " inner  space ", "é ",
        " e\u{301} ", "\u{200B}zero width\u{200B}", "\u{FEFF}bom", " \u{1F600} ",
        "\u{1680}ogham\u{180E}", "\u{205F}math\u{2060}", "\u{200A}\u{200C}", "\u{0}nul\u{7F}",
    ]

    @Test func trimmingWhitespace_matchesFoundation() {
        for sample in Self.samples {
            #expect(sample.trimmingWhitespace() == sample.trimmingCharacters(in: .whitespaces),
                    "\(Array(sample.unicodeScalars))")
            #expect(sample.trimmingWhitespaceAndNewlines() == sample.trimmingCharacters(in: .whitespacesAndNewlines),
                    "\(Array(sample.unicodeScalars))")
            #expect(sample[...].trimmingWhitespace() == sample.trimmingCharacters(in: .whitespaces))
        }
    }

    @Test func trimmingScalarsInASet_matchesFoundation() {
        for (sample, set) in [("[::1]", "[]"), ("\"3600\"", "\" "), (" \" 60 \" ", "\" "), ("[]", "[]"), ("a[b]c", "[]")] {
            #expect(sample.trimmingScalars(in: set) == sample.trimmingCharacters(in: CharacterSet(charactersIn: set)))
        }
    }

    @Test func fractionDigits_roundAsPrintf() {
        for value in [0.0, 0.05, 0.15, 0.25, 0.35, 1.45, 2.5, 12.349, 999.95, 1e-9, 123456.789, -0.04] {
            #expect(value.formatted(fractionDigits: 1) == String(format: "%.1f", value))
            #expect(value.formatted(fractionDigits: 3) == String(format: "%.3f", value))
        }
    }

    @Test func formEscape_matchesFoundationsPercentEncoding() {
        let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        for value in ["", "abc-._~XYZ09", "a b+c&d=e", "https://rp.example/cb?x=1#f", "\u{0}\u{1F}\u{7F}", "é€😀",
                      "%41", "e\u{301}"] {
            #expect(FormEncoding.escape(value) == value.addingPercentEncoding(withAllowedCharacters: unreserved))
        }
    }

    @Test func formDecode_matchesFoundationsPercentDecoding() {
        for text in ["a=1&b=two+words", "x=%41%42%43", "utf8=%C3%A9%E2%82%AC", "plus=%2B", "empty=&=v", "n",
                     "bad=%4", "bad=%zz", "bad=%", "latin1=%E9", "nul=%00", "mixed=%c3%a9", "e=e%CC%81+"] {
            let expected: [(String, String)]? = {
                var pairs: [(String, String)] = []
                for pair in text.split(separator: "&") {
                    let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                    let decoded = parts.map { $0.replacingOccurrences(of: "+", with: " ").removingPercentEncoding }
                    guard let name = decoded[0], let value = decoded.count > 1 ? decoded[1] : "" else { return nil }
                    pairs.append((name, value))
                }
                return pairs
            }()
            let decoded = FormEncoding.decode(text)
            #expect(decoded?.map(\.0) == expected?.map(\.0), "\(text)")
            #expect(decoded?.map(\.1) == expected?.map(\.1), "\(text)")
        }
    }

    @Test func logLines_escapeControlCharactersAsBefore() {
        let line = StderrLogSink.format(LogEvent(level: .info, message: "m", fields: [("k", "a\u{1}b\u{7F}c\u{1B}")]))
        #expect(line == "<6>m k=\"a\\x01b\\x7fc\\x1b\"\n")
    }

    @Test func backgroundThread_runsItsBodyUnderItsName() async {
        let name = Locked<String?>(nil)
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            let started = BackgroundThread.start(name: "relyd-test-thread-long-name") {
                let comm = try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)
                name.withLock { $0 = comm?.trimmingCharacters(in: .newlines) }
                done.resume()
            }
            #expect(started)
        }
        #expect(name.withLock { $0 } == "relyd-test-thre")
    }

    @Test func threadLock_tryTakesOnlyAFreeLock() {
        let lock = ThreadLock()
        /// Whether another thread's `try` takes the lock (released again at once there).
        func takenOnAnotherThread() -> Bool {
            let taken = Locked(false)
            let done = DispatchSemaphore(value: 0)
            BackgroundThread.start(name: "relyd-test-try") {
                let took = lock.try()
                if took { lock.unlock() }
                taken.withLock { $0 = took }
                done.signal()
            }
            done.wait()
            return taken.withLock { $0 }
        }
        #expect(lock.try())
        #expect(!takenOnAnotherThread())
        lock.unlock()
        #expect(takenOnAnotherThread())
    }

    @Test func threadLock_excludesOtherThreads() async {
        let lock = ThreadLock()
        let counter = Locked(0)
        nonisolated(unsafe) var unguarded = 0
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    for _ in 0..<10_000 {
                        lock.withLock { unguarded += 1 }
                    }
                    counter.withLock { $0 += 10_000 }
                }
            }
        }
        #expect(lock.withLock { unguarded } == counter.withLock { $0 })
    }
}
