import Foundation

/// The Markdown the bench prints: one section per measurement, each a table of figures with their reference.
struct Report {
    private(set) var text = ""

    mutating func heading(_ title: String) { text += "\n## \(title)\n\n" }

    mutating func paragraph(_ line: String) { text += line + "\n\n" }

    mutating func table(_ header: [String], _ rows: [[String]]) {
        text += "| " + header.joined(separator: " | ") + " |\n"
        text += "|" + header.map { _ in "---|" }.joined() + "\n"
        for row in rows { text += "| " + row.joined(separator: " | ") + " |\n" }
        text += "\n"
    }

    /// Prints what has been written so far, so a long run shows progress and a crash keeps the finished sections.
    mutating func flush() {
        FileHandle.standardOutput.write(Data(text.utf8))
        text = ""
    }
}

/// Progress for the person running the bench, on standard error.
func progress(_ message: String) {
    FileHandle.standardError.write(Data("relyd-bench: \(message)\n".utf8))
}

enum Format {
    static func rate(_ perSecond: Double) -> String {
        perSecond >= 100 ? String(Int(perSecond.rounded())) : String(format: "%.1f", perSecond)
    }

    static func ratio(_ value: Double) -> String { String(format: "%.2fx", value) }

    static func micros(_ seconds: Double) -> String { String(format: "%.0f µs", seconds * 1e6) }

    static func microsPrecise(_ seconds: Double) -> String { String(format: "%.1f µs", seconds * 1e6) }

    static func millis(_ seconds: Double) -> String { String(format: "%.2f ms", seconds * 1e3) }

    static func megabytes(_ bytes: Int) -> String { String(format: "%.1f MB", Double(bytes) / 1_048_576) }

    static func percent(_ share: Double) -> String { String(format: "%.0f%%", share * 100) }

    static func verdict(_ met: Bool) -> String { met ? "met" : "**missed**" }
}
