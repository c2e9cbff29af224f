/// A dense row-major matrix of `Double`: feature vectors in schema order, NaN for missing.
public struct FeatureMatrix: Sendable {
    /// Number of rows.
    public let rows: Int
    /// Number of columns.
    public let columns: Int
    /// `rows * columns` values, row-major.
    public var values: [Double]

    /// Creates a matrix from row-major values.
    public init(rows: Int, columns: Int, values: [Double]) {
        precondition(values.count == rows * columns, "matrix size mismatch")
        self.rows = rows
        self.columns = columns
        self.values = values
    }

    /// Row `r` as a new array.
    public func row(_ r: Int) -> [Double] { Array(values[(r * columns)..<((r + 1) * columns)]) }

    /// The sub-matrix of the given rows, in that order.
    public func selecting(rows indices: [Int]) -> FeatureMatrix {
        var out = [Double]()
        out.reserveCapacity(indices.count * columns)
        for r in indices { out.append(contentsOf: values[(r * columns)..<((r + 1) * columns)]) }
        return FeatureMatrix(rows: indices.count, columns: columns, values: out)
    }
}

/// Turns raw CSV rows into feature vectors by the schema's transforms (`docs/FEATURES.md`).
public enum FeatureEncoder {
    /// Encodes every row of `table`. Bad numeric values are already NaN in the table (and
    /// recorded in its `rowErrors` in lenient mode).
    public static func encode(table: EncounterTable, schema: FeatureSchema) -> FeatureMatrix {
        let m = schema.count
        var values = [Double](repeating: .nan, count: table.count * m)
        let history = History.compute(table: table)
        for (j, spec) in schema.features.enumerated() {
            switch spec.transform {
            case .number:
                let column = table.numeric[spec.source] ?? []
                for r in 0..<table.count { values[r * m + j] = column[r] }
            case .level, .levelOrOther:
                var index: [String: Double] = [:]
                for (i, level) in spec.levels.enumerated() { index[level] = Double(i) }
                let other = spec.transform == .levelOrOther ? Double(spec.levels.count - 1) : Double.nan
                let column = table.categorical[spec.source] ?? .empty
                // Each distinct text is looked up once; rows then copy its level.
                let level = column.values.map { FeatureSchemaBuilder.isPresent($0) ? (index[$0] ?? other) : .nan }
                for r in 0..<table.count { values[r * m + j] = level[Int(column.codes[r])] }
            case .icd9Chapter:
                let column = table.categorical[spec.source] ?? .empty
                let chapter = column.values.map { ICD9.chapterIndex(of: $0).map(Double.init) ?? .nan }
                for r in 0..<table.count { values[r * m + j] = chapter[Int(column.codes[r])] }
            case .history:
                guard let h = History.names.firstIndex(of: spec.source) else { continue }
                for r in 0..<table.count { values[r * m + j] = history[r][h] }
            }
        }
        return FeatureMatrix(rows: table.count, columns: m, values: values)
    }
}
