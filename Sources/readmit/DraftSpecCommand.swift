import ArgumentParser
import Foundation
import ReadmitTables

/// `readmit draft-spec`: a first dataset spec for an encounter extract, from its data.
struct DraftSpecCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "draft-spec",
        abstract: "Draft a dataset spec for an encounter table from its data: roles, label, exclusions and a feature kind for every column, each with its evidence.",
        discussion: """
            Reads the table (CSV or CSV.gz, one row per stay), profiles every column and writes a \
            spec that `readmit check` accepts: the stay's and the patient's id (named with \
            --encounter-id / --patient-id, or found by name and by their values), the order of a \
            patient's stays (--order, admission and discharge times found by name, or a numeric \
            stay id), the label (--label COLUMN --positive VALUE..., or --label-within-days N from \
            the times), deaths and hospice discharges where a column says so in words, and for \
            each other column a feature kind (numeric, categorical, ordinal bands, ICD-9 or ICD-10 \
            diagnosis chapters) or a comment saying why it is left out (constant, always missing, \
            an identifier or free text, a timestamp). It guesses: read every feature before \
            training, since a column recorded after discharge leaks the outcome \
            (docs/DATASET_SPEC.md, "Drafting a spec").
            """
    )

    @Option(name: .long, help: "The encounter table (CSV or CSV.gz with a header row).")
    var data: String

    @Option(name: .long, help: "The spec file to write (- for standard output).")
    var out: String

    @Option(name: .long, help: "The label column.")
    var label: String?

    @Option(name: .long, parsing: .singleValue, help: "A value of the label column that is a readmission (repeatable).")
    var positive: [String] = []

    @Option(name: .long, help: "Derive the label from the dates instead: the next admission starts within this many days of discharge.")
    var labelWithinDays: Int?

    @Option(name: .long, help: "The column that identifies a stay (default: found by name and by its distinct values).")
    var encounterID: String?

    @Option(name: .long, help: "The column that identifies the patient (default: found by name).")
    var patientID: String?

    @Option(name: .long, help: "A numeric column that orders a patient's stays (default: admission and discharge times found by name, else a numeric stay id).")
    var order: String?

    @Option(name: .long, help: "The spec's name (default: the data file's name).")
    var name: String?

    @OptionGroup var global: GlobalOptions

    func validate() throws {
        switch (label, labelWithinDays) {
        case (nil, nil): throw ValidationError("give the label: --label COLUMN --positive VALUE (repeatable), or --label-within-days N")
        case (.some, .some): throw ValidationError("give --label or --label-within-days, not both")
        case (.some, nil) where positive.isEmpty: throw ValidationError("--label needs --positive: the value (repeatable) that is a readmission")
        case (nil, .some(let days)) where !(1...365).contains(days): throw ValidationError("--label-within-days must be from 1 to 365, got \(days)")
        case (nil, .some) where !positive.isEmpty: throw ValidationError("--positive goes with --label COLUMN")
        default: break
        }
    }

    func run() throws {
        try runReportingErrors {
            try OutputFile.refuseInputs(("--out", out), [("--data", data)])
            let table = try CSVTable(path: data)
            let base = URL(fileURLWithPath: data).lastPathComponent
            let stem = base.replacingOccurrences(of: ".csv.gz", with: "").replacingOccurrences(of: ".csv", with: "")
            let choices = SpecDraft.Choices(
                name: name ?? stem, dataFile: base, specFileReference: Self.reference(data: data, spec: out),
                label: label.map { .column($0, positive: positive) } ?? .withinDays(labelWithinDays ?? 30),
                encounterID: encounterID, patientID: patientID, order: order)
            let draft = try SpecDraft(table: table, choices: choices)
            let text = try draft.render()
            try OutputFile.write(text, to: out)
            if out != "-" {
                let features = text.split(separator: "\n").filter { $0.hasPrefix("  - {name:") || $0.hasPrefix("  - name:") }.count
                let left = text.split(separator: "\n").filter { $0.hasPrefix("  # ") && $0.contains(": ") && !$0.contains("earlier stays") }.count
                print("wrote \(out): \(features) features (prior_encounters included), \(left) columns left out with the reason; read it, then `readmit check --dataset \(out)`")
            }
        }
    }

    /// The data file as the spec names it: relative to the spec's folder when it lies in it or
    /// below, else absolute (a spec written to standard output names it as given).
    static func reference(data: String, spec: String) -> String {
        guard spec != "-" else { return data }
        let dataPath = URL(fileURLWithPath: data).standardizedFileURL.path
        let folder = URL(fileURLWithPath: spec).standardizedFileURL.deletingLastPathComponent().path
        let prefix = folder.hasSuffix("/") ? folder : folder + "/"
        return dataPath.hasPrefix(prefix) ? String(dataPath.dropFirst(prefix.count)) : dataPath
    }
}
