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
            scores; the other rows are scored. Extra columns (such as the label) are ignored. A model \
            with history features needs --history: `derive` computes them from the earlier encounters of \
            the same patient in the tables (as training and `readmit history` do; a row's score then \
            depends on which earlier rows the tables hold), `unknown` scores every row with unknown \
            history (as the daemon does for raw records without history fields). History is never \
            derived unasked.
            """
    )

    /// Where `--data` scoring takes history features from.
    enum HistorySource: String, ExpressibleByArgument, CaseIterable {
        case derive, unknown
    }

    @Option(name: .long, help: "Model file written by `readmit train`.")
    var model: String

    @Option(name: .long, help: "Encounters table to score (CSV or CSV.gz); default: the spec's file in --data-dir.")
    var data: String?

    @Option(name: .customLong("data-dir"), help: "Folder of the spec's other tables (patients, events); default: the folder of --data.")
    var dataDirectory: String?

    @Option(name: .long, help: "With --data, for a model with history features: derive (from the earlier encounters in the tables) or unknown.")
    var history: HistorySource?

    @Option(name: .long, help: "Raw records to score instead (CSV or CSV.gz; - for standard input): one flat row per encounter, each scored alone, history fields as columns (docs/PROTOCOL.md, \"Raw records\"; `readmit history` derives them).")
    var records: String?

    @Option(name: .long, help: "With --records: explain each row's risk by its k largest feature contributions.")
    var explain: Int = 0

    @Flag(name: .long, help: "Add each risk's interval (columns risk_low, risk_high after tier; docs/PROTOCOL.md, \"Risk intervals\").")
    var interval = false

    @Flag(name: .customLong("bad-values-missing"), help: "With --records: a value that cannot be read is missing with a warning, not an error for its row.")
    var badValuesMissing = false

    @Flag(name: .customLong("missing-fields-ok"), help: "With --records: a required field absent from the file is missing for every row, with a warning.")
    var missingFieldsOk = false

    @Option(name: .long, help: "With --records: also write every error and warning as CSV to this file: row (0-based data row, empty for the whole file), line, field, severity, code, message (the daemon's RECORDS messages, in its order).")
    var messages: String?

    @Option(name: .long, help: "Output CSV (- for standard output; only a regular file is ever replaced).")
    var out: String

    @OptionGroup var global: GlobalOptions

    func validate() throws {
        // The options of --records only: given with --data they were ignored without a word.
        if records == nil {
            let stray = [(explain != 0, "--explain"), (badValuesMissing, "--bad-values-missing"),
                         (missingFieldsOk, "--missing-fields-ok"), (messages != nil, "--messages")].filter(\.0).map(\.1)
            if let first = stray.first { throw ValidationError("\(first) goes with --records (the flat file scored row by row)") }
        }
        guard explain >= 0 else { throw ValidationError("--explain must be 0 or more, not \(explain)") }
        let inputs: [(option: String, path: String?)] = [("--model", model), ("--data", data), ("--records", records)]
        try OutputFile.refuseInputs(("--out", out), inputs)
        if let messages {
            if messages == "-" && out == "-" { throw ValidationError("--messages and --out name the same file (standard output)") }
            try OutputFile.refuseInputs(("--messages", messages), inputs + [("--out", out)])
        }
    }

    func run() throws {
        try runReportingErrors {
            let console = Console(label: "readmit.score", level: global.logLevel, totalSteps: 3)
            let loaded = try ReadmitModel.load(path: model)
            if interval && !loaded.hasInterval {
                throw ValidationError("model \(loaded.modelID) has no risk interval (it was trained before intervals existed); retrain it, or leave out --interval")
            }
            if let records {
                guard data == nil, dataDirectory == nil, history == nil else {
                    throw ValidationError("--records scores a flat file alone, its history fields as columns; leave out --data, --data-dir and --history")
                }
                try scoreRecords(loaded, path: records, console: console)
                return
            }
            guard let folder = dataDirectory ?? data.map({ URL(fileURLWithPath: $0).deletingLastPathComponent().path }) else {
                throw ValidationError("pass --data (the encounters table) or --data-dir (the folder of the spec's tables)")
            }
            let spec = loaded.parameters.dataset
            let historyFeatures = spec.features.indices.filter { spec.features[$0].kind == .history && $0 < loaded.schema.count }
            if !historyFeatures.isEmpty && history == nil {
                let names = historyFeatures.map { spec.features[$0].name }.joined(separator: ", ")
                throw ValidationError("this model reads history features (\(names)): pass --history derive to compute them from the earlier encounters of each patient in these tables (as `readmit history` does), or --history unknown to score every row without history")
            }
            let tables = try DatasetTables(spec: spec, folders: [folder], encountersFile: data)
            // As HISTORY warns (label_absent): deriving without the label leaves some history unknown.
            if history == .derive, let label = RecordBatch.historyInputs(spec: spec, schema: loaded.schema).label, !tables.encounters.has(label) {
                console.logger.warning("\(RecordBatch.labelAbsentMessage(label))")
            }
            let encoded = try EncodedRows(tables: tables, schema: loaded.schema, requireLabel: false, strict: false)
            var rowErrors = encoded.errors.byRow
            // Stays the cohort excludes are not scored, as in RECORDS.
            for (r, error) in try Cohort.exclusionErrors(tables: tables, patientRow: encoded.records.patientRow, rows: encoded.records.count) {
                rowErrors[r] = error
            }
            let ids = encoded.records.encounterIDs
            var x = encoded.matrix
            if history == .unknown {
                // What RECORDS does with absent history fields: each history feature is missing.
                for r in 0..<x.rows { for j in historyFeatures { x.values[r * x.columns + j] = .nan } }
            }
            let table = tables.encounters
            console.progress("read done")
            let n = table.rowCount
            var risk = [Double](repeating: .nan, count: n), atyp = risk, low = risk, high = risk
            var tier = [UInt8](repeating: 0, count: n)
            let good = (0..<n).filter { rowErrors[$0] == nil }
            let xs = x.selecting(rows: good)
            let scores = try loaded.score(xs, interval: interval)
            for (k, i) in good.enumerated() {
                risk[i] = scores.risk[k]; atyp[i] = scores.atypicality[k]; tier[i] = scores.tier[k]
                low[i] = scores.intervalLow[k]; high[i] = scores.intervalHigh[k]
            }
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
            var lines = [CSVField.quote(tables.spec.encounters.encounterID) + ",risk,atypicality,tier" + (interval ? ",risk_low,risk_high" : "") + ",unusual_features,error"]
            lines.reserveCapacity(n + 1)
            for i in 0..<n {
                var line = CSVField.quote(ids.text(i) ?? "") + ","
                if let error = rowErrors[i] {
                    line += ",,,," + (interval ? ",," : "") + CSVField.quote(Self.place(error) + (error.column.map { "column '\($0)': " } ?? "") + error.message)
                } else {
                    line += "\(risk[i]),\(atyp[i]),\(loaded.tierNames[Int(tier[i])])," + (interval ? "\(low[i]),\(high[i])," : "") + "\(unusualByRow[i]),"
                }
                lines.append(line)
            }
            let text = lines.joined(separator: "\n") + "\n"
            try OutputFile.write(text, to: out)
            console.progress("write done")
            console.finishProgress()
            console.logger.info("scored \(good.count) of \(n) rows (\(n - good.count) with errors) into \(out)")
        }
    }
}

extension ScoreCommand {
    /// Runs `body` over the records of the file at `path`, and words a field absent from the
    /// whole file as the file's problem: the encoder, shared with the daemon, says "absent from
    /// the request (send it, or set the option ...)", and the CLI's user has a header and a flag.
    static func namingTheFile<T>(_ path: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as DataError where error.code == .missingColumn && error.file == "request" {
            let name = error.column ?? ""
            throw DataError(code: .missingColumn, file: path, line: 1, column: error.column,
                            message: "field '\(name)', which the model reads, is not in the header "
                                + "(add the column, or pass --missing-fields-ok to read it as missing in every row)")
        }
    }

    /// `--records`: a flat file scored row by row through the model's spec, with the per-row
    /// outcomes of the daemon's `RECORDS` (the same code).
    func scoreRecords(_ model: ReadmitModel, path: String, console: Console) throws {
        let csv = try CSVTable(path: path)
        // A header without rows is an empty batch, as RECORDS, the C shim, Python and R take it
        // (and `readmit encode`): the header of an empty result, with a warning. It was an error
        // here alone, which stopped a nightly job on a day without discharges.
        if csv.rowCount == 0 { console.logger.warning("\(path) has a header but no data rows: nothing to score") }
        let interned = csv.internedColumns(Array(csv.header.indices))
        let columns: [(name: String, column: RecordColumn)] = csv.header.enumerated().map { c, name in
            (name, .texts(values: interned[c].values, codes: interned[c].codes))
        }
        console.progress("read done")
        let result = try Self.namingTheFile(path) {
            try model.scoreRecords(columns: columns, rows: csv.rowCount, k: explain,
                                   options: RecordBatch.Options(missingFieldsOk: missingFieldsOk, badValuesMissing: badValuesMissing, interval: interval))
        }
        console.progress("score done")
        var errors: [Int: String] = [:], warnings: [Int: [String]] = [:]
        for line in RequestMessages.lines(result.messages) {
            if line.severity == .error { console.logger.error("\(line.text)") } else { console.logger.warning("\(line.text)") }
        }
        for m in result.messages where m.row >= 0 {
            let text = (m.field.isEmpty ? "" : "\(m.field): ") + m.message
            if m.severity == .error { errors[m.row] = "line \(csv.line(ofRow: m.row)): " + text } else { warnings[m.row, default: []].append(text) }
        }
        let idColumn = model.parameters.dataset.encounters.encounterID
        let id = csv.header.firstIndex(of: idColumn)
        var lines = [(id != nil ? CSVField.quote(idColumn) + "," : "") + "risk,atypicality,tier" + (interval ? ",risk_low,risk_high" : "")
                     + (explain > 0 ? ",explanation" : "") + ",warnings,error"]
        for r in 0..<csv.rowCount {
            var line = id.map { CSVField.quote(csv.string(row: r, column: $0)) + "," } ?? ""
            if result.tier[r] == 255 {
                line += ",," + (interval ? ",," : "")
            } else {
                line += "\(result.risk[r]),\(result.atypicality[r]),\(model.tierNames[Int(result.tier[r])])"
                if interval { line += ",\(result.intervalLow[r]),\(result.intervalHigh[r])" }
            }
            if explain > 0 {
                let terms = result.explanations[r].map { t -> String in
                    let value: String
                    switch t.value {
                    case .number(let v): value = v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : "\(v)"  // as the bindings print it
                    case .text(let s): value = s
                    case .missing: value = "missing"
                    }
                    return "\(t.feature)=\(value) \(t.contribution >= 0 ? "+" : "")\(t.contribution)"
                }
                line += "," + CSVField.quote(terms.joined(separator: "; "))
            }
            line += "," + CSVField.quote((warnings[r] ?? []).joined(separator: "; ")) + "," + CSVField.quote(errors[r] ?? "")
            lines.append(line)
        }
        try OutputFile.write(lines.joined(separator: "\n") + "\n", to: out)
        if let messages {
            var text = "row,line,field,severity,code,message\n"
            for m in result.messages {
                let place = m.row < 0 ? "," : "\(m.row),\(csv.line(ofRow: m.row))"
                text += [place, CSVField.quote(m.field), m.severity == .error ? "error" : "warning", CSVField.quote(m.code),
                         CSVField.quote(m.message)].joined(separator: ",") + "\n"
            }
            try OutputFile.write(text, to: messages)
        }
        console.progress("write done")
        console.finishProgress()
        let failed = result.tier.filter { $0 == 255 }.count
        console.logger.info("scored \(csv.rowCount - failed) of \(csv.rowCount) records (\(failed) with errors) into \(out)")
    }

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
