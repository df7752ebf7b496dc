// relyd: the OpenID Connect relying-party daemon.
//
//   relyd [--config PATH] [--socket PATH] [--state-dir DIR]
//   relyd check-config --config PATH
//   relyd --version
import RelydBasics
import RelydServer

#if canImport(Glibc)
import Glibc
#endif

let usage = """
    usage: relyd [--config PATH] [--socket PATH] [--state-dir DIR]
           relyd check-config --config PATH
           relyd --version
    """

func fail(_ message: String, status: Int32 = 2) -> Never {
    StandardError.write("relyd: \(message)\n")
    exit(status)
}

var configPath: String?
var socketOverride: String?
var stateDirOverride: String?
var arguments = CommandLine.arguments.dropFirst()
if arguments.first == "check-config" { checkConfig(arguments.dropFirst()) }
while let argument = arguments.popFirst() {
    switch argument {
    case "--version":
        print("relyd \(Daemon.version)")
        exit(0)
    case "--help", "-h":
        print(usage)
        exit(0)
    case "--config", "--socket", "--state-dir":
        guard let value = arguments.popFirst() else { fail("\(argument) needs a value\n\(usage)") }
        switch argument {
        case "--config": configPath = value
        case "--socket": socketOverride = value
        default: stateDirOverride = value
        }
    default:
        fail("unknown argument '\(argument)'\n\(usage)")
    }
}

var configuration = Configuration()
if let configPath {
    do {
        configuration = try ConfigurationFile.load(path: configPath)
    } catch {
        fail("bad configuration: \(error)", status: 78)  // EX_CONFIG
    }
}
if let socketOverride { configuration.socketPath = socketOverride }
if let stateDirOverride { configuration.stateDirectory = stateDirOverride }

// SIGTERM, SIGINT and SIGHUP are blocked in every thread from before the first thread exists (threads inherit the
// mask), so that one sent at any moment stays pending until the dispatch sources of `Daemon.run` read it from their
// signalfd. Unblocked, a SIGTERM arriving after `run` set the default action aside but before libdispatch had
// registered the source on its manager thread was discarded, and relyd never exited (about 1 start in 100 with a
// SIGTERM right after the first answer).
var daemonSignals = sigset_t()
sigemptyset(&daemonSignals)
for number in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&daemonSignals, number) }
pthread_sigmask(SIG_BLOCK, &daemonSignals, nil)
umask(0o077)
// The level lives in the sink so that SIGHUP can change it.
let levels = LevelFilteringLogSink(wrapping: StderrLogSink(), minimumLevel: configuration.logLevel)
let logger = Logger(sink: levels, minimumLevel: .debug)
let reload = configPath.map { [socketOverride, stateDirOverride] path in
    ConfigurationReload(load: { () throws(ConfigurationFile.Failure) -> Configuration in
        var reloaded = try ConfigurationFile.load(path: path)
        if let socketOverride { reloaded.socketPath = socketOverride }
        if let stateDirOverride { reloaded.stateDirectory = stateDirOverride }
        return reloaded
    }, logLevel: levels)
}
let daemon: Daemon
do {
    daemon = try Daemon(configuration: configuration, logger: logger, reload: reload)
} catch {
    logger.error("cannot start", ("error.detail", "\(error)"))
    exit(1)
}
exit(daemon.run())
