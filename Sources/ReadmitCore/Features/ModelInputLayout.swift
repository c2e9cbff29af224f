/// How a schema feature vector expands into the dense numeric input of the models.
///
/// Numeric features keep one column; `age` keeps its level index as an ordinal; other
/// categorical features become one indicator column per level (all zero when missing). The
/// `imputed` variant replaces a missing numeric value by the training median (isolation forest,
/// logistic regression); the booster gets NaN and learns its own default branch.
public struct ModelInputLayout: Codable, Sendable, Equatable {
    /// How one schema feature is laid out.
    public struct Slot: Codable, Sendable, Equatable {
        /// First model column of the feature.
        public var offset: Int
        /// Number of model columns (1, or the number of levels for indicators).
        public var width: Int
        /// Whether the feature expands to level indicators.
        public var oneHot: Bool
        /// Training median used by the imputed variant (numeric and ordinal slots).
        public var median: Double
    }

    /// One slot per schema feature, in schema order.
    public var slots: [Slot]
    /// Total number of model columns.
    public var width: Int
    /// Name of each model column (`feature` or `feature=level`).
    public var columnNames: [String]
    /// For each model column, the schema feature it comes from.
    public var columnFeature: [Int]

    /// Builds the layout for `schema`, with medians from `training` (schema-order rows).
    public init(schema: FeatureSchema, training: FeatureMatrix) {
        var slots: [Slot] = []
        var names: [String] = []
        var owner: [Int] = []
        var offset = 0
        for (j, spec) in schema.features.enumerated() {
            let oneHot = spec.kind == .categorical && spec.name != "age"
            if oneHot {
                slots.append(Slot(offset: offset, width: spec.levels.count, oneHot: true, median: .nan))
                for level in spec.levels { names.append("\(spec.name)=\(level)"); owner.append(j) }
                offset += spec.levels.count
            } else {
                var column: [Double] = []
                column.reserveCapacity(training.rows)
                for r in 0..<training.rows {
                    let v = training.values[r * training.columns + j]
                    if !v.isNaN { column.append(v) }
                }
                slots.append(Slot(offset: offset, width: 1, oneHot: false, median: Self.median(column)))
                names.append(spec.name); owner.append(j)
                offset += 1
            }
        }
        self.slots = slots
        self.width = offset
        self.columnNames = names
        self.columnFeature = owner
    }

    static func median(_ values: [Double]) -> Double {
        if values.isEmpty { return 0 }
        let s = values.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    /// Expands one schema row into `out` (``width`` values). The row must be valid (see
    /// ``ReadmitModel``): categorical values are NaN or a level index.
    @inline(__always)
    public func expand(_ row: UnsafePointer<Double>, into out: UnsafeMutablePointer<Double>, imputed: Bool) {
        for j in 0..<slots.count {
            let slot = slots[j]
            let v = row[j]
            if slot.oneHot {
                let base = out + slot.offset
                base.update(repeating: 0, count: slot.width)
                if !v.isNaN { base[Int(v)] = 1 }
            } else {
                out[slot.offset] = (imputed && v.isNaN) ? slot.median : v
            }
        }
    }

    /// Expands every row of a schema-order matrix.
    public func expand(_ matrix: FeatureMatrix, imputed: Bool) -> FeatureMatrix {
        var out = [Double](repeating: 0, count: matrix.rows * width)
        matrix.values.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                guard let s = src.baseAddress, let d = dst.baseAddress else { return }
                for r in 0..<matrix.rows { expand(s + r * matrix.columns, into: d + r * width, imputed: imputed) }
            }
        }
        return FeatureMatrix(rows: matrix.rows, columns: width, values: out)
    }
}
