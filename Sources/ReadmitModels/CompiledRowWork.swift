import CTreeWalk

/// The served path's per-row work besides the tree walks, laid out flat once per model: checking
/// a schema row's values, the booster's columns of it (``ModelInputLayout/boosterRow(_:into:)``)
/// and its histogram detector score (``HistogramDetector/score(_:)``).
///
/// The layout and the detector keep an array per feature inside an array of structs; reading
/// them per value costs a retain and a release each, which made this work about a quarter of
/// the served path's time once the trees were walked by vector (issue 15). Here every per-feature
/// field lives in one buffer, read through pointers. The results are the same bits: the same
/// operations in the same order (tests compare them with the layout's and the detector's own).
public final class CompiledRowWork: @unchecked Sendable {  // immutable after init
    /// Schema features per row.
    public let features: Int

    // Per feature (features entries each). Validity (`rtw_rows_valid`): a value is valid when
    // NaN, or when finite, low <= v < high, and an integer where `integral` is 1 (numeric:
    // -inf, +inf, 0; categorical: 0, the level count, 1).
    private let low: UnsafeMutablePointer<Double>
    private let high: UnsafeMutablePointer<Double>
    private let integral: UnsafeMutablePointer<Double>
    // The booster column: the value, or its level rank at ranks[rankStart + Int(v)] (-1: none).
    private let rankStart: UnsafeMutablePointer<Int>
    private let ranks: UnsafeMutablePointer<Double>
    // The detector: kind 0 constant (one bin at `binLow`), 1 categorical, 2 numeric bins.
    private let kind: UnsafeMutablePointer<Int>
    private let binLow: UnsafeMutablePointer<Double>
    private let binWidth: UnsafeMutablePointer<Double>
    private let costStart: UnsafeMutablePointer<Int>
    private let costCount: UnsafeMutablePointer<Int>
    private let missingCost: UnsafeMutablePointer<Double>
    private let outsideCost: UnsafeMutablePointer<Double>
    private let costs: UnsafeMutablePointer<Double>

    /// `levelCounts[j]`: the number of levels of categorical feature j, nil for a numeric one.
    /// The layout and the detector must fit the schema (``ModelInputLayout/fits(_:)``,
    /// ``HistogramDetector/fits(_:)``), as a model checks before it builds this.
    public init(levelCounts: [Int?], layout: ModelInputLayout, detector: HistogramDetector) {
        let m = levelCounts.count
        precondition(layout.slots.count == m && detector.histograms.count == m, "the layout and the detector must fit the schema")
        features = m
        func doubles(_ values: [Double]) -> UnsafeMutablePointer<Double> {
            let p = UnsafeMutablePointer<Double>.allocate(capacity: max(values.count, 1))
            p.initialize(from: values, count: values.count)
            return p
        }
        func ints(_ values: [Int]) -> UnsafeMutablePointer<Int> {
            let p = UnsafeMutablePointer<Int>.allocate(capacity: max(values.count, 1))
            p.initialize(from: values, count: values.count)
            return p
        }
        low = doubles(levelCounts.map { $0 == nil ? -.infinity : 0 })
        high = doubles(levelCounts.map { $0.map { Double(Swift.min($0, 1 << 52)) } ?? .infinity })
        integral = doubles(levelCounts.map { $0 == nil ? 0 : 1 })
        var starts: [Int] = [], flatRanks: [Double] = []
        for slot in layout.slots {
            starts.append(slot.levelRank.isEmpty ? -1 : flatRanks.count)
            flatRanks += slot.levelRank
        }
        rankStart = ints(starts)
        ranks = doubles(flatRanks)
        var kinds: [Int] = [], costStarts: [Int] = [], flatCosts: [Double] = []
        for h in detector.histograms {
            kinds.append(h.width == 0 && h.cost.count == 1 ? 0 : (h.width == 0 ? 1 : 2))
            costStarts.append(flatCosts.count)
            flatCosts += h.cost
        }
        kind = ints(kinds)
        binLow = doubles(detector.histograms.map(\.low))
        binWidth = doubles(detector.histograms.map(\.width))
        costStart = ints(costStarts)
        costCount = ints(detector.histograms.map(\.cost.count))
        missingCost = doubles(detector.histograms.map(\.missingCost))
        outsideCost = doubles(detector.histograms.map(\.outsideCost))
        costs = doubles(flatCosts)
    }

