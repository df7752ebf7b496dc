import Foundation
import RelydTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// Section 4: memory, get_authorization_url latency and startup time as the store grows to 100,000 sites.
enum ScaleBench {
    static let smallSiteCount = 1000
    static let largeSiteCount = 100_000
    static let openConnectionCount = 1000

    /// Where the threads run while `get_authorization_url` latency is measured. The two daemons are compared call
    /// by call, so they must wake up alike: a daemon whose loop thread runs on the client's core is woken locally,
    /// one on another core by an interrupt to a core that may have gone idle, which costs more than the site
    /// lookup being measured. Left to the scheduler they were not placed alike: the 1,000-site daemon's loop
    /// thread was on the client's core in 69-78% of samples, the 100,000-site one's in 8-17%, and the ratio was
    /// 1.44x-1.60x, against 1.10x-1.18x with both daemons on one core, the client's or the other.
    enum Placement: CaseIterable {
        /// The client thread on one core, every thread of both daemons on another.
        case daemonsApartFromClient
        /// The client thread and both daemons on one core.
        case allOnOneCore
        /// No pinning. Reported for reference: it compares the daemons' placements as much as their site counts.
        case scheduler

        var label: String {
            switch self {
            case .daemonsApartFromClient: "client on one core, both daemons on another"
            case .allOnOneCore: "client and both daemons on one core"
            case .scheduler: "left to the scheduler (for reference)"
            }
        }
    }

    /// One daemon's figures under one placement.
    struct DaemonLatency {
        var p50: Double
        var p99: Double
        /// The daemon's CPU time (all threads) per `get_authorization_url` call.
        var cpuPerCall: Double
        /// The share of samples in which the daemon's loop thread had last run on the client's core.
        var onClientCore: Double
    }

    /// One placement's measurement: the 1,000-site daemon, then the 100,000-site one.
    struct PlacedLatencies {
        var placement: Placement
        var small: DaemonLatency
        var large: DaemonLatency

        var flatness: Double { large.p50 / small.p50 }
        var cpuFlatness: Double { large.cpuPerCall / small.cpuPerCall }
    }

