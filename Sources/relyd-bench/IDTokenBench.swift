import Foundation
import RelydCrypto
import RelydOIDC
import RelydProtocol
import RelydTestSupport

/// Section 2: `check_id_token` through the socket against `openssl speed` verify, with an in-process breakdown.
enum IDTokenBench {
    static let algorithms: [JWSAlgorithm] = [.rs256, .es256, .edDSA]
    static let connections = 16

    static func run(seconds: Double, report: inout Report) throws {
        let scratch = try ScratchDirectory("idtoken")
        let keys = try algorithms.map { try OPSigningKey($0, keyID: $0.rawValue) }
        let op = try BenchOP(keys: keys)
        defer { op.stop() }
        let relyd = try RelydProcess(in: scratch.path)
        defer { relyd.stop() }
        let connection = try relyd.connect()
        let site = try connection.call("register_site", [
            "op_host": op.issuer, "authorization_redirect_uri": "http://127.0.0.1:8765/callback",
        ])
        guard let oxdID = site["oxd_id"] as? String, let clientID = site["client_id"] as? String else {
            throw BenchError("register_site answered without oxd_id or client_id")
        }
        let now = Int64(Date().timeIntervalSince1970)
        let claims: [String: JSONValue] = [
            "iss": .string(op.issuer), "sub": .string("alice"), "aud": .string(clientID),
            "iat": .integer(now), "exp": .integer(now + 3600), "email": .string("alice@example.org"),
        ]

        var rows: [[String]] = []
        var breakdownRows: [[String]] = []
        var rs256Ratio = 0.0
        let turns = TransportBench.sliceCount(seconds)
        for key in keys {
            progress("id tokens: \(key.algorithm.rawValue)")
            let token = try key.sign(claims, clientSecret: "")
            let request: [String: Any] = ["id": 1, "command": "check_id_token",
                                          "params": ["oxd_id": oxdID, "id_token": token]]
            // One checked call first: a refused token would make the load below measure error answers.
            try connection.call("check_id_token", ["oxd_id": oxdID, "id_token": token])
            let line = Array(try JSONSerialization.data(withJSONObject: request)) + [0x0A]
            // relyd and `openssl speed` in alternating turns (who goes first alternates too), as in section 1:
            // this machine's speed drifts over seconds, and a reference measured minutes apart from the figure
            // it divides gave ratios from 0.31x to 0.64x for the same build.
            var loads: [LoadResult] = []
            var opensslRates: [Double] = []
            var cpu = 0.0
            try TransportBench.inAlternatingTurns(turns) { side in
                if side == 0 {
                    let before = relyd.cpuSeconds
                    loads.append(try runClosedLoop(socketPath: relyd.socketPath, request: line,
                                                   connections: connections, duration: seconds / Double(turns)))
                    cpu += relyd.cpuSeconds - before
                } else {
                    opensslRates.append(try opensslVerifyRate(key.algorithm, scratch: scratch.path))
                }
            }
            let result = LoadResult.combined(loads)
            let raw = opensslRates.reduce(0, +) / Double(max(1, opensslRates.count))
            let ratio = raw > 0 ? result.rate / raw : 0
            if key.algorithm == .rs256 { rs256Ratio = ratio }
            let latency = medianAndTail(result.latencies)
            rows.append([key.algorithm.rawValue, Format.rate(result.rate),
                         "\(Format.micros(latency.p50)) / \(Format.micros(latency.p99))",
                         Format.microsPrecise(cpu / Double(max(1, result.answered))),
                         Format.rate(raw), "**\(Format.ratio(ratio))**"])
            breakdownRows.append(try breakdown(key: key, token: token, issuer: op.issuer, clientID: clientID,
                                               socketRate: result.rate))
        }
        report.heading("2. ID token validation: `check_id_token` vs `openssl speed` verify")
        report.paragraph("""
            Tokens signed by the bench OP (RSA-2048, P-256, Ed25519 keys in its JWKS, cached by relyd after the \
            first call). \(connections) connections, request-response, \(seconds) s each, same load generator as \
            section 1. Reference: `openssl speed -seconds 1` for the same algorithm (`rsa2048`, `ecdsap256`, \
            `ed25519`), verify/s column (one core, signature only). Each algorithm runs as \(turns) turns of relyd \
            alternating with \(turns) of openssl (who goes first alternates too), and each side's rate is over all \
            its turns. relyd's CPU per token is its user + system time over its turns (/proc/PID/stat, all threads) \
            divided by the answers it sent in them.
            """)
        report.table(["alg", "check_id_token/s (socket)", "p50 / p99", "relyd CPU per token", "openssl verify/s",
                      "relyd / openssl"], rows)
        report.paragraph("Goal: at least 0.50x raw verify for RS256 through the socket: \(Format.ratio(rs256Ratio)), "
                         + Format.verdict(rs256Ratio >= 0.5) + ".")
        report.paragraph("""
            Per-token cost in-process (release build, one thread, engine pieces called directly, best of five \
            batches): *parse* is \
            splitting, base64url and the header; *JSON* the claims parse; *verify* the signature with the cached \
            key (hashing the signing input included, which `openssl speed` does not do for RSA and ECDSA: it \
            verifies a 36- or 20-byte input as the hash); *claims* the iss/aud/exp/iat/sub checks (full validation minus the rest). The \
            socket figure is wall time per token at the measured rate (both cores, client included).
            """)
        report.table(["alg", "parse", "JSON", "verify", "claims", "full validation", "socket, per token"],
                     breakdownRows)
    }

