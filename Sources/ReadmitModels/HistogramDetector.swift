import Foundation
import ReadmitFeatures
import ReadmitSpec
import ReadmitTables

/// A per-feature anomaly detector in the style of HBOS (Goldstein and Dengel 2012).
///
/// Each schema feature gets a histogram of the training rows (equal-width bins for numeric
/// features, one bin per level for categorical ones, and a bin for missing). A row's score is
/// the sum over features of `-log(height / max height)` of the bin it falls in, so each term
/// says how unusual that one value is: the detector explains itself. Only the histograms are
/// stored; scoring needs no training rows. Written here because no Swift library offers it.
public struct HistogramDetector: Codable, Sendable, Equatable {
    /// The histogram of one feature.
    public struct FeatureHistogram: Codable, Sendable, Equatable {
        /// Lower edge of the first bin (numeric features).
        public var low: Double
        /// Bin width (numeric features; 0 when the feature was constant).
        public var width: Double
        /// Contribution `-log(height / max height)` of each bin (levels for categorical features).
        public var cost: [Double]
        /// Contribution of a missing value.
        public var missingCost: Double
        /// Contribution of a value outside the training range (an empty bin).
        public var outsideCost: Double
    }

    /// One histogram per schema feature.
    public var histograms: [FeatureHistogram]

    /// Number of bins for numeric features.
    public static let numericBins = 20

    /// Fits the histograms on schema-order training rows.
    public init(schema: FeatureSchema, training: FeatureMatrix) {
        let n = training.rows, m = training.columns
        // Pseudo-count so that an empty bin has a finite cost: as rare as half a training row.
        let floor = 0.5
        histograms = (0..<m).map { j in
            let spec = schema.features[j]
            var missing = 0.0
            var counts: [Double]
            var low = 0.0, width = 0.0
            if spec.kind == .categorical {
                counts = [Double](repeating: 0, count: spec.levels.count)
                for r in 0..<n {
                    let v = training.values[r * m + j]
                    if v.isNaN { missing += 1 } else { counts[Int(v)] += 1 }
                }
            } else {
                var mn = Double.infinity, mx = -Double.infinity
                for r in 0..<n {
                    let v = training.values[r * m + j]
                    if v.isNaN { continue }
                    mn = Swift.min(mn, v); mx = Swift.max(mx, v)
                }
                if mn > mx { mn = 0; mx = 0 }
                low = mn
                width = mx > mn ? (mx - mn) / Double(Self.numericBins) : 0
                counts = [Double](repeating: 0, count: width > 0 ? Self.numericBins : 1)
                for r in 0..<n {
                    let v = training.values[r * m + j]
                    if v.isNaN { missing += 1; continue }
                    let b = width > 0 ? Swift.min(Int((v - low) / width), Self.numericBins - 1) : 0
                    counts[b] += 1
                }
            }
            // Heights are densities over equal-width bins, so comparing counts is enough.
            let top = Swift.max(counts.max() ?? 0, missing, floor)
            func cost(_ c: Double) -> Double { -Foundation.log(Swift.max(c, floor) / top) }
            return FeatureHistogram(low: low, width: width, cost: counts.map(cost), missingCost: cost(missing), outsideCost: cost(0))
        }
    }

    /// Whether the detector fits `schema`, as one read from a file must before it scores: a
    /// histogram per feature, each with a finite non-negative bin width, and bins and a finite
    /// lower edge when the width is not 0 (``contribution(feature:value:)`` relies on these to
    /// stay in bounds; a categorical feature with no levels has no bins).
    public func fits(_ schema: FeatureSchema) -> Bool {
        histograms.count == schema.count && histograms.allSatisfy { h in
            h.width.isFinite && h.width >= 0 && (h.width == 0 || (h.low.isFinite && !h.cost.isEmpty))
        }
    }

    /// The contribution of feature `j` with value `v` to the score.
    @inline(__always)
    public func contribution(feature j: Int, value v: Double) -> Double {
        let h = histograms[j]
        if v.isNaN { return h.missingCost }
        if h.width == 0 && h.cost.count == 1 { return v == h.low ? h.cost[0] : h.outsideCost }
        if h.width == 0 {  // categorical: v is a validated level index
            let i = Int(v)
            return i >= 0 && i < h.cost.count ? h.cost[i] : h.outsideCost
        }
        let x = (v - h.low) / h.width
        if x < 0 || x > Double(h.cost.count) { return h.outsideCost }
        return h.cost[Swift.min(Int(x), h.cost.count - 1)]
    }

    /// The score of one schema row: the sum of its feature contributions.
    @inline(__always)
    public func score(_ row: UnsafePointer<Double>) -> Double {
        var s = 0.0
        for j in 0..<histograms.count { s += contribution(feature: j, value: row[j]) }
        return s
    }

    /// Scores every row of a schema-order matrix.
    public func score(_ data: FeatureMatrix) -> [Double] {
        data.values.withUnsafeBufferPointer { x in
            guard let base = x.baseAddress else { return [] }
            return (0..<data.rows).map { score(base + $0 * data.columns) }
        }
    }
}
