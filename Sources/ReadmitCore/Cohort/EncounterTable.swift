import Dispatch

/// Encounters read from a CSV in the Diabetes 130-US schema, column by column.
///
/// Only the columns the features need are read; extra columns (such as the label in a scoring
/// file) are ignored. In `strict` mode the first bad value is an error naming file, line and
/// column; in lenient mode (offline scoring) a bad row is recorded in ``rowErrors`` and the
/// others are kept.
public struct EncounterTable: Sendable {
    /// Numeric columns read with the `number` transform.
    public static let numericColumns = [
        "time_in_hospital", "num_lab_procedures", "num_procedures", "num_medications",
        "number_outpatient", "number_emergency", "number_inpatient", "number_diagnoses",
    ]
    /// The 23 medication columns (No / Steady / Up / Down).
    public static let medicationColumns = [
        "metformin", "repaglinide", "nateglinide", "chlorpropamide", "glimepiride", "acetohexamide",
        "glipizide", "glyburide", "tolbutamide", "pioglitazone", "rosiglitazone", "acarbose", "miglitol",
        "troglitazone", "tolazamide", "examide", "citoglipton", "insulin", "glyburide-metformin",
        "glipizide-metformin", "glimepiride-pioglitazone", "metformin-rosiglitazone", "metformin-pioglitazone",
    ]
    /// Categorical columns read as text.
    public static let categoricalColumns = [
        "age", "race", "gender", "admission_type_id", "discharge_disposition_id", "admission_source_id",
        "payer_code", "medical_specialty", "max_glu_serum", "A1Cresult", "change", "diabetesMed",
        "diag_1", "diag_2", "diag_3",
    ] + medicationColumns

    /// The file the rows came from.
    public let file: String
    /// Number of rows.
    public let count: Int
    /// `encounter_id` per row, when the file has the column.
    public let encounterID: [Int]?
    /// `patient_nbr` per row, when the file has the column.
    public let patientNbr: [Int]?
    /// Numeric columns by name; NaN where missing (`?`) or bad.
    public let numeric: [String: [Double]]
    /// Categorical columns by name; the raw text (`?` kept as is), interned.
    public let categorical: [String: InternedColumn]
    /// `readmitted` per row, when the file has the column (nil entries only in lenient mode).
    public let readmitted: [Readmission?]?
    /// 1-based file line of each row.
    public let lines: [Int]
    /// Lenient mode: the message for each row that has a bad value.
    public let rowErrors: [Int: String]

    /// What each of the two reading threads produces.
    private struct Parts {
        var integers: [(values: [Int], errors: [(row: Int, error: DataError)])] = []
        var doubles: [(values: [Double], errors: [(row: Int, error: DataError)])] = []
        var texts: [InternedColumn] = []
    }

