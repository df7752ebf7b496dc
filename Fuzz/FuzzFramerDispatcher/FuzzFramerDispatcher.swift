import FuzzSupport
import RelydCommands
import RelydProtocol
import RelydTestSupport

/// Bytes a client might write on the socket, framed as the server frames them and answered by the dispatcher of a
/// daemon whose OP is a ``FakeOP`` and whose store is in memory.
///
/// Invariants: framing does not depend on how the bytes are split into reads; the framer never holds more than a
/// line; every request gets exactly one response line that is a JSON object with `"status":"ok"` and a `data`
/// object, or `"status":"error"` with a known error code other than `internal_error` (which means a path nobody
/// anticipated). A fresh harness per input keeps runs reproducible: its random source makes the same `oxd_id`s
/// every time, so a seed can register a site and then use it.
let maximumLineLength = 2048

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFramerDispatcher(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = Fuzz.bytes(data, size)
    let frames = framedInReads(input)
    var whole = LineFramer(maximumLineLength: maximumLineLength)
    guard whole.feed(input) == frames else { Fuzz.fail("framing depends on how the input is split into reads") }

    Fuzz.wait {
        let harness = DispatcherHarness()
        for frame in frames {
            let response = switch frame {
            case .line(let line): await harness.dispatcher.respond(to: line, peer: DispatcherHarness.defaultPeer)
            case .lineTooLong: Dispatcher.requestTooLarge(limit: maximumLineLength)
            }
            checkResponseLine(response)
        }
    }
    return 0
}

/// The frames of `input` read in chunks whose size the first byte chooses, as a socket might deliver them.
func framedInReads(_ input: [UInt8]) -> [LineFramer.Frame] {
    let readSize = Int(input.first ?? 0) % 97 + 1
    var framer = LineFramer(maximumLineLength: maximumLineLength)
    var frames: [LineFramer.Frame] = []
    var start = 0
    while start < input.count {
        let end = min(start + readSize, input.count)
        frames += framer.feed(input[start..<end])
        guard framer.bufferedByteCount <= maximumLineLength + 1 else { Fuzz.fail("the framer holds more than a line") }
        start = end
    }
    return frames
}

func checkResponseLine(_ response: [UInt8]) {
    guard response.last == UInt8(ascii: "\n"), response.firstIndex(of: UInt8(ascii: "\n")) == response.count - 1 else {
        Fuzz.fail("the response is not exactly one line")
    }
    guard let envelope = try? JSONParser.parseObject(Array(response.dropLast())) else {
        Fuzz.fail("the response is not a JSON object")
    }
    guard let data = envelope["data"]?.objectValue else { Fuzz.fail("the response has no data object") }
    switch envelope["status"]?.stringValue {
    case "ok":
        return
    case "error":
        guard let code = data["error"]?.stringValue.flatMap(ErrorCode.init(rawValue:)) else {
            Fuzz.fail("the error response has no known error code")
        }
        guard code != .internalError else { Fuzz.fail("internal_error: \(String(decoding: response, as: UTF8.self))") }
        guard data["error_description"]?.stringValue != nil else { Fuzz.fail("the error response has no description") }
    default:
        Fuzz.fail("the response status is neither ok nor error")
    }
}
