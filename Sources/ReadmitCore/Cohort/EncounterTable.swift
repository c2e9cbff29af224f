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
        var errors: [Int: String] = [:]
        func fail(_ error: DataError, row: Int) throws(DataError) {
            if strict { throw error }
            if errors[row] == nil { errors[row] = "column '\(error.column ?? "?")': \(error.message)" }
        }

        func idColumn(_ name: String) throws(DataError) -> [Int]? {
            guard table.header.contains(name) else {
                if requireIDs { _ = try table.column(name) }
                return nil
            }
            let c = try table.column(name)
            var values = [Int](repeating: -1, count: count)
            for r in 0..<count {
                do throws(DataError) { values[r] = try table.integer(row: r, column: c) } catch { try fail(error, row: r) }
            }
            return values
        }
        let encounterID = try idColumn("encounter_id")
        let patientNbr = try idColumn("patient_nbr")

        var numeric: [String: [Double]] = [:]
        for name in Self.numericColumns {
            let c = try table.column(name)
            var values = [Double](repeating: .nan, count: count)
            for r in 0..<count {
                do throws(DataError) { values[r] = try table.double(row: r, column: c) ?? .nan } catch { try fail(error, row: r) }
            }
            numeric[name] = values
        }

        var categorical: [String: InternedColumn] = [:]
        for name in Self.categoricalColumns {
            categorical[name] = table.internedColumn(try table.column(name))
        }

        let readmitted: [Readmission?]?
        if table.header.contains("readmitted") || requireLabel {
            let c = try table.column("readmitted")
            var labels = [Readmission?](repeating: nil, count: count)
            for r in 0..<count {
                let text = table.string(row: r, column: c)
                if let label = Readmission(rawValue: text) {
                    labels[r] = label
                } else if requireLabel {
                    try fail(DataError(code: .badValue, file: table.file, line: table.line(ofRow: r), column: "readmitted",
                                       message: "unknown label value '\(text)' (expected NO, >30 or <30)"), row: r)
                }
            }
            readmitted = labels
        } else {
            readmitted = nil
        }
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