    /// Reads the encounters of `table`.
    ///
    /// - Parameters:
    ///   - requireLabel: the `readmitted` column must exist and hold `NO`, `>30` or `<30`.
    ///   - requireIDs: `encounter_id` and `patient_nbr` must exist (training needs them for the split and history).
    ///   - strict: throw on the first bad value instead of recording it per row.
    public init(table: CSVTable, requireLabel: Bool, requireIDs: Bool, strict: Bool) throws(DataError) {
        let count = table.rowCount
        if count == 0 {
            throw DataError(code: .empty, file: table.file, message: "file has a header but no data rows")
        }
        // The columns are read in two groups on two threads, each group in one pass over the
        // rows. Each column keeps its values and its bad rows; the errors are then applied in the
        // order the columns were always read in (IDs, numeric, categorical, label; rows in
        // order), so strict mode throws, and lenient mode records per row, exactly the error a
        // column-by-column read meets first.
        enum Job { case id(String, Int), numeric(String, Int), categorical(String, Int), label(Int) }
        var jobs: [Job] = []
        var lookupError: DataError?
        do throws(DataError) {
            for name in ["encounter_id", "patient_nbr"] {
                if table.header.contains(name) { jobs.append(.id(name, try table.column(name))) } else if requireIDs { _ = try table.column(name) }
            }
            for name in Self.numericColumns { jobs.append(.numeric(name, try table.column(name))) }
            for name in Self.categoricalColumns { jobs.append(.categorical(name, try table.column(name))) }
            if table.header.contains("readmitted") || requireLabel { jobs.append(.label(try table.column("readmitted"))) }
        } catch {
            lookupError = error  // thrown after the errors of the columns before it
        }
        var idColumns: [Int] = [], numericColumns: [Int] = [], textColumns: [Int] = []
        for job in jobs {
            switch job {
            case .id(_, let c): idColumns.append(c)
            case .numeric(_, let c): numericColumns.append(c)
            case .categorical(_, let c), .label(let c): textColumns.append(c)
            }
        }
        // Numbers and the first text columns on one thread, the other text columns on the other
        // (about equal work: a numeric column costs about two text columns, measured on the
        // shipped data).
        let firstTexts = min(textColumns.count, max(0, textColumns.count / 2 - (idColumns.count + numericColumns.count)))
        let results = UnsafeMutableBufferPointer<Parts>.allocate(capacity: 2)
        results.initialize(repeating: Parts())
        defer { results.deinitialize(); results.deallocate() }
        nonisolated(unsafe) let slots = results
        let (ids, nums, texts) = (idColumns, numericColumns, textColumns)
        DispatchQueue.concurrentPerform(iterations: 2) { part in
            if part == 0 {
                slots[0].integers = table.integerColumns(ids)
                slots[0].doubles = table.doubleColumns(nums)
                slots[0].texts = table.internedColumns(Array(texts[..<firstTexts]))
            } else {
                slots[1].texts = table.internedColumns(Array(texts[firstTexts...]))
            }
        }
        let integerResults = results[0].integers, doubleResults = results[0].doubles
        let textResults = results[0].texts + results[1].texts

        var errors: [Int: String] = [:]
        var encounterID: [Int]?, patientNbr: [Int]?, readmitted: [Readmission?]?
        var numeric: [String: [Double]] = [:]
        var categorical: [String: InternedColumn] = [:]
        var nextID = 0, nextNumeric = 0, nextText = 0
        for job in jobs {
            var jobErrors: [(row: Int, error: DataError)] = []
            switch job {
            case .id(let name, _):
                let (values, bad) = integerResults[nextID]; nextID += 1
                if name == "encounter_id" { encounterID = values } else { patientNbr = values }
                jobErrors = bad
            case .numeric(let name, _):
                let (values, bad) = doubleResults[nextNumeric]; nextNumeric += 1
                numeric[name] = values
                jobErrors = bad
            case .categorical(let name, _):
                categorical[name] = textResults[nextText]; nextText += 1
            case .label:
                let column = textResults[nextText]; nextText += 1
                let known = column.values.map { Readmission(rawValue: $0) }
                var labels = [Readmission?](repeating: nil, count: count)
                for r in 0..<count {
                    let code = Int(column.codes[r])
                    if let label = known[code] {
                        labels[r] = label
                    } else if requireLabel {
                        jobErrors.append((r, DataError(code: .badValue, file: table.file, line: table.line(ofRow: r), column: "readmitted",
                                                       message: "unknown label value '\(column.values[code])' (expected NO, >30 or <30)")))
                    }
                }
                readmitted = labels
            }
            for (row, error) in jobErrors {
                if strict { throw error }
                if errors[row] == nil { errors[row] = "column '\(error.column ?? "?")': \(error.message)" }
            }
        }
        if let lookupError { throw lookupError }
        self.file = table.file
        self.count = count
        self.encounterID = encounterID
        self.patientNbr = patientNbr
        self.numeric = numeric
        self.categorical = categorical
        self.readmitted = readmitted
        self.lines = (0..<count).map { table.line(ofRow: $0) }
        self.rowErrors = errors
    }
}
