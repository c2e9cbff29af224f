import Foundation
import ReadmitFiles

/// PNG copies of the SVG plots, where cheap: made by librsvg's `rsvg-convert` when it is
/// installed (`scripts/setup.sh` installs it); skipped otherwise, since the SVGs are complete.
enum PNGExport {
    /// Converts each SVG to a PNG beside it; returns the PNGs written, and why each PNG
    /// that was made could not be written (a link or folder in its place: never replaced).
    static func convert(_ svgs: [URL]) -> (written: [URL], refused: [String]) {
        guard let tool = locate("rsvg-convert") else { return ([], []) }
        var written: [URL] = []
        var refused: [String] = []
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
            do {
                try DurableFile.write(bytes, to: png.path)
                written.append(png)
            } catch {
                refused.append(error.message)
            }
        }
        return (written, refused)
    }

    static func locate(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}
