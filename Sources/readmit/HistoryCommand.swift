import ArgumentParser
import Foundation
import ReadmitCore

/// `readmit history`: turns relational tables into flat raw records, deriving each encounter's
/// history from the earlier encounters in the tables. Explicit, never behind the caller's back:
/// `readmit score --records` and the daemon's `RECORDS` take history as an input.
struct HistoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "Write the tables as flat raw records with their history fields derived from earlier encounters.",
        discussion: """
            Reads the tables of the model's dataset spec and writes one row per encounter: the encounter \
            table's own columns, then every other raw field the model reads (docs/PROTOCOL.md, "Raw \
            records"): the patient's fields, each events feature's aggregate, the principal diagnosis and \
            its ICD revision, and the history features computed from the same patient's encounters that \
            ended before this one (docs/DATASET_SPEC.md). `readmit score --records` on the result gives the \
            scores of `readmit score --data --history derive` on the tables, bit for bit. A row with a \
            problem (named on standard error) keeps its own columns and has its derived fields empty. \
            With --test-split only the encounters of the spec's test split are written (the eligible \
            stays of test patients, as `readmit evaluate --test-split` takes them), their history still \
            derived from every encounter in the tables.
            """
    )

    @Option(name: .long, help: "Model file written by `readmit train` (its spec says how to read the tables).")
    var model: String

    @Option(name: .long, help: "Encounters table (CSV or CSV.gz); default: the spec's file in --data-dir.")
    var data: String?

    @Option(name: .customLong("data-dir"), help: "Folder of the spec's other tables; default: the folder of --data.")
    var dataDirectory: String?

    @Option(name: .long, help: "Output CSV (- for standard output; only a regular file is ever replaced).")
    var out: String

    @Flag(name: .customLong("test-split"), help: "Write only the encounters of the test split of the spec's cohort (history still derived from every encounter).")
    var testSplit = false

    @OptionGroup var global: GlobalOptions

    func validate() throws {
        try OutputFile.refuseInputs(("--out", out), [("--model", model), ("--data", data)])
    }

    func run() throws {
        try runReportingErrors {
            let loaded = try ReadmitModel.load(path: model)
            guard let folder = dataDirectory ?? data.map({ URL(fileURLWithPath: $0).deletingLastPathComponent().path }) else {
                throw ValidationError("pass --data (the encounters table) or --data-dir (the folder of the spec's tables)")
            }
            let spec = loaded.parameters.dataset
            let tables = try DatasetTables(spec: spec, folders: [folder], encountersFile: data)
            // As HISTORY warns (label_absent): deriving without the label leaves some history unknown.
            if let label = RecordBatch.historyInputs(spec: spec, schema: loaded.schema).label, !tables.encounters.has(label) {
                FileHandle.standardError.write(Data("warning: \(RecordBatch.labelAbsentMessage(label))\n".utf8))
            }
            var errors = RowErrors()
            // The same derivation as training's and the daemon's HISTORY (DerivedHistory).
            let derived = try DerivedHistory(tables: tables, errors: &errors)
            let records = derived.records, raw = derived.raw
            let encounters = tables.encounters
            let header = encounters.header
            var columns: [(name: String, value: (Int) -> String)] = []
            for name in header {
                let text = try encounters.texts(name, key: "encounters")
                columns.append((name, { text.interned[$0] }))
            }
            func number(_ v: Double) -> String { v.isNaN ? "" : (v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : "\(v)") }
            for field in RecordFields.fields(spec: spec, schema: loaded.schema) where !header.contains(field.name) {
                if let j = spec.features.firstIndex(where: { $0.name == field.name || $0.name + "_system" == field.name }) {
                    switch raw.features[j] {
                    case .numbers(let v): columns.append((field.name, { number(v[$0]) }))
                    case .texts(let t): columns.append((field.name, { t.text($0) ?? "" }))
                    case .codes(let t, let systems):
                        let isSystem = field.name.hasSuffix("_system") && spec.features[j].name != field.name
                        columns.append((field.name, { r in
                            guard t.text(r) != nil else { return "" }
                            return isSystem ? systems[Int(t.interned.codes[r])].rawValue : t.interned[r]
                        }))
                    }
                } else if field.table == "patients", let patients = tables.patients, let rows = records.patientRow {
                    let text = try patients.texts(field.name, key: "patients")
                    columns.append((field.name, { rows[$0] >= 0 ? (text.text(rows[$0]) ?? "") : "" }))
                }
            }
            // A row with a problem keeps its own columns as read, and every field derived for it
            // is written empty, unknown, as HISTORY gives it: they were written as computed, a
            // stay without its patient id as a first encounter (prior_encounters 0), the first
            // copy of a repeated id as a stay without labs (lab count 0).
            let derivedFrom = header.count
            var written = Array(0..<records.count)
            if testSplit {
                // The cohort's rules (exclusions, label, split) as training and `evaluate
                // --test-split` apply them; rows in file order.
                let cohort = try Cohort(tables: tables, records: records, labels: derived.labels)
                written = cohort.rows.indices.filter { cohort.isTest[$0] }.map { cohort.rows[$0] }.sorted()
                guard !written.isEmpty else {
                    throw ValidationError("none of the \(records.count) encounters in the tables is an eligible stay of a test patient of the spec's split (is the label column there?); leave out --test-split to write them all")
                }
            }
            var lines = [columns.map { CSVField.quote($0.name) }.joined(separator: ",")]
            lines.reserveCapacity(written.count + 1)
            for r in written {
                let unknown = errors.byRow[r] != nil
                lines.append(columns.indices.map { c in unknown && c >= derivedFrom ? "" : CSVField.quote(columns[c].value(r)) }.joined(separator: ","))
            }
            try OutputFile.write(lines.joined(separator: "\n") + "\n", to: out)
            for (row, error) in errors.byRow.sorted(by: { $0.key < $1.key }).prefix(5) {
                FileHandle.standardError.write(Data("warning: row \(row + 1): \(error.description); its derived fields are written empty (unknown)\n".utf8))
            }
            if errors.byRow.count > 5 {
                FileHandle.standardError.write(Data("warning: and \(errors.byRow.count - 5) more rows with a problem (`readmit check` lists them)\n".utf8))
            }
        }
    }
}
