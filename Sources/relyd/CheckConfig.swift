#if canImport(Glibc)
import Glibc
#endif
import RelydBasics
import RelydServer

/// `relyd check-config --config PATH`: parses the file like a start would and prints the effective configuration,
/// one `key = value` per line with secrets masked. Exits 0 when the file is good, 78 (EX_CONFIG) with
/// `file:line: reason` on stderr when not, 2 on a usage error.
func checkConfig(_ arguments: ArraySlice<String>) -> Never {
    let usage = "usage: relyd check-config --config PATH"
    guard arguments.count == 2, arguments.first == "--config", let path = arguments.last else {
        StandardError.write("relyd: \(usage)\n")
        exit(2)
    }
    let configuration: Configuration
    do {
        configuration = try ConfigurationFile.load(path: path)
    } catch {
        StandardError.write("\(error)\n")
        exit(78)  // EX_CONFIG
    }
    let text = ConfigurationFile.effectiveLines(configuration).joined(separator: "\n") + "\n"
    print(text, terminator: "")
    exit(0)
}
