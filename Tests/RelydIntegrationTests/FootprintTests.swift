import Foundation
import Testing

/// The daemon's memory footprint depends on which libraries it loads (issue 7: idle RSS under 30 MB). Full
/// Foundation brings FoundationInternationalization and ICU's data, about 6 MB of resident pages that relyd has no
/// use for; its targets import FoundationEssentials only. One stray `import Foundation` in any of them would link
/// full Foundation again, so this checks the built binary and the running process rather than the sources.
@Suite struct FootprintTests {
    static let fullFoundation = ["FoundationInternationalization", "libFoundation.so", "_FoundationICU"]

    @Test func relydLinksNoFullFoundation() throws {
        let binary = try Data(contentsOf: Checkout.product("relyd"))
        for name in Self.fullFoundation {
            #expect(binary.range(of: Data(name.utf8)) == nil, "relyd's binary names \(name)")
        }
    }

    @Test func runningDaemonMapsNoFullFoundation() throws {
        let directory = try TemporaryDirectory()
        let daemon = try RelydDaemon(in: directory.url)
        defer { _ = daemon.terminate() }
        let maps = try String(contentsOfFile: "/proc/\(daemon.pid)/maps", encoding: .utf8)
        for name in Self.fullFoundation {
            #expect(!maps.contains(name), "relyd maps \(name)")
        }
    }
}
