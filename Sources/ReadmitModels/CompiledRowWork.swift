import CTreeWalk

/// The served path's per-row work besides the tree walks, laid out flat once per model: checking
/// a schema row's values, the booster's columns of it (``ModelInputLayout/boosterRow(_:into:)``)
/// and its histogram detector score (``HistogramDetector/score(_:)``).
///
/// Once the trees were walked by vector this work was about a sixth of the served path's time
/// (issue 15): the input check called libm's `floor` for every value, and the detector's terms
/// branched on each value and were summed as one chain of dependent additions per row. Here every
/// per-feature field lives in one flat buffer; the check, the booster's columns and the detector
/// run in C without branches on the values (`rtw_rows_valid`, `rtw_booster_columns`,
/// `rtw_detector_scores`; AVX2 forms where the tree walk is a vector one). The results are the same
/// bits: the same operations in the same order (tests compare them with the layout's and the
/// detector's own code, and the check with the per-value rule).
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
    private let rankStart: UnsafeMutablePointer<Int64>
    private let ranks: UnsafeMutablePointer<Double>
    // The detector, as `rtw_detector` (Sources/CTreeWalk) reads it.
    private let offset: UnsafeMutablePointer<Double>
    private let scale: UnsafeMutablePointer<Double>
    private let binLow: UnsafeMutablePointer<Double>
    private let binHigh: UnsafeMutablePointer<Double>
    private let tableStart: UnsafeMutablePointer<Int64>
    private let bins: UnsafeMutablePointer<Int64>
    private let table: UnsafeMutablePointer<Double>

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
            if values.isEmpty { p.initialize(to: 0) }  // rtw_booster_columns reads ranks[0] even when there are none
            return p
        }
        func int64s(_ values: [Int64]) -> UnsafeMutablePointer<Int64> {
            let p = UnsafeMutablePointer<Int64>.allocate(capacity: max(values.count, 1))
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
        rankStart = int64s(starts.map(Int64.init))
        ranks = doubles(flatRanks)
        // Per histogram (as HistogramDetector.contribution reads it): one bin (width 0, one
        // cost): inside when v - value is 0, that is v == value; a categorical feature (width
        // 0): the level Int(v) in 0..<n, that is -1 < v < n, as an inclusive range of doubles;
        // numeric: (v - low) / width in 0...n. An empty range where there are no bins.
        var offsets: [Double] = [], scales: [Double] = [], lows: [Double] = [], highs: [Double] = []
        var starts64: [Int64] = [], binCounts: [Int64] = [], flatTable: [Double] = []
        for h in detector.histograms {
            let n = h.cost.count
            if h.width == 0 && n == 1 {
                offsets.append(h.low); scales.append(1); lows.append(0); highs.append(0)
            } else if h.width == 0 {
                offsets.append(0); scales.append(1); lows.append((-1.0).nextUp); highs.append(Double(n).nextDown)
            } else {
                offsets.append(h.low); scales.append(h.width); lows.append(0); highs.append(Double(n))
            }
            if n == 0 { lows[lows.count - 1] = 1; highs[highs.count - 1] = 0 }
            starts64.append(Int64(flatTable.count))
            binCounts.append(Int64(n))
            flatTable += h.cost + [h.outsideCost, h.missingCost]
        }
        offset = doubles(offsets)
        scale = doubles(scales)
        binLow = doubles(lows)
        binHigh = doubles(highs)
        tableStart = int64s(starts64)
        bins = int64s(binCounts)
        table = doubles(flatTable)
    }

    deinit {
        for p in [low, high, integral, ranks, offset, scale, binLow, binHigh, table] { p.deallocate() }
        rankStart.deallocate()
        tableStart.deallocate()
        bins.deallocate()
    }

    /// Whether every value of `rows` rows at `values` is valid: NaN, or finite and, for a
    /// categorical feature, a level index (an integer in 0..<levels). The caller finds which
    /// value is not, and says why, only when this is false.
    /// `walk` picks the loop: the AVX2 one where the walk is a vector one (as the tree walks,
    /// `READMIT_TREE_WALK=scalar` gives the portable one); both give the same answer.
    public func allValid(_ values: UnsafePointer<Double>, rows: Int, walk: TreeWalk = .selected) -> Bool {
        // In C (Sources/CTreeWalk): written the same way in Swift it was not vectorised.
        walk.isVector ? rtw_rows_valid_avx2(values, rows, features, low, high, integral) != 0
                      : rtw_rows_valid(values, rows, features, low, high, integral) != 0
    }

    /// The booster's columns of one valid schema row (as ``ModelInputLayout/boosterRow(_:into:)``).
    public func boosterRow(_ row: UnsafePointer<Double>, into out: UnsafeMutablePointer<Double>, walk: TreeWalk = .selected) {
        boosterRows(row, count: 1, into: out, stride: features, walk: walk)
    }

    /// The booster's columns of `count` valid schema rows (row-major), row r's at
    /// `out + r * stride`. In C (`rtw_booster_columns`; AVX2 where the walk is a vector one).
    public func boosterRows(_ rows: UnsafePointer<Double>, count: Int, into out: UnsafeMutablePointer<Double>, stride: Int,
                            walk: TreeWalk = .selected) {
        if walk.isVector {
            rtw_booster_columns_avx2(rows, count, features, rankStart, ranks, out, stride)
        } else {
            rtw_booster_columns(rows, count, features, rankStart, ranks, out, stride)
        }
    }

    /// The detector scores of `count` valid schema rows (row-major) into `out[i * outStride]`
    /// (as ``HistogramDetector/score(_:)``: each row's terms summed in feature order). In C
    /// (`rtw_detector_scores`): each term without a branch on the value (whether a value is
    /// missing varies from row to row), four rows' sums side by side (one row's sum is a chain
    /// of dependent additions, which bounded the one-row form).
    /// Where `walk` is a vector one, four rows at a time in the lanes of an AVX2 vector
    /// (`rtw_detector_scores_avx2`; the same bits).
    public func detectorScores(_ rows: UnsafePointer<Double>, count: Int, into out: UnsafeMutablePointer<Double>, outStride: Int,
                               walk: TreeWalk = .selected) {
        var d = rtw_detector(offset: offset, scale: scale, low: binLow, high: binHigh, start: tableStart, bins: bins, table: table)
        if walk.isVector {
            rtw_detector_scores_avx2(&d, rows, count, features, out, outStride)
        } else {
            rtw_detector_scores(&d, rows, count, features, out, outStride)
        }
    }

    /// The histogram detector's score of one valid schema row.
    public func detectorScore(_ row: UnsafePointer<Double>) -> Double {
        var s = 0.0
        detectorScores(row, count: 1, into: &s, outStride: 1)
        return s
    }
}
