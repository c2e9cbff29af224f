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

    /// Creates a message.
    public init(row: Int, field: String, severity: Severity, code: String, message: String) {
        self.row = row
        self.field = field
        self.severity = severity
        self.code = code
        self.message = message
    }
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
    /// Per row, up to `k` explanation terms (empty for a row with an error); when k is 0, no
    /// rows at all: a large request's 100,000 empty lists were made, merged and freed for nothing.
    public var explanations: [[RecordExplanation]]
    /// Each risk's interval; NaN for a row with an error (and when the model has none).
    public var intervalLow: [Double] = [], intervalHigh: [Double] = []
    /// What encoding the request built (its table, raw features and vectors), no longer read:
    /// held so that a server can free it after sending the reply (``RetiredInputs``).
    public var retired: RetiredInputs? = nil

    /// Creates a result.
    public init(risk: [Double], atypicality: [Double], tier: [UInt8], messages: [RecordMessage], explanations: [[RecordExplanation]]) {
        self.risk = risk
        self.atypicality = atypicality
        self.tier = tier
        self.messages = messages
        self.explanations = explanations
    }
}

/// The inputs of a scored request that nothing reads any more: its table (the columns), raw
/// features and encoded vectors. Freeing them takes a one-row request's few dozen small arrays
/// through the allocator and the runtime's generic destroy (about 9% of a raw encounter's
/// instructions in the daemon, `benchmarks/shim/records_instructions.sh`); kept in the result,
/// they are freed when the server drops it, after the reply has been sent, so the client's
/// round trip does not wait for it. Never read: it only holds.
public final class RetiredInputs: @unchecked Sendable {
    // @unchecked: the values are never read; `kept` is set once, by keep(_:), on the thread
    // that made the result and before it is shared; the last release (on whichever thread
    // drops the result) only frees them.
    private let held: (EncodedFeatures, RawFeatures, SourceTable)
    /// What the caller adds (``keep(_:)``) before the result is shared.
    private var kept: (any Sendable)?

    init(_ features: consuming EncodedFeatures, _ raw: consuming RawFeatures, _ table: consuming SourceTable) {
        held = (features, raw, table)
    }

    /// Holds `value` too (the caller's own leftovers of the request), to be freed with the
    /// rest. Call it before the result is shared with another thread.
    public func keep(_ value: consuming any Sendable) {
        kept = value
    }
}

