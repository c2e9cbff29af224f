import Foundation
import ReadmitFiles

/// Writes a command's output file without ever losing data: `-` is standard output; otherwise
/// ``DurableFile`` (anything that is not a regular file is refused; temporary file, fsync,
/// rename, folder fsync), so a crash leaves the old file or the new one, never a partial one.
enum OutputFile {
    struct Refused: Error, CustomStringConvertible { let description: String }

    static func write(_ text: String, to path: String) throws {
        try write(bytes: Array(text.utf8), to: path)
    }

    /// Writes bytes with the same guarantees.
    static func write(bytes: [UInt8], to path: String) throws {
        if path == "-" {
            FileHandle.standardOutput.write(Data(bytes))
            return
        }
        do {
            try DurableFile.write(bytes, to: path)
        } catch {
            switch error.code {
            case .notARegularFile: throw Refused(description: error.message + "; name a file, or - for standard output")
            case .noFolder: throw Refused(description: error.message)
            case .ioFailed: throw Refused(description: "cannot write " + error.message)
            }
        }
    }
}
