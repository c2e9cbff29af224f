/// Fuzz target: raw records through a real model's own spec and encoder, the path a `RECORDS`
/// request takes in the daemon after the wire decoder (`ReadmitModel.scoreRecords`: the table,
/// the cohort's exclusions, the encounter records, every raw feature kind of Diabetes 130
/// (numbers, levels, ordinals, `count_of`, ICD chapters and categories, history as input), the
/// encoder, the input check, the scoring), with values a client chooses.
///
/// The model is `fuzz/corpus/model/small.readmit` (a Diabetes 130 model cut small, see
/// `fuzz/make_model_seeds.py`), or the file `FUZZ_RECORDS_MODEL` names, built around an
/// untrained XGBoost booster as the `model` target does (scores come from readmit's compiled
/// trees; only explanations ask XGBoost, so none are asked for).
///
/// The input: byte 0 picks the rows (1 to 4), byte 1 the options (bit 0: absent fields are
/// missing; bit 1: bad values are missing with a warning), bytes 2-9 which fields are sent as
/// numbers instead of texts (a bit per field, in the model's field order, cycling), and the
/// rest is texts separated by NUL bytes. Field i's row r takes text (i * rows + r) modulo their
/// count (none: every value missing); as a number, a text of 8 bytes is a float64's bit
/// pattern (NaN, infinities, -0, subnormals) and any other is `Double(text)`, or NaN.
///
/// Oracles besides "never traps" (one trap stopped the daemon, 2026-12-05: an ICD-9 code past
/// every category): each row has a risk in [0, 1] and a tier, or an error and no score; and
/// each row scored alone gives the same bits and the same error codes as in the batch (a row's
/// score never depends on the other rows). Deterministic; reads only the model file.
import Foundation
import FuzzSupport
import ReadmitFeatures
import ReadmitModelFile
import ReadmitModels
import ReadmitTables

@main
enum FuzzRecordsMain {
    static func main() {
        #if READMIT_LIBFUZZER
        FuzzEntry.run { data, size in _ = RecordsHarness.run(FuzzEntry.bytes(data, size)); return 0 }
        #else
        FuzzEntry.run(RecordsHarness.run)
        #endif
    }
}

enum RecordsHarness {
    /// The model every input is scored by, loaded once.
    static let model: ReadmitModel = {
        let path = ProcessInfo.processInfo.environment["FUZZ_RECORDS_MODEL"] ?? "fuzz/corpus/model/small.readmit"
        guard let data = FileManager.default.contents(atPath: path) else { fatalError("FuzzRecords: cannot read the model \(path)") }
        do {
            let parameters = try ModelFile.decode(Array(data), name: path)
            return try ReadmitModel(parameters: parameters, booster: try XGBoostBooster.untrained())
        } catch {
            fatalError("FuzzRecords: cannot load the model \(path): \(error)")
        }
    }()

    /// The fields a request carries: the model's record fields, then the ids.
    static let fields: [(name: String, type: RecordField.FieldType)] = {
        let spec = model.parameters.dataset
        var names = Set<String>()
        var out: [(name: String, type: RecordField.FieldType)] = []
        for field in RecordFields.fields(spec: spec, schema: model.schema) where names.insert(field.name).inserted {
            out.append((field.name, field.type))
        }
        for id in [spec.encounters.encounterID, spec.encounters.patientID] where names.insert(id).inserted {
            out.append((id, .text))
        }
        return out
    }()

