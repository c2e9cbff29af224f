import ReadmitFeatures
import ReadmitSpec
import ReadmitTables

/// How a schema feature vector expands into the dense numeric input of the models.
///
/// Numeric features keep one column; ordinal features keep their level index; other
/// categorical features become one indicator column per level (all zero when missing). The
/// `imputed` variant replaces a missing numeric value by the training median (isolation forest,
/// logistic regression).
///
/// The booster gets a compact form instead: one column per schema feature, NaN kept (it learns
/// a default branch), and a categorical level replaced by its rank among the feature's levels
/// ordered by smoothed training readmission rate, so that one threshold separates low- from
/// high-risk levels (the ordering LightGBM uses for categorical splits). One column per feature
/// makes training four times faster than one-hot input and maps each SHAP value to one feature.
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
        /// Booster code of each level (categorical features): its rank by smoothed training outcome rate.
        public var levelRank: [Double]
    }

    /// One slot per schema feature, in schema order.
    public var slots: [Slot]
    /// Total number of model columns.
    public var width: Int
    /// Name of each model column (`feature` or `feature=level`).
    public var columnNames: [String]
    /// For each model column, the schema feature it comes from.
    public var columnFeature: [Int]

    /// Builds the layout for `schema`, with medians and level ranks from `training` (schema-order
    /// rows) and their outcomes `labels`.
    public init(schema: FeatureSchema, training: FeatureMatrix, labels: [Bool]) {
        let prevalence = Double(labels.filter { $0 }.count) / Double(max(labels.count, 1))
        var slots: [Slot] = []
        var names: [String] = []
        var owner: [Int] = []
        var offset = 0
        for (j, spec) in schema.features.enumerated() {
            let oneHot = spec.kind == .categorical && !spec.ordinal
            var rank: [Double] = []
            if spec.kind == .categorical {
                // Smoothed rate: (positives + 20 * prevalence) / (count + 20), so rare levels sit near the mean.
                var pos = [Double](repeating: 0, count: spec.levels.count), cnt = pos
                for r in 0..<training.rows {
                    let v = training.values[r * training.columns + j]
                    if v.isNaN { continue }
                    cnt[Int(v)] += 1
                    if labels[r] { pos[Int(v)] += 1 }
                }
                let rate = (0..<spec.levels.count).map { (pos[$0] + 20 * prevalence) / (cnt[$0] + 20) }
                let order = rate.indices.sorted { rate[$0] != rate[$1] ? rate[$0] < rate[$1] : $0 < $1 }
                rank = [Double](repeating: 0, count: spec.levels.count)
                for (k, level) in order.enumerated() { rank[level] = Double(k) }
            }
            if oneHot {
                slots.append(Slot(offset: offset, width: spec.levels.count, oneHot: true, median: .nan, levelRank: rank))
                for level in spec.levels { names.append("\(spec.name)=\(level)"); owner.append(j) }
                offset += spec.levels.count
            } else {
                var column: [Double] = []
                column.reserveCapacity(training.rows)
                for r in 0..<training.rows {
                    let v = training.values[r * training.columns + j]
                    if !v.isNaN { column.append(v) }
                }
                slots.append(Slot(offset: offset, width: 1, oneHot: false, median: Self.median(column), levelRank: rank))
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

    /// Whether the layout fits `schema`, as one read from a file must before it is used (scoring
    /// indexes by it without further checks): one slot per feature, laid end to end over
    /// ``width`` columns; an indicator slot exactly as wide as its feature's levels, any other one
    /// column; a level rank per level or none; a name and a feature per column.
    public func fits(_ schema: FeatureSchema) -> Bool {
        guard slots.count == schema.count, columnNames.count == width, columnFeature.count == width else { return false }
        var offset = 0
        for (slot, feature) in zip(slots, schema.features) {
            let levels = feature.kind == .categorical ? feature.levels.count : 0
            guard slot.offset == offset, slot.width == (slot.oneHot ? levels : 1), !slot.oneHot || feature.kind == .categorical,
                  slot.levelRank.isEmpty || slot.levelRank.count == levels else { return false }
            offset += slot.width  // cannot overflow: each width is at most a level count
        }
        return offset == width && columnFeature.allSatisfy { $0 >= 0 && $0 < schema.count }
    }

    /// Writes the booster's columns of one schema row into `out` (one per schema feature).
    @inline(__always)
    public func boosterRow(_ row: UnsafePointer<Double>, into out: UnsafeMutablePointer<Double>) {
        for j in 0..<slots.count {
            let v = row[j]
            let rank = slots[j].levelRank
            out[j] = (rank.isEmpty || v.isNaN) ? v : rank[Int(v)]
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
