import ArgumentParser
import Foundation
import ReadmitCore

/// `readmit encode`: the feature vectors of raw records, as the daemon computes them before
/// scoring. For a client that sends ready vectors (`SCORE`), and for checking one against the
/// model's own encoder; nothing else should re-implement it.
struct EncodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encode",
        abstract: "Write the feature vectors of raw records, encoded by the model's own spec.",
        discussion: """
            Reads a flat raw-records file (as `readmit score --records` does, with the same per-row outcomes) \
            and writes one feature vector per row in the model's schema order (`INFO`'s features): numbers \
            as they are, categorical features as level indices, missing as empty (csv) or NaN (f64). \
            `SCORE` of these vectors gives the scores of `RECORDS` of the rows, bit for bit. A row with an \
            error is written as all missing and its message goes to standard error.
            """
    )

    @Option(name: .long, help: "Model file written by `readmit train`.")
    var model: String

    @Option(name: .long, help: "Raw records (CSV or CSV.gz; - for standard input): one flat row per encounter (docs/PROTOCOL.md, \"Raw records\").")
    var records: String

    @Option(name: .long, help: "csv (a header of feature names, then one row per record) or f64 (rows x features little-endian float64, row-major, no header).")
    var format: String = "csv"

    @Flag(name: .customLong("bad-values-missing"), help: "A value that cannot be read is missing with a warning, not an error for its row.")
    var badValuesMissing = false

    @Flag(name: .customLong("missing-fields-ok"), help: "A required field absent from the file is missing for every row, with a warning.")
    var missingFieldsOk = false

    @Option(name: .long, help: "Output file (- for standard output; only a regular file is ever replaced).")
    var out: String

    @OptionGroup var global: GlobalOptions

    func validate() throws {
        guard format == "csv" || format == "f64" else { throw ValidationError("--format must be csv or f64, not '\(format)'") }
        try OutputFile.refuseInputs(("--out", out), [("--model", model), ("--records", records)])
    }

    func run() throws {
        try runReportingErrors {
            let loaded = try ReadmitModel.load(path: model)
            let csv = try CSVTable(path: records)
            if csv.rowCount == 0 { FileHandle.standardError.write(Data("warning: \(records) has a header but no data rows: nothing to encode\n".utf8)) }
            let interned = csv.internedColumns(Array(csv.header.indices))
            let columns: [(name: String, column: RecordColumn)] = csv.header.enumerated().map { c, name in
                (name, .texts(values: interned[c].values, codes: interned[c].codes))
            }
            let (x, messages) = try ScoreCommand.namingTheFile(records) {
                try loaded.encodeRecords(columns: columns, rows: csv.rowCount,
                                         options: RecordBatch.Options(missingFieldsOk: missingFieldsOk, badValuesMissing: badValuesMissing))
            }
            for line in RequestMessages.lines(messages) { FileHandle.standardError.write(Data("\(line.severity.rawValue): \(line.text)\n".utf8)) }
            for m in messages where m.severity == .error && m.row >= 0 {
                FileHandle.standardError.write(Data("error: line \(csv.line(ofRow: m.row)): \(m.field.isEmpty ? "" : "\(m.field): ")\(m.message)\n".utf8))
            }
            if format == "f64" {
                var bytes = [UInt8]()
                bytes.reserveCapacity(x.values.count * 8)
                for v in x.values { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
                try OutputFile.write(bytes: bytes, to: out)
            } else {
                var lines = [loaded.schema.features.map { CSVField.quote($0.name) }.joined(separator: ",")]
                lines.reserveCapacity(x.rows + 1)
                for r in 0..<x.rows {
                    // Shortest text that reads back to the same double.
                    lines.append((0..<x.columns).map { j in let v = x.values[r * x.columns + j]; return v.isNaN ? "" : "\(v)" }.joined(separator: ","))
                }
                try OutputFile.write(lines.joined(separator: "\n") + "\n", to: out)
            }
        }
    }
}
