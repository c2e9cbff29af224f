import ArgumentParser
import Foundation
import ReadmitCore
import ReadmitSpec

/// `readmit score`: offline, in-process scoring of a CSV file.
struct ScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Score raw encounter tables with a saved model, in process, through the model's dataset spec.",
        discussion: """
            The spec stored in the model file says which tables and columns to read (docs/DATASET_SPEC.md). \
            Writes a CSV with the encounter id column and the columns risk, atypicality, tier, \
            unusual_features (the three features the per-feature histogram detector finds most unusual in \
            the row, most unusual first, separated by ';'), error. Numbers are written in the shortest form \
            that reads back to the same double. A row with a bad value gets its message in `error` and empty \
            scores; the other rows are scored. Extra columns (such as the label) are ignored. History \
            features come from earlier rows of the same patient in the tables.
            """
    )

    @Option(name: .long, help: "Model file written by `readmit train`.")
    var model: String

    @Option(name: .long, help: "Encounters table to score (CSV or CSV.gz); default: the spec's file in --data-dir.")
    var data: String?

    @Option(name: .customLong("data-dir"), help: "Folder of the spec's other tables (patients, events); default: the folder of --data.")
    var dataDirectory: String?

    @Option(name: .long, help: "Output CSV.")
    var out: String

    @OptionGroup var global: GlobalOptions

    func run() throws {
        try runReportingErrors {
            let console = Console(label: "readmit.score", level: global.logLevel, totalSteps: 3)
            let loaded = try ReadmitModel.load(path: model)
            guard let folder = dataDirectory ?? data.map({ URL(fileURLWithPath: $0).deletingLastPathComponent().path }) else {
                throw ValidationError("pass --data (the encounters table) or --data-dir (the folder of the spec's tables)")
            }
            let tables = try DatasetTables(spec: loaded.parameters.dataset, folders: [folder], encountersFile: data)
            let encoded = try EncodedRows(tables: tables, schema: loaded.schema, requireLabel: false, strict: false)
            let rowErrors = encoded.errors.byRow
            let ids = encoded.records.encounterIDs
            let x = encoded.matrix
            let table = tables.encounters
            console.progress("read done")
            let n = table.rowCount
            var risk = [Double](repeating: .nan, count: n), atyp = risk
            var tier = [UInt8](repeating: 0, count: n)
            let good = (0..<n).filter { rowErrors[$0] == nil }
            let xs = x.selecting(rows: good)
            let scores = try loaded.score(xs)
            for (k, i) in good.enumerated() { risk[i] = scores.risk[k]; atyp[i] = scores.atypicality[k]; tier[i] = scores.tier[k] }
            console.progress("score done")
            // Which values make each record unusual: the histogram detector's largest terms.
            let names = loaded.schema.features.map(\.name)
            let unusual: [String] = xs.values.withUnsafeBufferPointer { f in
                (0..<good.count).map { r in
                    let terms = loaded.atypicalityTerms(UnsafeBufferPointer(rebasing: f[(r * names.count)..<((r + 1) * names.count)]))
                    return terms.indices.sorted { terms[$0] != terms[$1] ? terms[$0] > terms[$1] : $0 < $1 }.prefix(3).map { names[$0] }.joined(separator: ";")
                }
            }
            var unusualByRow = [String](repeating: "", count: n)
            for (k, i) in good.enumerated() { unusualByRow[i] = unusual[k] }
            var lines = [CSVField.quote(tables.spec.encounters.encounterID) + ",risk,atypicality,tier,unusual_features,error"]
            lines.reserveCapacity(n + 1)
            for i in 0..<n {
                var line = CSVField.quote(ids.text(i) ?? "") + ","
                if let error = rowErrors[i] {
                    line += ",,,," + CSVField.quote(Self.place(error) + (error.column.map { "column '\($0)': " } ?? "") + error.message)
                } else {
                    line += "\(risk[i]),\(atyp[i]),\(loaded.tierNames[Int(tier[i])]),\(unusualByRow[i]),"
                }
                lines.append(line)
            }
            let text = lines.joined(separator: "\n") + "\n"
            let tmp = out + ".tmp-\(getpid())"
            do {
                try Data(text.utf8).write(to: URL(fileURLWithPath: tmp))
                if FileManager.default.fileExists(atPath: out) { try FileManager.default.removeItem(atPath: out) }
                try FileManager.default.moveItem(atPath: tmp, toPath: out)
            } catch {
                try? FileManager.default.removeItem(atPath: tmp)
                throw error
            }
            console.progress("write done")
            console.finishProgress()
            console.logger.info("scored \(good.count) of \(n) rows (\(n - good.count) with errors) into \(out)")
        }
    }
}

extension ScoreCommand {
    /// Where a row's problem is: its file line, or its row for raw records.
    static func place(_ error: DataError) -> String {
        if let line = error.line { return "line \(line): " }
        if let row = error.row { return "row \(row + 1): " }
        return ""
    }
}

/// CSV quoting for free text.
enum CSVField {
    static func quote(_ s: String) -> String {
        if s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
            return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        return s
    }
}
