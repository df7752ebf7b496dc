// relyctl: the command-line client of relyd. All parsing lives in RelydClient.CommandLineRequest (tested there);
// this file only wires it to the client, stdin, stdout and the exit status.
//
// Exit status: 0 ok, 1 the daemon answered with an error, 2 usage error, 3 connection failure.
import Foundation
import RelydClient
import RelydProtocol

func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

func exitStatus(for error: RelydClientError) -> Int32 {
    error.isConnectionFailure ? 3 : 1
}

let request: CommandLineRequest
do {
    request = try CommandLineRequest.parse(Array(CommandLine.arguments.dropFirst()))
} catch {
    printError("relyctl: \(error)\nrun 'relyctl help' for usage")
    exit(2)
}

let client = RelydClient(
    socketPath: request.socketPath ?? RelydClient.defaultSocketPath,
    timeout: request.timeoutSeconds.map { .milliseconds(Int64(($0 * 1000).rounded(.up))) } ?? .seconds(30))

switch request.action {
case .help(let command):
    print(CommandLineRequest.helpText(command: command))

case .command(let name, let parameters):
    do throws(RelydClientError) {
        let data = try await client.send(command: name, parameters: parameters)
        print(CommandLineRequest.prettyJSON(data))
    } catch {
        printError("error: \(error.code): \(error.description)")
        exit(exitStatus(for: error))
    }

case .raw:
    // One request line in, one response line out, in order. Blank lines are skipped.
    var sawErrorResponse = false
    while let line = readLine(strippingNewline: true) {
        if line.allSatisfy(\.isWhitespace) { continue }
        do throws(RelydClientError) {
            let response = try await client.sendRaw(line)
            print(response)
            let decoded = try? JSONDecoder().decode(JSONValue.self, from: Data(response.utf8))
            if decoded?["status"] == .string("error") { sawErrorResponse = true }
        } catch {
            printError("error: \(error.code): \(error.description)")
            exit(error.localCode == .invalidRequestLine ? 1 : exitStatus(for: error))
        }
    }
    if sawErrorResponse { exit(1) }
}
