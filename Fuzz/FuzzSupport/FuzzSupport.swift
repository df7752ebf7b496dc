import CFuzzer
import Dispatch
import Foundation

/// What every fuzz target shares: libFuzzer hands each input to a synchronous C entry point, while relyd's engine is
/// async, and a broken invariant must end the process so that libFuzzer keeps the input as a crash.
public enum Fuzz {
    /// Hands the process to libFuzzer, which calls the target's `LLVMFuzzerTestOneInput` (a `@_cdecl` function).
    /// A target's main.swift calls this because SwiftPM points an executable's `main` at its own top-level code,
    /// which shadows libFuzzer's `main`.
    public static func run() -> Never {
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, LLVMFuzzerTestOneInput))
    }

    /// The input libFuzzer passes, as bytes (it may pass a null pointer for the empty input).
    public static func bytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
        guard let data, size > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: data, count: size))
    }

    /// Runs `work` on the concurrency pool and blocks this (libFuzzer's) thread until it finishes.
    public static func wait(_ work: @escaping @Sendable () async -> Void) {
        let done = DispatchSemaphore(value: 0)
        Task {
            await work()
            done.signal()
        }
        done.wait()
    }

    /// Reports a broken invariant and aborts: libFuzzer saves the input as `crash-*`.
    public static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("fuzz invariant broken: \(message)\n".utf8))
        abort()
    }
}
