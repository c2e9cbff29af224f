import Foundation

/// Finds the shipped data set, `data/diabetes130/diabetic_data.csv.gz`.
///
/// Looked up, in order: `$READMIT_DATA`; the current directory and its parents; the directories
/// above the executable (so `.build/release/readmit` finds the repository's copy from anywhere).
enum DefaultData {
    static let relativePath = "data/diabetes130/diabetic_data.csv.gz"

    static func locate() -> String? {
        if let env = ProcessInfo.processInfo.environment["READMIT_DATA"], !env.isEmpty { return env }
        var starts = [FileManager.default.currentDirectoryPath]
        let exe = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent().path
        starts.append(exe)
        for start in starts {
            var dir = URL(fileURLWithPath: start)
            for _ in 0..<8 {
                let candidate = dir.appendingPathComponent(relativePath).path
                if FileManager.default.fileExists(atPath: candidate) { return candidate }
                dir = dir.deletingLastPathComponent()
            }
        }
        return nil
    }
}
