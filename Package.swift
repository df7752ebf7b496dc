// swift-tools-version:6.0
//
// relyd: a local OpenID Connect relying-party agent.
//
// The targets are the architecture. Dependencies point one way only:
//
//   relyd (exe) ─► RelydServer ─► RelydCommands ─► RelydOIDC ─► RelydStore ─► RelydBasics
//                       │               │               ├──► RelydCrypto ─► COpenSSL
//                       │               │               └──► RelydHTTP   ─► CCurl
//                       └──► CLinux     └──► RelydProtocol (wire vocabulary, shared with clients)
//   relyctl (exe) ─► RelydClient ─► RelydProtocol
//
// Every C library sits behind exactly one thin Swift file in the target that owns it:
// OpenSSL.swift (RelydCrypto), Curl.swift (RelydHTTP), SQLite.swift and PostgreSQL.swift (RelydStore),
// Socket.swift (RelydServer).
import PackageDescription

let package = Package(
    name: "relyd",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "relyd", targets: ["relyd"]),
        .executable(name: "relyctl", targets: ["relyctl"]),
        .library(name: "RelydClient", targets: ["RelydClient"]),
    ],
    targets: [
        // System edges: C libraries from Debian, each wrapped by one Swift file.
        .systemLibrary(name: "COpenSSL", path: "Sources/COpenSSL", pkgConfig: "libcrypto",
                       providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite", pkgConfig: "sqlite3",
                       providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CPostgres", path: "Sources/CPostgres", pkgConfig: "libpq",
                       providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CCurl", path: "Sources/CCurl", pkgConfig: "libcurl",
                       providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CLinux", path: "Sources/CLinux"),

        // Small shared vocabulary with no knowledge of OIDC or the wire: logging, secrets, clock, randomness.
        .target(name: "RelydBasics", dependencies: ["CLinux"]),
        // The wire protocol: framing, envelope, error codes, request and response types. Shared with clients.
        .target(name: "RelydProtocol"),
        .target(name: "RelydCrypto", dependencies: ["COpenSSL", "RelydBasics"]),
        .target(name: "RelydHTTP", dependencies: ["CCurl", "RelydBasics"]),
        .target(name: "RelydStore", dependencies: ["CSQLite", "CPostgres", "RelydBasics"]),
        // The OIDC engine: pure logic over an injected transport, clock and randomness.
        .target(name: "RelydOIDC",
                dependencies: ["RelydBasics", "RelydProtocol", "RelydCrypto", "RelydHTTP", "RelydStore"]),
        // One file per command, one command table, one dispatcher that does the generic checks.
        .target(name: "RelydCommands", dependencies: ["RelydBasics", "RelydProtocol", "RelydOIDC", "RelydStore"]),
        // The daemon's body: configuration, socket, event loop, connections.
        .target(name: "RelydServer",
                dependencies: ["CLinux", "RelydBasics", "RelydProtocol", "RelydCommands", "RelydOIDC",
                               "RelydStore", "RelydCrypto", "RelydHTTP"]),
        // The daemon links the Swift runtime, Dispatch and FoundationEssentials statically: its idle memory is a
        // goal (issue 7; idle VmRSS 25 MB with shared Swift libraries, 21 MB static), and the installed
        // binary needs only Debian's libraries, not a Swift toolchain at the path it was built in. The -l flags
        // name FoundationEssentials' own static dependencies, which the shared modules we compile against do not
        // ask for.
        .executableTarget(name: "relyd", dependencies: ["RelydServer"],
                          linkerSettings: [.unsafeFlags(["-static-stdlib", "-l_FoundationCollections",
                                                         "-l_FoundationCShims", "-lswiftSynchronization"],
                                                        .when(platforms: [.linux]))]),
        .target(name: "RelydClient", dependencies: ["RelydProtocol"]),
        .executableTarget(name: "relyctl", dependencies: ["RelydClient", "RelydProtocol"]),

        // Test doubles shared by the test targets: fake transport, fake clock, fixed randomness.
        .target(name: "RelydTestSupport",
                dependencies: ["RelydBasics", "RelydProtocol", "RelydHTTP", "RelydCrypto", "RelydStore", "RelydOIDC",
                               "RelydCommands"],
                path: "Tests/RelydTestSupport"),
        // The benchmark (scripts/bench.sh): run on demand, never part of the tests.
        .executableTarget(name: "relyd-bench",
                          dependencies: ["CLinux", "RelydBasics", "RelydProtocol", "RelydCrypto", "RelydHTTP",
                                         "RelydStore", "RelydOIDC", "RelydTestSupport"]),
        .testTarget(name: "RelydProtocolTests", dependencies: ["RelydProtocol"]),
        .testTarget(name: "RelydCryptoTests", dependencies: ["RelydCrypto"], resources: [.copy("Fixtures")]),
        .testTarget(name: "RelydHTTPTests", dependencies: ["RelydHTTP", "RelydTestSupport"], exclude: ["test_server.py"]),
        .testTarget(name: "RelydStoreTests", dependencies: ["RelydStore", "RelydBasics", "RelydTestSupport"]),
        .testTarget(name: "RelydOIDCTests",
                    dependencies: ["RelydOIDC", "RelydTestSupport", "RelydCrypto"], resources: [.copy("Fixtures")]),
        .testTarget(name: "RelydCommandsTests", dependencies: ["RelydCommands", "RelydTestSupport"]),
        .testTarget(name: "RelydServerTests", dependencies: ["RelydServer", "RelydTestSupport"]),
        .testTarget(name: "RelydClientTests", dependencies: ["RelydClient", "RelydProtocol", "RelydBasics"]),
        .testTarget(name: "RelydIntegrationTests",
                    dependencies: ["RelydClient", "RelydProtocol", "RelydBasics", "RelydTestSupport"]),
    ]
)

// libFuzzer targets (Fuzz/, docs/FUZZING.md). Declared only when scripts/fuzz.sh sets RELYD_FUZZ, because they build
// only with -sanitize=fuzzer, which links libFuzzer's driver: the normal build never sees them.
if Context.environment["RELYD_FUZZ"] != nil {
    package.targets += [
        .systemLibrary(name: "CFuzzer", path: "Fuzz/CFuzzer"),
        .target(name: "FuzzSupport", dependencies: ["CFuzzer"], path: "Fuzz/FuzzSupport"),
        .executableTarget(name: "FuzzFramerDispatcher",
                          dependencies: ["FuzzSupport", "RelydProtocol", "RelydCommands", "RelydTestSupport"],
                          path: "Fuzz/FuzzFramerDispatcher"),
        .executableTarget(name: "FuzzJOSE", dependencies: ["FuzzSupport", "RelydOIDC", "RelydProtocol"],
                          path: "Fuzz/FuzzJOSE"),
        .executableTarget(name: "FuzzOPResponses",
                          dependencies: ["FuzzSupport", "RelydBasics", "RelydOIDC", "RelydHTTP", "RelydProtocol"],
                          path: "Fuzz/FuzzOPResponses"),
    ]
}
