import Foundation

/// PNG copies of the SVG plots, where cheap: made by librsvg's `rsvg-convert` when it is
/// installed (`scripts/setup.sh` installs it); skipped otherwise, since the SVGs are complete.
enum PNGExport {
    /// Converts each SVG to a PNG beside it; returns how many were written.
    static func convert(_ svgs: [URL]) -> Int {
        guard let tool = locate("rsvg-convert") else { return 0 }
        var written = 0
        for svg in svgs {
            let png = svg.deletingPathExtension().appendingPathExtension("png")
            // The tool writes to a pipe, not to the path: the PNG is then written like every
            // other output (only over a regular file, fsynced, renamed into place).
            let p = Process()
            let out = Pipe()
            p.executableURL = URL(fileURLWithPath: tool)
            p.arguments = [svg.path]
            p.standardOutput = out
            p.standardError = FileHandle.nullDevice
            do { try p.run() } catch { continue }
            let bytes = out.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            guard p.terminationStatus == 0, !bytes.isEmpty else { continue }
            if (try? OutputFile.write(bytes: Array(bytes), to: png.path)) != nil { written += 1 }
        }
        return written
    }

    static func locate(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}
