import Foundation
import Logging

/// Where the CLI's human-facing output goes: a one-line progress display on a terminal, plain
/// log lines otherwise (CI logs, pipes).
final class Console: @unchecked Sendable {
    // @unchecked: used from the main thread only.
    let logger: Logger
    let isTerminal: Bool
    private var step = 0
    private let totalSteps: Int

    init(label: String, level: Logger.Level, totalSteps: Int) {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        var logger = Logger(label: label)
        logger.logLevel = level
        self.logger = logger
        self.isTerminal = isatty(STDERR_FILENO) == 1
        self.totalSteps = totalSteps
    }

    /// Reports progress of a long step.
    func progress(_ message: String) {
        if message.hasSuffix(" done") { step += 1 }
        if isTerminal {
            let width = 24
            let filled = min(width, width * step / max(totalSteps, 1))
            let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
            let line = "[\(bar)] \(step)/\(totalSteps) \(message)"
            FileHandle.standardError.write(Data("\r\u{1B}[2K\(line.prefix(100))".utf8))
        } else {
            logger.info("\(message)")
        }
    }

    /// Ends the progress display.
    func finishProgress() {
        if isTerminal { FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8)) }
    }

    /// Prints to standard output.
    func print(_ text: String = "") { Swift.print(text) }
}

/// Fixed-width text tables for the console.
enum TextTable {
    static func render(header: [String], rows: [[String]]) -> String {
        var widths = header.map(\.count)
        for row in rows { for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) } }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, c in i == 0 ? c.padding(toLength: widths[i], withPad: " ", startingAt: 0)
                : String(repeating: " ", count: widths[i] - c.count) + c }.joined(separator: "  ")
        }
        let rule = widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")
        return ([line(header), rule] + rows.map(line)).joined(separator: "\n")
    }
}

/// Number formatting for the console and files.
enum Format {
    static func f(_ x: Double?, _ digits: Int = 4) -> String {
        guard let x, x.isFinite else { return "-" }
        return String(format: "%.\(digits)f", x)
    }
    /// With its sign always written (`+0.0042`, `-0.0010`): a difference.
    static func signed(_ x: Double?, _ digits: Int = 4) -> String {
        guard let x, x.isFinite else { return "-" }
        return String(format: "%+.\(digits)f", x)
    }
    static func pct(_ x: Double, _ digits: Int = 2) -> String { String(format: "%.\(digits)f%%", 100 * x) }
    static func int(_ n: Int) -> String {
        let s = String(n)
        var out = ""
        for (i, ch) in s.reversed().enumerated() { if i > 0 && i % 3 == 0 { out.append(",") }; out.append(ch) }
        return String(out.reversed())
    }
}
