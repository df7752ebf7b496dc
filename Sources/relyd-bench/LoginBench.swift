import Foundation
import RelydOIDC
import RelydTestSupport

/// Section 3: whole logins against the bench OP, relyd and a Python peer, with the OP's own time taken out.
enum LoginBench {
    static let redirectURI = "http://127.0.0.1:8765/callback"
    static let warmUpLogins = 20
    static let rounds = 3

    struct Peer {
        var python: String
        var script: String
    }

    /// What one implementation measured, per login: the client's wall time for the three steps (the browser step
    /// excluded) and the OP's time within it.
    struct Logins {
        var walls: [Double]
        var opTimes: [Double]
        /// relyd only: per command, the client's time and the OP's time within it.
        var steps: [(command: String, wall: [Double], op: [Double])] = []
        /// relyd only: the daemon's CPU time (all threads) over the rounds' timed logins, and how many those were
        /// (the warm-up excluded, as from the latencies).
        var cpuSeconds = 0.0
        var cpuLogins = 0

        var added: [Double] { zip(walls, opTimes).map { max(0, $0 - $1) } }

        mutating func append(_ other: Logins) {
            walls += other.walls
            opTimes += other.opTimes
            cpuSeconds += other.cpuSeconds
            cpuLogins += other.cpuLogins
            if steps.isEmpty {
                steps = other.steps
            } else {
                for index in steps.indices where index < other.steps.count {
                    steps[index].wall += other.steps[index].wall
                    steps[index].op += other.steps[index].op
                }
            }
        }
        var rate: Double { Double(walls.count) / walls.reduce(0, +) }
    }

    static func run(seconds: Double, peer: Peer?, report: inout Report) throws {
        let scratch = try ScratchDirectory("login")
        let op = try BenchOP(keys: [try OPSigningKey(.rs256, keyID: "RS256")])
        defer { op.stop() }
        let relyd = try RelydProcess(in: scratch.path)
        defer { relyd.stop() }

        // Rounds alternate between relyd and the peer, so that both meet the same load from the rest of the machine.
        var relydLogins = Logins(walls: [], opTimes: [])
        var peerLogins: Logins? = peer.map { _ in Logins(walls: [], opTimes: []) }
        for round in 1...rounds {
            progress("login: relyd, round \(round) of \(rounds)")
            relydLogins.append(try relydRun(relyd: relyd, op: op, seconds: seconds / Double(rounds)))
            if let peer {
                progress("login: Python peer, round \(round) of \(rounds)")
                peerLogins?.append(try peerRun(peer, op: op, seconds: seconds / Double(rounds), scratch: scratch.path))
            }
        }

        var rows = [row("relyd (socket, 1 client)", relydLogins)]
        if let peerLogins { rows.append(row("Python peer: Authlib + joserfc + requests", peerLogins)) }
        let relydCPUPerLogin = relydLogins.cpuSeconds / Double(max(1, relydLogins.cpuLogins))
        report.heading("3. Whole login: get_authorization_url + get_tokens_by_code + get_user_info")
        report.paragraph("""
            Against the bench OP: the FakeOP of Tests/RelydTestSupport served by LoopbackHTTPServer over HTTP/1.1 \
            keep-alive on 127.0.0.1, signing RS256 ID tokens (relyd validates them fully: signature, iss, aud, exp, \
            iat, nonce, at_hash; then the userinfo sub). One client, logins in sequence, \(rounds) rounds of \
            \(String(format: "%.1f", seconds / Double(rounds) + 1)) s each after \(warmUpLogins) warm-up logins, \
            alternating with the Python peer. The browser step (the OP issuing the code) is not timed. *OP time* is \
            the OP's time for the token and userinfo requests of that login, measured inside the OP from the \
            moment the request's first bytes are read from the socket to the moment its response is written (the \
            OP's HTTP parsing, its hand-off to the handler and back, its RS256 signing, and writing the response \
            included); *added* = client wall time − OP time, so the client's side of HTTP on loopback (sending, \
            waking up for the answer, reading it) counts as added, for relyd and the peer alike. The Python peer \
            does the same work (Authlib's OAuth2Session with PKCE, joserfc for the ID token, state in memory rather \
            than in a durable store) against the same OP in the same run. relyd's CPU time per login is the \
            daemon's user + system time over its rounds after their warm-up (/proc/PID/stat, all threads, in 10 ms \
            ticks) divided by the logins timed: \(Format.micros(relydCPUPerLogin)), the part of the added latency \
            that is relyd's own work rather than waiting for wake-ups.
            """)
        report.table(["client", "logins/s", "wall p50 / p99", "OP time p50", "added p50", "added p99"], rows)
        report.table(["relyd command", "wall p50 / p99", "OP time p50", "added p50"], relydLogins.steps.map { step in
            let wall = medianAndTail(step.wall)
            let added = medianAndTail(zip(step.wall, step.op).map { max(0, $0 - $1) })
            return [step.command, "\(Format.millis(wall.p50)) / \(Format.millis(wall.p99))",
                    Format.millis(medianAndTail(step.op).p50), Format.millis(added.p50)]
        })
        let relydAdded = medianAndTail(relydLogins.added)
        var verdict = "Goal: added latency under 1 ms p50: \(Format.millis(relydAdded.p50)), "
            + Format.verdict(relydAdded.p50 < 0.001)
        if let peerLogins {
            let peerAdded = medianAndTail(peerLogins.added)
            verdict += "; and below the Python peer's (\(Format.millis(peerAdded.p50))): "
                + Format.ratio(relydAdded.p50 / peerAdded.p50) + ", " + Format.verdict(relydAdded.p50 < peerAdded.p50)
        } else {
            verdict += "; the Python peer was not run (no --python)"
        }
        report.paragraph(verdict + ".")
    }

