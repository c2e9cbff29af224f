import Foundation
import ReadmitCore
import ReadmitSpec

/// Paths and fixtures shared by the core tests.
enum TestSupport {
    /// The repository root (two levels above this file's folder).
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    /// The shipped Diabetes 130 spec.
    static let specPath = root.appendingPathComponent("data/diabetes130/dataset.yaml").path
    /// The MIMIC-IV demo spec.
    static let mimicSpecPath = root.appendingPathComponent("data/mimic-iv-demo/dataset.yaml").path
    /// The Diabetes 130 spec, parsed.
    static let spec: DatasetSpec = try! SpecReader.read(path: specPath)
    /// The Diabetes 130 data: a user's copy in data/diabetes130/, else ../shared/data/diabetes130/.
    static let dataPath: String = {
        let local = root.appendingPathComponent("data/diabetes130/diabetic_data.csv.gz").path
        if FileManager.default.fileExists(atPath: local) { return local }
        return root.deletingLastPathComponent().appendingPathComponent("shared/data/diabetes130/diabetic_data.csv.gz").path
    }()

    /// The Diabetes 130 spec's tables with `path` as the encounters table.
    static func tables(_ path: String) throws -> DatasetTables {
        try DatasetTables(spec: spec, folders: [], encountersFile: path)
    }

    /// Every row of the encounters table at `path`, encoded by `schema` through the Diabetes 130 spec (lenient).
    static func encode(_ path: String, schema: FeatureSchema) throws -> FeatureMatrix {
        try EncodedRows(tables: tables(path), schema: schema, requireLabel: false, strict: false).matrix
    }

    /// A fresh temporary directory.
    static func temporaryDirectory() -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("readmit-tests-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// The header and the first `rows` data lines of the shipped data, as a plain CSV file.
    static func subsetCSV(rows: Int, in dir: URL) throws -> String {
        let bytes = try CompressedFile.readAll(path: dataPath)
        var lines = 0, end = 0
        while end < bytes.count && lines <= rows { if bytes[end] == UInt8(ascii: "\n") { lines += 1 }; end += 1 }
        let path = dir.appendingPathComponent("subset.csv").path
        try Data(bytes[0..<end]).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Writes `text` to a file in `dir`.
    static func write(_ text: String, name: String, in dir: URL) throws -> String {
        let path = dir.appendingPathComponent(name).path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// A model trained (quick settings) on the first 6,000 encounters, shared by the tests that need one.
    static let smallModel: Result<(TrainingResult, ReadmitModel, String), Error> = Result {
        let dir = temporaryDirectory()
        let csv = try subsetCSV(rows: 6000, in: dir)
        var options = TrainingOptions()
        options.quick = true
        options.bootstrapReplicates = 20
        options.ablation = false
        let result = try TrainingPipeline.run(tables: tables(csv), options: options)
        let path = dir.appendingPathComponent("model.readmit").path
        try ModelFile.write(result.parameters, to: path)
        return (result, try ReadmitModel.load(path: path), path)
    }
}