extension ReadmitModel {
    /// Scores raw records: named columns encoded by the model's own spec through the encoder
    /// training uses. Each row is encoded and scored on its own: a row's result never depends
    /// on the other rows. Throws for a problem of the whole request (a required field absent).
    ///
    /// `memo`: one per request whose rows are scored in parts (see ``LevelTableMemo``).
    public func scoreRecords(columns: consuming [(name: String, column: RecordColumn)], rows: Int, k: Int,
                             options: RecordBatch.Options, memo: LevelTableMemo? = nil) throws(DataError) -> RecordsResult {
        var problems = RowErrors(badValuesMissing: options.badValuesMissing)
        let (raw, features, table) = try encodedFeatures(columns: columns, rows: rows, options: options, problems: &problems, memo: memo)
        // Every row is scored, the rows with an error as all missing (their vectors are
        // unspecified, and an infinity would fail validation), and their results are then
        // cleared: leaving them out cost more than scoring the few error rows (rows are
        // independent, so the others' results are the same bits).
        let failed = problems.byRow.keys.filter { $0 >= 0 && $0 < rows }.sorted()
        let kk = min(k, schema.count)
        var result = RecordsResult(risk: [], atypicality: [], tier: [], messages: [], explanations: kk > 0 ? Array(repeating: [], count: rows) : [])
        var index: [Int32] = [], contribution: [Double] = []
        if failed.count < rows {
            do {
                try scoreInBlocks(features, failed: failed, interval: options.interval, k: kk, into: &result,
                                  featureIndex: &index, contribution: &contribution)
            } catch {
                // Not expected (the encoder writes finite values and level indices): the whole
                // matrix is checked again, so that the message names the row of the request.
                var x = FeatureEncoder.matrix(features)
                Self.clear(rows: failed, of: &x)
                var reason = error
                do {
                    try x.values.withUnsafeBufferPointer { v throws(FeatureVectorError) in try validate(v, rows: rows) }
                } catch let whole {
                    reason = whole
                }
                throw DataError(code: .badValue, file: "request", message: "the encoded rows could not be scored: \(reason.message)")
            }
            for r in 0..<rows where kk > 0 && problems.byRow[r] == nil {
                result.explanations[r] = (0..<kk).compactMap { t in
                    let j = Int(index[r * kk + t])
                    guard j >= 0 else { return nil }
                    return RecordExplanation(feature: schema.features[j].name, contribution: contribution[r * kk + t],
                                             value: Self.rawValue(raw.features[j], row: r))
                }
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
        result.retired = RetiredInputs(consume features, consume raw, consume table)  // moved, not retained
        return result
    }

    /// Rows scored (and explained) per block: ``EncodedFeatures`` writes a block's vectors, which
    /// are checked and scored while they are still in cache (the tree walks' own chunk).
    static var scoringBlockRows: Int { chunkRows }

    /// Writes, checks and scores `features` a block of rows at a time, appending to `result`'s
    /// risk, atypicality, tier and interval (NaN when not asked for) and, with `k` > 0, to
    /// `featureIndex` and `contribution` each row's top-`k` terms; the rows in `failed` (sorted)
    /// are scored as all missing.
    private func scoreInBlocks(_ features: EncodedFeatures, failed: [Int], interval: Bool, k: Int, into result: inout RecordsResult,
                               featureIndex: inout [Int32], contribution: inout [Double]) throws(FeatureVectorError) {
        let rows = features.rows, m = features.columns, blockRows = max(1, min(rows, Self.scoringBlockRows))
        // A block's vectors, then its risk, atypicality, interval and contributions; its tiers
        // and feature indices.
        let doubles = UnsafeMutableBufferPointer<Double>.allocate(capacity: blockRows * (m + 4 + k))
        let tiers = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: blockRows)
        let indices = UnsafeMutableBufferPointer<Int32>.allocate(capacity: max(1, blockRows * k))
        defer { doubles.deallocate(); tiers.deallocate(); indices.deallocate() }
        func area(_ at: Int, _ count: Int) -> UnsafeMutableBufferPointer<Double> {
            UnsafeMutableBufferPointer(rebasing: doubles[at..<(at + count)])
        }
        result.risk.reserveCapacity(rows); result.atypicality.reserveCapacity(rows); result.tier.reserveCapacity(rows)
        result.intervalLow.reserveCapacity(rows); result.intervalHigh.reserveCapacity(rows)
        featureIndex.reserveCapacity(rows * k); contribution.reserveCapacity(rows * k)
        var start = 0, nextFailed = 0
        while start < rows {
            let count = min(blockRows, rows - start), end = start + count
            let x = area(0, count * m)
            features.write(rows: start..<end, into: x)
            while nextFailed < failed.count && failed[nextFailed] < end {
                area((failed[nextFailed] - start) * m, m).update(repeating: .nan)
                nextFailed += 1
            }
            let risk = area(blockRows * m, count), atypicality = area(blockRows * (m + 1), count)
            let low = area(blockRows * (m + 2), count), high = area(blockRows * (m + 3), count)
            let tier = UnsafeMutableBufferPointer(rebasing: tiers[0..<count])
            if !interval { low.update(repeating: .nan); high.update(repeating: .nan) }
            try score(UnsafeBufferPointer(x), rows: count, risk: risk, atypicality: atypicality, tier: tier,
                      interval: interval ? (low, high) : nil)
            result.risk.append(contentsOf: risk); result.atypicality.append(contentsOf: atypicality); result.tier.append(contentsOf: tier)
            result.intervalLow.append(contentsOf: low); result.intervalHigh.append(contentsOf: high)
            if k > 0 {
                let index = UnsafeMutableBufferPointer(rebasing: indices[0..<(count * k)]), terms = area(blockRows * (m + 4), count * k)
                try explain(UnsafeBufferPointer(x), rows: count, k: k, featureIndex: index, contribution: terms)
                featureIndex.append(contentsOf: index); contribution.append(contentsOf: terms)
            }
            start = end
        }
    }

    /// Sets every value of `rows` of `matrix` to NaN.
    static func clear(rows: [Int], of matrix: inout FeatureMatrix) {
        let m = matrix.columns
        matrix.values.withUnsafeMutableBufferPointer { v in
            for r in rows where r >= 0 && r < matrix.rows { for j in 0..<m { v[r * m + j] = .nan } }
        }
    }

    /// Encodes raw records into feature vectors (schema order; level indices; NaN = missing) with
    /// the model's spec, as ``scoreRecords(columns:rows:k:options:)`` does before scoring. A row
    /// with an error (in `problems.byRow`) has an unspecified vector.
    func encode(columns: [(name: String, column: RecordColumn)], rows: Int, options: RecordBatch.Options,
                problems: inout RowErrors) throws(DataError) -> (raw: RawFeatures, matrix: FeatureMatrix) {
        let (raw, features, _) = try encodedFeatures(columns: columns, rows: rows, options: options, problems: &problems)
        return (raw, FeatureEncoder.matrix(features))
    }

    /// The raw features of raw records and their feature vectors ready to be written
    /// (``EncodedFeatures``), the records' errors and warnings in `problems`.
    func encodedFeatures(columns: consuming [(name: String, column: RecordColumn)], rows: Int, options: RecordBatch.Options,
                         problems: inout RowErrors, memo: LevelTableMemo? = nil) throws(DataError) -> (raw: RawFeatures, features: EncodedFeatures, table: SourceTable) {
        let spec = parameters.dataset
        let table = try RecordBatch.table(columns: columns, rows: rows, spec: spec, plan: recordPlan, options: options, warnings: &problems)
        let tables = DatasetTables(spec: spec, records: table)
        try Self.markExcluded(tables, rows: rows, problems: &problems)
        let records = try EncounterRecords(tables: tables, strict: false, errors: &problems)
        let raw = try RawFeatures(tables: tables, records: records, labels: Array(repeating: nil, count: rows), strict: false, errors: &problems)
        let features = FeatureEncoder.features(raw: raw, spec: spec, schema: schema, warnings: &problems, levels: recordPlan.levels, memo: memo)
        return (raw, features, consume table)
    }

    /// The feature vectors of raw records as the daemon computes them before scoring (what a
    /// client that sends ready vectors with `SCORE` must send to get the same scores): the
    /// matrix (a row with an error is all NaN) and the records' errors and warnings.
    public func encodeRecords(columns: [(name: String, column: RecordColumn)], rows: Int,
                              options: RecordBatch.Options) throws(DataError) -> (matrix: FeatureMatrix, messages: [RecordMessage]) {
        var problems = RowErrors(badValuesMissing: options.badValuesMissing)
        var x = try encode(columns: columns, rows: rows, options: options, problems: &problems).matrix
        Self.clear(rows: Array(problems.byRow.keys), of: &x)
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
