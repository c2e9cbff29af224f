import Crypto
import Foundation
import ReadmitSpec

/// The tables a spec declares, read from disk: the encounters, the optional patients table and
/// the events tables.
public struct DatasetTables: Sendable {
    /// The spec the tables were read by.
    public let spec: DatasetSpec
    /// The encounter-level table.
    public let encounters: SourceTable
    /// The per-patient table, when declared.
    public let patients: SourceTable?
    /// The events tables, in spec order.
    public let events: [SourceTable]
    /// Raw records whose rows are linked by patient (``init(spec:historyRecords:)``): each row's
    /// history is derived from the other rows of its patient, as from an encounters table.
    public let linksPatients: Bool

    /// Where the data files of a spec are looked up, in order: `dataDirectory` when given (only
    /// it), else the spec's own folder, then each of its `search` folders (relative to the spec).
    public static func searchFolders(spec: DatasetSpec, specPath: String?, dataDirectory: String?) -> [String] {
        if let dataDirectory { return [dataDirectory] }
        guard let specPath else { return ["."] }
        let absolute = specPath.hasPrefix("/") ? specPath : FileManager.default.currentDirectoryPath + "/" + specPath
        let folder = URL(fileURLWithPath: absolute).standardized.deletingLastPathComponent()
        return [folder.path] + spec.search.map { $0.hasPrefix("/") ? $0 : folder.appendingPathComponent($0).standardized.path }
    }

    /// The first existing `folder/file`, or an error listing where it was looked for.
    public static func locate(_ file: String, key: String, in folders: [String]) throws(DataError) -> String {
        if file.hasPrefix("/") {
            if FileManager.default.fileExists(atPath: file) { return file }
            throw DataError(code: .fileNotFound, file: file, message: "data file not found (spec key \(key))" + CompressedFile.otherCompression(of: file))
        }
        for folder in folders {
            let path = URL(fileURLWithPath: folder).appendingPathComponent(file).path
            if FileManager.default.fileExists(atPath: path) { return path }
        }
        let hint = folders.lazy.map { CompressedFile.otherCompression(of: URL(fileURLWithPath: $0).appendingPathComponent(file).path) }.first { !$0.isEmpty } ?? ""
        throw DataError(code: .fileNotFound, file: file,
                        message: "data file not found (spec key \(key)); looked in \(folders.joined(separator: ", ")). "
                            + "Put the file in one of these folders or pass --data-dir" + hint)
    }

    /// Reads every table of `spec`. `encountersFile`, when given, replaces the spec's encounters file.
    public init(spec: DatasetSpec, folders: [String], encountersFile: String? = nil) throws(DataError) {
        self.spec = spec
        let encounterPath: String
        if let encountersFile {
            guard FileManager.default.fileExists(atPath: encountersFile) else {
                throw DataError(code: .fileNotFound, file: encountersFile, message: "data file not found" + CompressedFile.otherCompression(of: encountersFile))
            }
            encounterPath = encountersFile
        } else {
            encounterPath = try Self.locate(spec.encounters.file, key: "encounters.file", in: folders)
        }
        // The other tables are located before the (large) encounters table is read: a missing
        // file fails at once.
        let patientPath = try spec.patients.map { p throws(DataError) in try Self.locate(p.file, key: "patients.file", in: folders) }
        var eventPaths: [String] = []
        for (i, e) in spec.events.enumerated() { eventPaths.append(try Self.locate(e.file, key: "events[\(i)].file", in: folders)) }

        encounters = try SourceTable(path: encounterPath, missing: spec.encounters.missing)
        if encounters.rowCount == 0 {
            throw DataError(code: .empty, file: encounterPath, message: "file has a header but no data rows")
        }
        patients = try patientPath.map { path throws(DataError) in try SourceTable(path: path, missing: spec.patients?.missing ?? [""]) }
        var events: [SourceTable] = []
        for (i, path) in eventPaths.enumerated() { events.append(try SourceTable(path: path, missing: spec.events[i].missing)) }
        self.events = events
        linksPatients = false
    }

    /// Wraps tables already in memory (tests).
    public init(spec: DatasetSpec, encounters: SourceTable, patients: SourceTable? = nil, events: [SourceTable] = []) {
        self.spec = spec
        self.encounters = encounters
        self.patients = patients
        self.events = events
        linksPatients = false
    }

    /// Raw records: one flat row per encounter (a `RECORDS` request, or `readmit score
    /// --records`). Patient fields are columns of the row; each events feature and history
    /// feature is a column named after the feature (the caller's aggregate); nothing is derived
    /// from other rows.
    public init(spec: DatasetSpec, records: SourceTable) {
        self.init(spec: spec, encounters: records)
    }

    /// Raw records laid out as ``init(spec:records:)``, but read as one patient file (a
    /// `HISTORY` request): rows are grouped by patient id, ordered by the spec's dates or order
    /// column, and labelled by the spec's rule, so that each row's history comes from the same
    /// patient's rows that ended before it, as training derives it from the encounters table.
    public init(spec: DatasetSpec, historyRecords: SourceTable) {
        self.spec = spec
        encounters = historyRecords
        patients = nil
        events = []
        linksPatients = true
    }

    /// Whether the encounters are raw records (``init(spec:records:)`` or
    /// ``init(spec:historyRecords:)``): the flat layout, patient fields and aggregates inline.
    public var isRecords: Bool { encounters.isRecords }

    /// Whether each row stands alone (``init(spec:records:)``): history is then an input.
    public var rowsStandAlone: Bool { isRecords && !linksPatients }

    /// The SHA-256 (hex) of the tables' bytes, in spec order: for one table, the hash of its bytes.
    public func sha256Hex() -> String {
        let all = [encounters] + (patients.map { [$0] } ?? []) + events
        if all.count == 1 { return Self.sha256Hex(encounters.bytes) }
        return Self.sha256Hex(all.flatMap(\.bytes))
    }

    /// The SHA-256 of `bytes`, in lowercase hex.
    public static func sha256Hex(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }

    /// The data files' names, for the model file's metadata.
    public var fileNames: String {
        ([encounters] + (patients.map { [$0] } ?? []) + events).map { URL(fileURLWithPath: $0.file).lastPathComponent }.joined(separator: ", ")
    }
}
