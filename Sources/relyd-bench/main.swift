// relyd-bench: measures relyd against references run on the same machine in the same run, and prints the
// results as Markdown (scripts/bench.sh writes them to docs/BENCHMARKS.md). Run on demand; never a test.
import Foundation

#if canImport(Glibc)
import Glibc
#endif

let usage = """
    usage: relyd-bench [--seconds S] [--only SECTIONS] [--python PATH --peer-script PATH] [--store KINDS]
                       [--store-writes N]
      --seconds S        length of each timed measurement (default 3)
      --only SECTIONS    comma-separated subset of: transport,idtoken,login,scale,store (default all)
      --python PATH      a Python with Authlib, joserfc and requests, for the login peer (omitted: no peer row)
      --peer-script PATH scripts/bench_peer.py
      --store KINDS      comma-separated store backends for section 5 (default: all; known: \
    \(StoreBench.StoreKind.allCases.map(\.rawValue).joined(separator: ",")))
      --store-writes N   inserts of each kind in section 5 (default 1000)
    Expects relyd built in the same folder as relyd-bench (or RELYD_BENCH_RELYD=PATH; RELYD_BENCH_CONFIG="key = value"
    adds lines to its configuration), and redis-server, sqlite3 and openssl on PATH.
    """

enum Section: String, CaseIterable {
    case transport, idtoken, login, scale, store
}

/// What the command line asked for.
struct Options: Sendable {
    var seconds = 3.0
    var sections = Section.allCases
    var python: String?
    var peerScript = "scripts/bench_peer.py"
    var storeKinds: [StoreBench.StoreKind] = [.sqlite, .postgresql]
    var storeWrites = 1000

    init(_ commandLine: [String]) {
        var arguments = commandLine[...]
        while let argument = arguments.popFirst() {
            guard let value = arguments.popFirst() else { Self.refuse() }
            switch argument {
            case "--seconds": seconds = Double(value) ?? seconds
            case "--only": sections = value.split(separator: ",").compactMap { Section(rawValue: String($0)) }
            case "--python": python = value
            case "--peer-script": peerScript = value
            case "--store":
                storeKinds = value.split(separator: ",").compactMap { StoreBench.StoreKind(rawValue: String($0)) }
            case "--store-writes": storeWrites = Int(value) ?? storeWrites
            default: Self.refuse()
            }
        }
    }

    private static func refuse() -> Never {
        FileHandle.standardError.write(Data((usage + "\n").utf8))
        exit(64)
    }
}

// 1,000 client connections in one process need more descriptors than the usual soft limit; the daemons started
// from here inherit the raised limit too.
var limit = rlimit()
getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
limit.rlim_cur = limit.rlim_max
setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
signal(SIGPIPE, SIG_IGN)

/// Runs the chosen sections in order, printing each as soon as it is done.
func runSections(_ options: Options) async throws {
    var report = Report()
    defer { report.flush() }
    for section in options.sections {
        switch section {
        case .transport: try TransportBench.run(seconds: options.seconds, report: &report)
        case .idtoken: try IDTokenBench.run(seconds: options.seconds, report: &report)
        case .login:
            let peer = options.python.map { LoginBench.Peer(python: $0, script: options.peerScript) }
            try LoginBench.run(seconds: options.seconds, peer: peer, report: &report)
        case .scale: try ScaleBench.run(seconds: options.seconds, report: &report)
        case .store: try await StoreBench.run(kinds: options.storeKinds, count: options.storeWrites, report: &report)
        }
        report.flush()
    }
}

do {
    try await runSections(Options(Array(CommandLine.arguments.dropFirst())))
} catch {
    progress("failed: \(error)")
    exit(1)
}