    /// `openssl speed -seconds 1`'s verify/s for `algorithm`, from its summary line.
    static func opensslVerifyRate(_ algorithm: JWSAlgorithm, scratch: String) throws -> Double {
        let (name, summary): (String, String)
        switch algorithm {
        case .rs256: (name, summary) = ("rsa2048", "rsa 2048 bits")
        case .es256: (name, summary) = ("ecdsap256", "(nistp256)")
        case .edDSA: (name, summary) = ("ed25519", "EdDSA (Ed25519)")
        default: throw BenchError("no openssl speed reference for \(algorithm.rawValue)")
        }
        let output = try runCommand("openssl", ["speed", "-seconds", "1", name], scratch: scratch)
        // The last column of the summary line is verify/s.
        guard let line = output.split(separator: "\n").last(where: { $0.contains(summary) }),
              let last = line.split(separator: " ").last, let rate = Double(last)
        else { throw BenchError("cannot read openssl speed output: \(output)") }
        return rate
    }

    private static func breakdown(key: OPSigningKey, token: String, issuer: String, clientID: String,
                                  socketRate: Double) throws -> [String] {
        let jwks = JSONValue.object(["keys": .array(key.publicJWK.map { [$0] } ?? [])])
        let keys = try JWKSet(json: JSONEncoder().encode(jwks))
        guard let publicKey = keys.keys.first?.publicKey else { throw BenchError("the bench JWK did not import") }
        let expectations = IDTokenExpectations(issuer: issuer, clientID: clientID,
                                               allowedAlgorithms: [key.algorithm], now: Date())
        let scheme: SignatureScheme = switch key.algorithm {
        case .rs256: .rsaPKCS1v15(.sha256)
        case .es256: .ecdsa(.sha256)
        default: .ed25519
        }
        let jws = try JWS(compact: token)
        let parts = token.split(separator: ".")
        guard parts.count == 3, let payload = Base64URL.decode(String(parts[1])) else {
            throw BenchError("malformed bench token")
        }
        let iterations = 1000
        let full = try timePerCall(iterations) { _ = try IDTokenValidator.validate(token, expectations: expectations,
                                                                                   keys: keys) }
        let structure = try timePerCall(iterations) { _ = try JWS(compact: token) }
        let json = try timePerCall(iterations) { _ = try JSONParser.parseObject(payload) }
        let verify = try timePerCall(iterations) {
            guard try publicKey.verify(jws.signature, of: jws.signingInput, scheme: scheme) else {
                throw BenchError("the bench token's signature did not verify")
            }
        }
        return [key.algorithm.rawValue, Format.microsPrecise(structure - json), Format.microsPrecise(json),
                Format.microsPrecise(verify), Format.microsPrecise(max(0, full - structure - verify)),
                Format.microsPrecise(full), Format.microsPrecise(1 / socketRate)]
    }

    /// Seconds per call of `body`: the best mean of five batches of `iterations / 5` calls, after a few unmeasured
    /// ones. The best batch is the one other processes disturbed least, which a shared machine needs.
    static func timePerCall(_ iterations: Int, _ body: () throws -> Void) throws -> Double {
        for _ in 0..<10 { try body() }
        let batch = max(1, iterations / 5)
        var best = Double.infinity
        for _ in 0..<5 {
            let started = monotonicSeconds()
            for _ in 0..<batch { try body() }
            best = min(best, (monotonicSeconds() - started) / Double(batch))
        }
        return best
    }
}
