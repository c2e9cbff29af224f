import ArgumentParser
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

    /// Refuses an output that is one of the command's inputs, however the path is written
    /// (`x.csv`, `./x.csv`, a link to it): the output would replace the data it is made from
    /// (`score --records x.csv --out x.csv` did). Files are compared by device and inode; a
    /// path that does not exist yet is compared by its absolute, standardised form.
    /// - Parameters:
    ///   - output: the output's option and path (`-` is standard output, never an input).
    ///   - inputs: each input's option and path, nil when not given.
    static func refuseInputs(_ output: (option: String, path: String), _ inputs: [(option: String, path: String?)]) throws {
        guard output.path != "-" else { return }
        var out = stat()
        let exists = stat(output.path, &out) == 0
        let outName = URL(fileURLWithPath: output.path).standardizedFileURL.path
        for case let (option, path?) in inputs where path != "-" {
            var input = stat()
            let same = exists
                ? stat(path, &input) == 0 && input.st_dev == out.st_dev && input.st_ino == out.st_ino
                : URL(fileURLWithPath: path).standardizedFileURL.path == outName
            if same {
                throw ValidationError("\(output.option) \(output.path) is the file of \(option) \(path): writing it would replace that; name another file")
            }
        }
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