    static func run(seconds: Double, report: inout Report) throws {
        let scratch = try ScratchDirectory("scale")
        let op = try BenchOP(keys: [try OPSigningKey(.rs256, keyID: "RS256")])
        defer { op.stop() }
        let relyd = try RelydProcess(in: scratch.path)
        defer { relyd.stop() }

        progress("scale: idle")
        try relyd.connect().call("health")
        usleep(300_000)
        let idle = relyd.memory
        let site = try relyd.connect().call("register_site", [
            "op_host": op.issuer, "authorization_redirect_uri": "http://127.0.0.1:8765/callback",
        ])
        guard let template = site["oxd_id"] as? String else { throw BenchError("register_site gave no oxd_id") }

        progress("scale: \(smallSiteCount) and \(largeSiteCount) sites")
        relyd.stop()
        let largeDirectory = scratch.path + "/large"
        try FileManager.default.createDirectory(atPath: largeDirectory, withIntermediateDirectories: false,
                                                attributes: [.posixPermissions: 0o700])
        try runCommand("cp", ["-a", relyd.stateDirectory, largeDirectory + "/state"], scratch: scratch.path)
        try cloneSites(template: template, total: smallSiteCount, database: relyd.databasePath,
                       scratch: scratch.path)
        try cloneSites(template: template, total: largeSiteCount, database: largeDirectory + "/state/relyd.sqlite3",
                       scratch: scratch.path)
        try relyd.start()
        let large = try RelydProcess(in: largeDirectory)
        defer { large.stop() }
        let daemons = [(relyd, smallSiteCount), (large, largeSiteCount)]
        try warmUp(daemons, template: template, seconds: 1)
        let cores = CoreAffinity.allowedCores()
        var measured: [PlacedLatencies] = []
        for placement in cores.count >= 2 ? Placement.allCases : [.scheduler] {
            progress("scale: latency, \(placement.label)")
            try place(placement, daemons: [relyd, large], cores: cores)
            let result = Result { try authorizationURLLatencies(daemons, template: template, seconds: seconds) }
            try place(.scheduler, daemons: [relyd, large], cores: cores)
            let figures = try result.get()
            measured.append(PlacedLatencies(placement: placement, small: figures[0], large: figures[1]))
        }

        let smallMemory = relyd.memory
        let largeMemory = large.memory

        progress("scale: \(openConnectionCount) connections")
        let connections = try (0..<openConnectionCount).map { _ in try large.connect() }
        for connection in connections { try connection.call("health") }
        let connected = large.memory
        _ = connections.count

        report.heading("4. Scale: memory, latency and startup with many sites")
        report.paragraph("""
            Sites are added by SQL into a stopped daemon's state directory (`sqlite3` CLI, one transaction: the \
            one site registered through relyd is copied with new ids); then one daemon is started on \
            \(smallSiteCount) sites and another on \(largeSiteCount). Startup = spawn until the first `health` \
            answer (polled every millisecond). Latency: after 1 s of unmeasured calls, sequential \
            `get_authorization_url` calls for \(seconds) s per placement, alternating between the two daemons \
            call by call (so both see the same machine; which one goes first is drawn each round), each for a \
            random site (each call writes its pending authorization to the store). Placement: the threads are \
            pinned with sched_setaffinity, because the two daemons must wake up alike to be compared: a daemon \
            whose loop thread runs on the client's core is woken locally, one on another core by an interrupt to \
            a core that may be idle, which costs more than the site lookup measured here. The goal is read with \
            both daemons on the same core, apart from the client and with it; the unpinned row shows what the \
            scheduler did (*on the client's core*: the share of samples, taken every 64 calls, in which the \
            daemon's loop thread had last run on the core the client was running on). CPU per call: the \
            daemon's user + system time over those calls (/proc/PID/stat), divided by their number; the latency \
            also holds the machine's wake-ups and scheduling, the CPU time only relyd's \
            own work. At \(smallSiteCount) sites every site fits relyd's site cache (1,024 sites); at \
            \(largeSiteCount) almost every call reads its site from SQLite. RSS from one read of /proc/PID/status: \
            VmRSS (the goal's figure), made of RssAnon, the process's own memory (heap, stacks, written data), and \
            RssFile, the pages of relyd's executable and of the shared libraries it maps (libcrypto, libcurl and \
            its dependencies, SQLite, libpq, libstdc++, glibc), shared with every other process mapping the same \
            files; how many of those the kernel maps per fault is its choice, not relyd's. relyd links its Swift \
            runtime and FoundationEssentials statically and starts libcurl with its first request to an OP \
            (docs/DEPLOYMENT.md). The idle figure is taken 0.3 s after the first `health` answer. The 1,000 \
            connections are opened on the daemon with \(largeSiteCount) sites, each answering one `health`.
            """)
        func memory(_ sizes: ResidentMemory) -> [String] {
            [Format.megabytes(sizes.resident), Format.megabytes(sizes.anonymous), Format.megabytes(sizes.file)]
        }
        report.table(["state", "RSS (VmRSS)", "of which private (RssAnon)", "of which mapped files (RssFile)",
                      "startup to first health answer"], [
            ["idle, empty store"] + memory(idle) + [""],
            ["\(smallSiteCount) sites"] + memory(smallMemory) + [Format.millis(relyd.startupSeconds)],
            ["\(largeSiteCount) sites"] + memory(largeMemory) + [Format.millis(large.startupSeconds)],
            ["\(largeSiteCount) sites + \(openConnectionCount) open connections"] + memory(connected) + [""],
        ])
        func figures(_ daemon: DaemonLatency) -> [String] {
            ["\(Format.micros(daemon.p50)) / \(Format.micros(daemon.p99))", Format.micros(daemon.cpuPerCall),
             Format.percent(daemon.onClientCore)]
        }
        report.table(["get_authorization_url: placement", "\(smallSiteCount) sites: p50 / p99", "CPU per call",
                      "on the client's core", "\(largeSiteCount) sites: p50 / p99", "CPU per call",
                      "on the client's core", "p50 ratio", "CPU ratio"],
                     measured.map { placed in
                         [placed.placement.label] + figures(placed.small) + figures(placed.large)
                             + ["**" + Format.ratio(placed.flatness) + "**", Format.ratio(placed.cpuFlatness)]
                     })
        let alike = measured.filter { $0.placement != .scheduler || measured.count == 1 }
        let flat = alike.allSatisfy { $0.flatness <= 1.2 }
        var goals = "Goals: idle RSS under 30 MB: \(Format.megabytes(idle.resident)), "
            + Format.verdict(idle.resident < 30 * 1_048_576)
            + "; p50 latency at \(largeSiteCount) sites within 1.2x of \(smallSiteCount), both daemons placed "
            + "alike: " + alike.map { "\(Format.ratio($0.flatness)) (\($0.placement.label))" }.joined(separator: ", ")
            + ", " + Format.verdict(flat) + "."
        if let free = measured.first(where: { $0.placement == .scheduler }), measured.count > 1 {
            goals += " Left to the scheduler: \(Format.ratio(free.flatness)), with the \(smallSiteCount)-site "
                + "daemon on the client's core in \(Format.percent(free.small.onClientCore)) of samples and the "
                + "\(largeSiteCount)-site one in \(Format.percent(free.large.onClientCore))."
        }
        report.paragraph(goals)
    }

