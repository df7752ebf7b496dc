import Foundation
import RelydServer

/// `relyd check-config --config PATH`: parses the file like a start would and prints the effective configuration,
/// one `key = value` per line with secrets masked. Exits 0 when the file is good, 78 (EX_CONFIG) with
/// `file:line: reason` on stderr when not, 2 on a usage error.
func checkConfig(_ arguments: ArraySlice<String>) -> Never {
    let usage = "usage: relyd check-config --config PATH"
    guard arguments.count == 2, arguments.first == "--config", let path = arguments.last else {
        FileHandle.standardError.write(Data("relyd: \(usage)\n".utf8))
        exit(2)
    }
    let configuration: Configuration
    do {
        configuration = try ConfigurationFile.load(path: path)
    } catch {
        FileHandle.standardError.write(Data("\(error)\n".utf8))
        exit(78)  // EX_CONFIG
    }
    let text = ConfigurationFile.effectiveLines(configuration).joined(separator: "\n") + "\n"
    FileHandle.standardOutput.write(Data(text.utf8))
    exit(0)
}
