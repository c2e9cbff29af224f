import ArgumentParser
import Foundation
import ReadmitCore
import ReadmitSpec

/// Finds the shipped default dataset spec, `data/diabetes130/dataset.yaml`.
///
/// Looked up, in order: `$READMIT_DATASET`; the current directory and its parents; the
/// directories above the executable (so `.build/release/readmit` finds the repository's copy
/// from anywhere). The data files themselves are found through the spec (`docs/DATASET_SPEC.md`).
enum DefaultData {
    static let relativePath = "data/diabetes130/dataset.yaml"

    static func locate() -> String? {
        if let env = ProcessInfo.processInfo.environment["READMIT_DATASET"], !env.isEmpty { return env }
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

/// `--dataset SPEC [--data-dir DIR] [--data CSV]`: which extract to read, and how.
struct DatasetOptions: ParsableArguments {
    @Option(name: .long, help: "Dataset spec (YAML, docs/DATASET_SPEC.md). Default: the shipped data/diabetes130/dataset.yaml.")
    var dataset: String?

    @Option(name: .customLong("data-dir"), help: "Folder holding the spec's data files (default: the spec's folder, then its search folders).")
    var dataDirectory: String?

    @Option(name: .long, help: "Encounters table to read instead of the spec's (CSV or CSV.gz).")
    var data: String?

    /// The spec path, the parsed spec and its tables.
    func load() throws -> (path: String, tables: DatasetTables) {
        guard let path = dataset ?? DefaultData.locate() else {
            throw ValidationError("the shipped dataset spec was not found (looked for \(DefaultData.relativePath) here and above the executable); pass --dataset SPEC")
        }
        let spec = try SpecReader.read(path: path)
        let folders = DatasetTables.searchFolders(spec: spec, specPath: path, dataDirectory: dataDirectory)
        return (path, try DatasetTables(spec: spec, folders: folders, encountersFile: data))
    }
}