    /// Checks one input; names its outcome. `FUZZ_RECORDS_FIELDS` set: prints the fields in
    /// order first (to write seeds by hand).
    static func run(_ input: [UInt8]) -> String {
        if ProcessInfo.processInfo.environment["FUZZ_RECORDS_FIELDS"] != nil { print(fields.map(\.name).joined(separator: ",")) }
        let rows = 1 + Int(input.first ?? 0) % 4
        let optionBits = input.count > 1 ? input[1] : 0
        let options = RecordBatch.Options(missingFieldsOk: optionBits & 1 != 0, badValuesMissing: optionBits & 2 != 0)
        let selectors = Array(input.dropFirst(2).prefix(8))
        let texts = input.count > 10 ? input[10...].split(separator: 0, omittingEmptySubsequences: false).map { Array($0) } : []
        var columns: [(name: String, column: RecordColumn)] = []
        for (i, field) in fields.enumerated() {
            let cells: [[UInt8]?] = (0..<rows).map { r in texts.isEmpty ? nil : texts[(i * rows + r) % texts.count] }
            let asNumbers = !selectors.isEmpty && selectors[(i / 8) % selectors.count] & (1 << (i % 8)) != 0
            if asNumbers {
                columns.append((field.name, .numbers(cells.map { cell in cell.map(number) ?? .nan })))
            } else {
                var values: [String] = [], codes: [Int32] = []
                for cell in cells {
                    guard let cell, let text = String(validating: cell, as: UTF8.self) else { codes.append(-1); continue }
                    if let c = values.firstIndex(of: text) { codes.append(Int32(c)) } else { values.append(text); codes.append(Int32(values.count - 1)) }
                }
                columns.append((field.name, .texts(values: values, codes: codes)))
            }
        }
        let batch: RecordsResult
        do throws(DataError) {
            batch = try model.scoreRecords(columns: columns, rows: rows, k: 0, options: options)
        } catch {
            guard !error.message.isEmpty else { fatalError("a records error without a message") }
            return "refused (\(error.code.rawValue))"
        }
        check(batch, rows: rows)
        for r in 0..<rows {
            let alone: RecordsResult
            do throws(DataError) {
                alone = try model.scoreRecords(columns: columns.map { ($0.name, row(r, of: $0.column)) }, rows: 1, k: 0, options: options)
            } catch {
                fatalError("row \(r) alone is refused (\(error.message)), the batch was not")
            }
            check(alone, rows: 1)
            guard alone.risk[0].bitPattern == batch.risk[r].bitPattern, alone.tier[0] == batch.tier[r],
                  alone.atypicality[0].bitPattern == batch.atypicality[r].bitPattern,
                  errorCodes(alone, row: 0) == errorCodes(batch, row: r) else {
                fatalError("row \(r) alone: risk \(alone.risk[0]) tier \(alone.tier[0]) \(errorCodes(alone, row: 0)); in the batch: risk \(batch.risk[r]) tier \(batch.tier[r]) \(errorCodes(batch, row: r))")
            }
        }
        let failed = (0..<rows).filter { !errorCodes(batch, row: $0).isEmpty }.count
        return "scored (\(rows - failed) of \(rows) rows)"
    }

    /// A number from a text: an 8-byte text is a float64's bits, any other `Double(text)` or NaN.
    static func number(_ bytes: [UInt8]) -> Double {
        if bytes.count == 8 { return Double(bitPattern: bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }) }
        return String(validating: bytes, as: UTF8.self).flatMap { Double($0) } ?? .nan
    }

    /// Row `r` of `column` as a one-row column.
    static func row(_ r: Int, of column: RecordColumn) -> RecordColumn {
        switch column {
        case .numbers(let v): return .numbers([v[r]])
        case .texts(let values, let codes): return .texts(values: values, codes: [codes[r]])
        }
    }

    /// The codes of row `row`'s errors, sorted.
    static func errorCodes(_ result: RecordsResult, row: Int) -> [String] {
        result.messages.filter { $0.severity == .error && $0.row == row }.map(\.code).sorted()
    }

    /// Each row has a risk in [0, 1] and a tier, or an error and no score.
    static func check(_ result: RecordsResult, rows: Int) {
        guard result.risk.count == rows, result.tier.count == rows, result.atypicality.count == rows else {
            fatalError("\(result.risk.count) risks for \(rows) rows")
        }
        let tiers = model.tierNames.count
        for r in 0..<rows {
            if !errorCodes(result, row: r).isEmpty {
                guard result.risk[r].isNaN, result.tier[r] == 255 else { fatalError("row \(r) has an error and a score") }
            } else {
                guard result.risk[r] >= 0, result.risk[r] <= 1, Int(result.tier[r]) < tiers else {
                    fatalError("row \(r): risk \(result.risk[r]), tier \(result.tier[r]) of \(tiers)")
                }
            }
        }
    }
}
