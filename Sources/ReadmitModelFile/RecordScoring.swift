import ReadmitFeatures
import ReadmitSpec
import ReadmitTables

/// One error or warning of a raw-records request (`docs/PROTOCOL.md`, "Raw records").
public struct RecordMessage: Sendable, Equatable {
    /// `error` (the row is not scored) or `warning`.
    public enum Severity: String, Sendable { case error, warning }
    /// The row (0-based), or -1 for the whole request.
    public var row: Int
    /// The raw field.
    public var field: String
    /// Error or warning.
    public var severity: Severity
    /// A stable code (`bad_number`, `unknown_level`, ...).
    public var code: String
    /// For people.
    public var message: String
}

/// One term of a row's explanation: the feature, its contribution and the raw value as sent.
public struct RecordExplanation: Sendable, Equatable {
    /// A raw value: a number, a text, or missing.
    public enum Value: Sendable, Equatable { case number(Double), text(String), missing }
    /// The feature.
    public var feature: String
    /// Its contribution to the risk's log-odds.
    public var contribution: Double
    /// The raw value the feature was computed from.
    public var value: Value
}

/// The per-row results of a raw-records request.
public struct RecordsResult: Sendable {
    /// Risk per row; NaN for a row with an error.
    public var risk: [Double]
    /// Atypicality per row; NaN for a row with an error.
    public var atypicality: [Double]
    /// Tier index per row; 255 for a row with an error.
    public var tier: [UInt8]
    /// Every error and warning, in row order (request-level first).
    public var messages: [RecordMessage]
    /// Per row, up to `k` explanation terms (empty for a row with an error, or when k is 0).
    public var explanations: [[RecordExplanation]]
    /// Each risk's interval; NaN for a row with an error (and when the model has none).
    public var intervalLow: [Double] = [], intervalHigh: [Double] = []

    /// Creates a result.
    public init(risk: [Double], atypicality: [Double], tier: [UInt8], messages: [RecordMessage], explanations: [[RecordExplanation]]) {
        self.risk = risk
        self.atypicality = atypicality
        self.tier = tier
        self.messages = messages
        self.explanations = explanations
    }
}

extension ReadmitModel {
    /// Scores raw records: named columns encoded by the model's own spec through the encoder
    /// training uses. Each row is encoded and scored on its own: a row's result never depends
    /// on the other rows. Throws for a problem of the whole request (a required field absent).
    public func scoreRecords(columns: [(name: String, column: RecordColumn)], rows: Int, k: Int,
                             options: RecordBatch.Options) throws(DataError) -> RecordsResult {
        var problems = RowErrors(badValuesMissing: options.badValuesMissing)
        // One variable, so that clearing rows in place does not copy the matrix.
        var encoded = try encode(columns: columns, rows: rows, options: options, problems: &problems)
        // Every row is scored, the rows with an error as all missing (their vectors are
        // unspecified, and an infinity would fail validation), and their results are then
        // cleared: copying the other rows into a new matrix cost more than scoring the few
        // error rows (rows are independent, so the others' results are the same bits).
        let failed = problems.byRow.keys.filter { $0 >= 0 && $0 < rows }
        let m = encoded.matrix.columns
        encoded.matrix.values.withUnsafeMutableBufferPointer { v in
            for r in failed { for j in 0..<m { v[r * m + j] = .nan } }
        }
        var result = RecordsResult(risk: [], atypicality: [], tier: [], messages: [], explanations: Array(repeating: [], count: rows))
        if failed.count < rows {
            do {
                let scores = try score(encoded.matrix, interval: options.interval)
                result.risk = scores.risk; result.atypicality = scores.atypicality; result.tier = scores.tier
                result.intervalLow = scores.intervalLow; result.intervalHigh = scores.intervalHigh
                if k > 0 {
                    let kk = min(k, schema.count)
                    var index = [Int32](repeating: -1, count: rows * kk), contribution = [Double](repeating: 0, count: rows * kk)
                    try encoded.matrix.values.withUnsafeBufferPointer { f throws(FeatureVectorError) in
                        try index.withUnsafeMutableBufferPointer { ib throws(FeatureVectorError) in
                            try contribution.withUnsafeMutableBufferPointer { cb throws(FeatureVectorError) in
                                try explain(f, rows: rows, k: kk, featureIndex: ib, contribution: cb)
                            }
                        }
                    }
                    for r in 0..<rows where problems.byRow[r] == nil {
                        result.explanations[r] = (0..<kk).compactMap { t in
                            let j = Int(index[r * kk + t])
                            guard j >= 0 else { return nil }
                            return RecordExplanation(feature: schema.features[j].name, contribution: contribution[r * kk + t],
                                                     value: Self.rawValue(encoded.raw.features[j], row: r))
                        }
                    }
                }
            } catch {
                throw DataError(code: .badValue, file: "request", message: "the encoded rows could not be scored: \(error.message)")
            }
            for r in failed {
                result.risk[r] = .nan; result.atypicality[r] = .nan; result.tier[r] = 255
                result.intervalLow[r] = .nan; result.intervalHigh[r] = .nan
            }
        } else {
            result.risk = [Double](repeating: .nan, count: rows); result.atypicality = result.risk
            result.tier = [UInt8](repeating: 255, count: rows)
            result.intervalLow = result.risk; result.intervalHigh = result.risk
        }
        result.messages = Self.messages(problems)
        return result
    }