    /// Pins the calling thread (the client) and every thread of `daemons` as `placement` says; `.scheduler`
    /// gives all of them every allowed core back.
    private static func place(_ placement: Placement, daemons: [RelydProcess], cores: [Int]) throws {
        let (client, servers): ([Int], [Int]) = switch placement {
        case .daemonsApartFromClient: ([cores[0]], [cores[1]])
        case .allOnOneCore: ([cores[0]], [cores[0]])
        case .scheduler: (cores, cores)
        }
        for daemon in daemons {
            guard let pid = daemon.pid else { throw BenchError("a daemon to place is not running") }
            try CoreAffinity.pin(process: pid, to: servers)
        }
        try CoreAffinity.pinCallingThread(to: client)
    }

    /// Copies the `template` site until the database of a stopped daemon holds `total` sites.
    private static func cloneSites(template: String, total: Int, database: String, scratch: String) throws {
        let columns = try runCommand("sqlite3", [database, "SELECT name FROM pragma_table_info('sites')"],
                                     scratch: scratch).split(separator: "\n").map(String.init)
        guard columns.contains("id") else { throw BenchError("the sites table has no id column") }
        let existing = Int(try runCommand("sqlite3", [database, "SELECT count(*) FROM sites"], scratch: scratch)
            .trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        let values = columns.map { $0 == "id" ? "printf('bench-%07d', n)" : "t.\($0)" }
        try runCommand("sqlite3", [database], input: """
            WITH RECURSIVE counter(n) AS (SELECT \(existing) UNION ALL SELECT n + 1 FROM counter WHERE n < \(total - 1))
            INSERT INTO sites (\(columns.joined(separator: ", ")))
            SELECT \(values.joined(separator: ", ")) FROM counter, sites AS t WHERE t.id = '\(template)';
            """, scratch: scratch)
        // relyd refuses database files that anyone else may read; the CLI creates them under the umask.
        for suffix in ["", "-wal", "-shm"] { chmod(database + suffix, 0o600) }
    }

    private static func siteID(_ index: Int, template: String) -> String {
        index == 0 ? template : String(format: "bench-%07d", index)
    }

    /// Calls `get_authorization_url` on each daemon in turn for `seconds`, unmeasured: the first call fetches the
    /// OP's discovery document, and the 1,000-site daemon's site cache fills.
    private static func warmUp(_ daemons: [(RelydProcess, Int)], template: String, seconds: Double) throws {
        _ = try authorizationURLLatencies(daemons, template: template, seconds: seconds)
    }

    /// `get_authorization_url` on each daemon (with its site count), one call on each in turn, each for a random
    /// site: latencies, the daemon's CPU time per call, and where its loop thread ran.
    private static func authorizationURLLatencies(_ daemons: [(RelydProcess, Int)], template: String,
                                                  seconds: Double) throws -> [DaemonLatency] {
        let connections = try daemons.map { relyd, _ in try relyd.connect() }
        let loopThreads = daemons.map { relyd, _ in
            relyd.pid.flatMap { CoreAffinity.thread(named: "relyd-socket", process: $0) }
        }
        var generator = SystemRandomNumberGenerator()
        var latencies = [[Double]](repeating: [], count: daemons.count)
        var onClientCore = [Int](repeating: 0, count: daemons.count)
        var coreSamples = 0
        var rounds = 0
        let cpuBefore = daemons.map { relyd, _ in relyd.cpuSeconds }
        let deadline = monotonicSeconds() + seconds
        while monotonicSeconds() < deadline {
            // In a random order each round: a daemon called right after the other could pay for work the other
            // still does after answering.
            for index in Bool.random(using: &generator) ? Array(daemons.indices) : daemons.indices.reversed() {
                let siteCount = daemons[index].1
                let site = siteID(Int.random(in: 0..<siteCount, using: &generator), template: template)
                let request = #"{"id":1,"command":"get_authorization_url","params":{"oxd_id":"\#(site)"}}"#
                let line = Array(request.utf8) + [0x0A]
                let started = monotonicSeconds()
                let answer = try connections[index].exchange(line)
                latencies[index].append(monotonicSeconds() - started)
                guard String(decoding: answer, as: UTF8.self).contains(#""status":"ok""#) else {
                    throw BenchError("get_authorization_url failed: \(String(decoding: answer, as: UTF8.self))")
                }
            }
            rounds += 1
            if rounds % 64 == 0 {
                let clientCore = CoreAffinity.currentCore()
                coreSamples += 1
                for index in daemons.indices {
                    guard let pid = daemons[index].0.pid, let thread = loopThreads[index] else { continue }
                    if CoreAffinity.lastCore(process: pid, thread: thread) == clientCore { onClientCore[index] += 1 }
                }
            }
        }
        return daemons.indices.map { index in
            let (p50, p99) = medianAndTail(latencies[index])
            let cpu = (daemons[index].0.cpuSeconds - cpuBefore[index]) / Double(max(1, latencies[index].count))
            return DaemonLatency(p50: p50, p99: p99, cpuPerCall: cpu,
                                 onClientCore: Double(onClientCore[index]) / Double(max(1, coreSamples)))
        }
    }
}
