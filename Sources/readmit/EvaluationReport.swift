import ArgumentParser
import Foundation
import ReadmitReport

/// Where `readmit evaluate --report DIR` writes: DIR/report.html and DIR/plots/, with the same
/// care as training's report (the folder made and checked before any work, only regular files
/// replaced, PNG copies where rsvg-convert is found, and an earlier report's files that this
/// one does not write removed, so the folder never mixes two evaluations).
enum EvaluationReport {
    /// Makes the folder and refuses one whose report.html or plots/ is something else.
    static func prepare(folder: String) throws {
        if let problem = TrainCommand.makeFolder(folder) {
            throw ValidationError("--report \(folder): cannot make the folder: \(problem)")
        }
        guard access(folder, W_OK) == 0 else { throw ValidationError("--report \(folder): the folder is not writable") }
        var st = stat()
        if lstat(folder + "/report.html", &st) == 0, (st.st_mode & S_IFMT) != S_IFREG {
            throw ValidationError("--report \(folder): \(folder)/report.html: refusing to replace it: not a regular file (a directory, device or link)")
        }
        if lstat(folder + "/plots", &st) == 0, (st.st_mode & S_IFMT) != S_IFDIR {
            throw ValidationError("--report \(folder): \(folder)/plots: the plots go in a folder of this name, and something else is there")
        }
    }

    /// Writes the report and its plots; returns the report's path.
    @discardableResult
    static func write(_ input: ReportInput, to folder: String) throws -> String {
        let written = try ReportWriter.write(input, to: URL(fileURLWithPath: folder))
        let (pngs, _) = PNGExport.convert(written.filter { $0.pathExtension == "svg" })
        _ = TrainCommand.removeStaleReport(in: folder, keeping: Set(written.map(\.path) + pngs.map(\.path)))
        return folder + "/report.html"
    }
}