    /// Encodes raw records into feature vectors (schema order; level indices; NaN = missing) with
    /// the model's spec, as ``scoreRecords(columns:rows:k:options:)`` does before scoring. A row
    /// with an error (in `problems.byRow`) has an unspecified vector.
    func encode(columns: [(name: String, column: RecordColumn)], rows: Int, options: RecordBatch.Options,
                problems: inout RowErrors) throws(DataError) -> (raw: RawFeatures, matrix: FeatureMatrix) {
        let spec = parameters.dataset
        let table = try RecordBatch.table(columns: columns, rows: rows, spec: spec, plan: recordPlan, options: options, warnings: &problems)
        let tables = DatasetTables(spec: spec, records: table)
        try Self.markExcluded(tables, rows: rows, problems: &problems)
        let records = try EncounterRecords(tables: tables, strict: false, errors: &problems)
        let raw = try RawFeatures(tables: tables, records: records, labels: Array(repeating: nil, count: rows), strict: false, errors: &problems)
        return (raw, FeatureEncoder.encode(raw: raw, spec: spec, schema: schema, warnings: &problems, levels: recordPlan.levels))
    }

    /// The feature vectors of raw records as the daemon computes them before scoring (what a
    /// client that sends ready vectors with `SCORE` must send to get the same scores): the
    /// matrix (a row with an error is all NaN) and the records' errors and warnings.
    public func encodeRecords(columns: [(name: String, column: RecordColumn)], rows: Int,
                              options: RecordBatch.Options) throws(DataError) -> (matrix: FeatureMatrix, messages: [RecordMessage]) {
        var problems = RowErrors(badValuesMissing: options.badValuesMissing)
        var x = try encode(columns: columns, rows: rows, options: options, problems: &problems).matrix
        for r in problems.byRow.keys where r >= 0 && r < rows {
            for j in 0..<x.columns { x.values[r * x.columns + j] = .nan }
        }
        return (x, Self.messages(problems))
    }

    /// Gives each row that the spec's cohort leaves out (an `exclusions` value in a column the
    /// request carries: a death or hospice discharge) an `excluded` error naming the reason,
    /// whatever the options and whatever else is wrong with the row (``Cohort/exclusionErrors(tables:patientRow:rows:)``).
    static func markExcluded(_ tables: DatasetTables, rows: Int, problems: inout RowErrors) throws(DataError) {
        for (r, error) in try Cohort.exclusionErrors(tables: tables, patientRow: nil, rows: rows) { problems.replace(row: r, error) }
    }

    /// The raw value of one feature in one row, for an explanation.
    static func rawValue(_ feature: RawFeature, row: Int) -> RecordExplanation.Value {
        switch feature {
        case .numbers(let v): return v[row].isNaN ? .missing : .number(v[row])
        case .texts(let c), .codes(let c, _): return c.text(row).map { .text($0) } ?? .missing
        }
    }

    /// Errors and warnings in row order, those about the whole request first.
    static func messages(_ problems: RowErrors) -> [RecordMessage] {
        // A row out of the cohort is not read any further: warnings about its values (its
        // disposition is not a level learned in training, by design) would only repeat why.
        var out = problems.warnings.filter { w in w.row.map { problems.byRow[$0]?.code != .excluded } ?? true }.map {
            RecordMessage(row: $0.row ?? -1, field: $0.field, severity: .warning, code: $0.code, message: $0.message)
        }
        out += problems.byRow.map { row, e in
            RecordMessage(row: row, field: e.column ?? "", severity: .error, code: e.code.rawValue, message: e.message)
        }
        // Stable order: by row, errors before warnings, then as found.
        return out.enumerated().sorted { a, b in
            if a.element.row != b.element.row { return a.element.row < b.element.row }
            if a.element.severity != b.element.severity { return a.element.severity == .error }
            return a.offset < b.offset
        }.map(\.element)
    }
}