    deinit {
        for p in [low, high, integral, ranks, binLow, binWidth, missingCost, outsideCost, costs] { p.deallocate() }
        for p in [rankStart, kind, costStart, costCount] { p.deallocate() }
    }

    /// Whether every value of `rows` rows at `values` is valid: NaN, or finite and, for a
    /// categorical feature, a level index (an integer in 0..<levels). The caller finds which
    /// value is not, and says why, only when this is false.
    public func allValid(_ values: UnsafePointer<Double>, rows: Int) -> Bool {
        // In C (Sources/CTreeWalk): written the same way in Swift it was not vectorised.
        rtw_rows_valid(values, rows, features, low, high, integral) != 0
    }

    /// The booster's columns of one valid schema row (as ``ModelInputLayout/boosterRow(_:into:)``).
    @inline(__always)
    public func boosterRow(_ row: UnsafePointer<Double>, into out: UnsafeMutablePointer<Double>) {
        for j in 0..<features {
            let v = row[j], start = rankStart[j]
            out[j] = (start < 0 || v.isNaN) ? v : ranks[start + Int(v)]
        }
    }

    /// Feature j's term of the histogram detector for value v (as
    /// ``HistogramDetector/contribution(feature:value:)``), without branches on the value
    /// (whether a value is missing varies from row to row): every kind's bin position is
    /// computed, then the feature's is selected.
    @inline(__always)
    private func detectorTerm(_ j: Int, _ v: Double) -> Double {
        let k = kind[j], n = costCount[j]
        // The position among the bins and whether it is inside them: numeric,
        // (v - low) / width in 0...n (n: the last bin's upper edge); categorical, the level
        // Int(v) in 0..<n, that is -1 < v < n; constant, inside when v is the constant.
        let numeric = (v - binLow[j]) / binWidth[j]
        let x = k == 2 ? numeric : (k == 1 ? v : 0)
        let inside = n > 0 && (k == 2 ? (x >= 0 && x <= Double(n)) : (k == 1 ? (x > -1 && x < Double(n)) : v == binLow[j]))
        let bin = Swift.min(Int(inside ? x : 0), n - 1)
        let term = inside ? costs[costStart[j] + bin] : outsideCost[j]
        return v.isNaN ? missingCost[j] : term
    }

    /// The histogram detector's score of one valid schema row (as ``HistogramDetector/score(_:)``:
    /// the same terms summed in the same order).
    public func detectorScore(_ row: UnsafePointer<Double>) -> Double {
        var s = 0.0
        for j in 0..<features { s += detectorTerm(j, row[j]) }
        return s
    }

    /// The detector scores of `count` valid schema rows (row-major) into `out[i * outStride]`.
    /// Each row's terms are summed in feature order, as ``detectorScore(_:)`` sums them; four
    /// rows are summed side by side, so that four chains of additions overlap (one row's sum is
    /// a chain of dependent additions, which bounded the one-row form).
    public func detectorScores(_ rows: UnsafePointer<Double>, count: Int, into out: UnsafeMutablePointer<Double>, outStride: Int) {
        let m = features
        var r = 0
        while r + 4 <= count {
            let x0 = rows + r * m, x1 = x0 + m, x2 = x1 + m, x3 = x2 + m
            var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
            for j in 0..<m {
                s0 += detectorTerm(j, x0[j])
                s1 += detectorTerm(j, x1[j])
                s2 += detectorTerm(j, x2[j])
                s3 += detectorTerm(j, x3[j])
            }
            out[r * outStride] = s0
            out[(r + 1) * outStride] = s1
            out[(r + 2) * outStride] = s2
            out[(r + 3) * outStride] = s3
            r += 4
        }
        while r < count {
            out[r * outStride] = detectorScore(rows + r * m)
            r += 1
        }
    }
}
