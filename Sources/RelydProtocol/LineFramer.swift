#if canImport(Glibc)
import Glibc
#endif

/// Splits a byte stream into request lines, bounded in memory.
///
/// A line ends at `\n`; a `\r` just before it is dropped so that CRLF clients work. A line longer than
/// `maximumLineLength` bytes (not counting the terminator) is reported once as ``Frame/lineTooLong`` and its
/// remaining bytes are discarded up to the next `\n`, so the framer never holds more than `maximumLineLength`
/// bytes and the connection stays usable. Empty lines are skipped.
///
/// The framer knows nothing of JSON: it is fed whatever the socket read.
public struct LineFramer: Sendable {
    public enum Frame: Sendable, Equatable {
        case line([UInt8])
        case lineTooLong
    }

    public let maximumLineLength: Int
    private var buffer: [UInt8] = []
    private var discardingOversizedLine = false

    public init(maximumLineLength: Int) {
        self.maximumLineLength = maximumLineLength
    }

    /// Bytes of an unfinished line currently held.
    public var bufferedByteCount: Int { buffer.count }

    /// Consumes `bytes` and returns the frames completed by them, in order.
    public mutating func feed(_ bytes: some Collection<UInt8>) -> [Frame] {
        if let frames = bytes.withContiguousStorageIfAvailable({ feed(UnsafeRawBufferPointer($0)) }) {
            return frames
        }
        return Array(bytes).withUnsafeBytes { feed($0) }
    }

    /// ``feed(_:)`` on raw bytes, the form the socket server reads into.
    ///
    /// The scanning is concrete, not generic: generic code called from another module is not specialised, and
    /// walking each byte through generic `Slice` subscripts cost a third of the daemon's CPU under load.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) -> [Frame] {
        var frames: [Frame] = []
        feed(bytes) { frames.append($0) }
        return frames
    }

    /// ``feed(_:)`` handing each frame to `take` as it completes, so that the socket server builds what it hands
    /// on without an array of frames in between.
    ///
    /// A line that arrives whole in `bytes` (the usual case: one request per read) is copied once, straight from
    /// `bytes` into its own array; only the pieces of a line split across reads collect in the framer's buffer.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer, each take: (Frame) -> Void) {
        guard let base = bytes.baseAddress else { return }
        var start = 0
        while start < bytes.count {
            // memchr scans a word at a time, where a Swift loop takes a byte per iteration.
            guard let found = memchr(base + start, Int32(UInt8(ascii: "\n")), bytes.count - start) else {
                append(UnsafeRawBufferPointer(rebasing: bytes[start...]), each: take)
                break
            }
            let newline = base.distance(to: UnsafeRawPointer(found))
            if buffer.isEmpty, !discardingOversizedLine {
                frame(UnsafeRawBufferPointer(rebasing: bytes[start..<newline]), each: take)
            } else {
                append(UnsafeRawBufferPointer(rebasing: bytes[start..<newline]), each: take)
                finishLine(each: take)
            }
            start = newline + 1
        }
    }

    private mutating func append(_ chunk: UnsafeRawBufferPointer, each take: (Frame) -> Void) {
        guard !discardingOversizedLine else { return }
        // One byte of slack for a `\r` that a following `\n` will strip.
        if buffer.count + chunk.count > maximumLineLength + 1 {
            buffer.removeAll(keepingCapacity: false)
            discardingOversizedLine = true
            take(.lineTooLong)
            return
        }
        buffer.append(contentsOf: chunk)
    }

    private mutating func finishLine(each take: (Frame) -> Void) {
        defer {
            buffer.removeAll(keepingCapacity: true)
            discardingOversizedLine = false
        }
        guard !discardingOversizedLine else { return }
        buffer.withUnsafeBytes { frame($0, each: take) }
    }

    /// The frame for one complete line, terminator excluded.
    private func frame(_ line: UnsafeRawBufferPointer, each take: (Frame) -> Void) {
        var line = line
        if line.last == UInt8(ascii: "\r") { line = UnsafeRawBufferPointer(rebasing: line.dropLast()) }
        if line.count > maximumLineLength {
            take(.lineTooLong)
        } else if !line.isEmpty {
            take(.line(Array(line)))
        }
    }
}