    private static func row(_ name: String, _ logins: Logins) -> [String] {
        let wall = medianAndTail(logins.walls)
        let added = medianAndTail(logins.added)
        return [name, Format.rate(logins.rate), "\(Format.millis(wall.p50)) / \(Format.millis(wall.p99))",
                Format.millis(medianAndTail(logins.opTimes).p50), "**\(Format.millis(added.p50))**",
                Format.millis(added.p99)]
    }

    private static func relydRun(relyd: RelydProcess, op: BenchOP, seconds: Double) throws -> Logins {
        let connection = try relyd.connect()
        let site = try connection.call("register_site", [
            "op_host": op.issuer, "authorization_redirect_uri": redirectURI,
        ])
        guard let oxdID = site["oxd_id"] as? String else { throw BenchError("register_site gave no oxd_id") }
        var logins = Logins(walls: [], opTimes: [], steps: [("get_authorization_url", [], []),
                                                            ("get_tokens_by_code", [], []), ("get_user_info", [], [])])
        var count = 0
        var cpuBefore = relyd.cpuSeconds
        let deadline = monotonicSeconds() + seconds + 1
        while count < warmUpLogins || monotonicSeconds() < deadline {
            op.resetDurations()
            let started = monotonicSeconds()
            let authorization = try connection.call("get_authorization_url", ["oxd_id": oxdID])
            let urlBuilt = monotonicSeconds()
            guard let url = authorization["authorization_url"] as? String,
                  let state = authorization["state"] as? String
            else { throw BenchError("get_authorization_url gave no url or state") }
            let code = try op.op.authorize(url)
            let resumed = monotonicSeconds()
            let tokens = try connection.call("get_tokens_by_code", ["oxd_id": oxdID, "code": code, "state": state])
            guard let accessToken = tokens["access_token"] as? String else {
                throw BenchError("get_tokens_by_code gave no access_token")
            }
            let exchanged = monotonicSeconds()
            try connection.call("get_user_info", ["oxd_id": oxdID, "access_token": accessToken])
            let finished = monotonicSeconds()
            // Waited for even in warm-up, so that no late record lands in the next login's.
            let tokenTime = try op.durations(of: "/token", count: 1).reduce(0, +)
            let userInfoTime = try op.durations(of: "/userinfo", count: 1).reduce(0, +)
            count += 1
            // The CPU time, like the latencies, counts the logins after the warm-up (whose first fetches discovery
            // and the JWKS).
            if count == warmUpLogins { cpuBefore = relyd.cpuSeconds }
            guard count > warmUpLogins else { continue }
            logins.walls.append((urlBuilt - started) + (finished - resumed))
            logins.opTimes.append(tokenTime + userInfoTime)
            for (step, (wall, opTime)) in [(urlBuilt - started, 0), (exchanged - resumed, tokenTime),
                                           (finished - exchanged, userInfoTime)].enumerated() {
                logins.steps[step].wall.append(wall)
                logins.steps[step].op.append(opTime)
            }
        }
        progress("login: relyd, \(count) logins in this round (\(warmUpLogins) of them warm-up)")
        logins.cpuSeconds = relyd.cpuSeconds - cpuBefore
        logins.cpuLogins = count - warmUpLogins
        return logins
    }

    private static func peerRun(_ peer: Peer, op: BenchOP, seconds: Double, scratch: String) throws -> Logins {
        let clientID = "python-peer"
        let secret = "python-peer-secret-0123456789abcdef"
        op.op.addClient(id: clientID, secret: secret, redirectURIs: [redirectURI])
        op.resetDurations()
        let output = scratch + "/peer.json"
        try runCommand(peer.python, [peer.script, op.issuer, clientID, secret, redirectURI, "\(seconds + 1)",
                                     "\(warmUpLogins)", output], scratch: scratch)
        guard let result = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: output)))
            as? [String: Any], let walls = result["walls"] as? [Double]
        else { throw BenchError("the Python peer wrote no timings") }
        // The peer logs in one after the other, so its n-th token and userinfo requests belong to its n-th login.
        let tokenTimes = try op.durations(of: "/token", count: walls.count)
        let userInfoTimes = try op.durations(of: "/userinfo", count: walls.count)
        guard tokenTimes.count == walls.count, userInfoTimes.count == walls.count else {
            throw BenchError("the Python peer's OP requests do not match its logins")
        }
        let opTimes = zip(tokenTimes, userInfoTimes).map { $0 + $1 }
        return Logins(walls: Array(walls.dropFirst(warmUpLogins)), opTimes: Array(opTimes.dropFirst(warmUpLogins)))
    }
}
