/// An inductive Venn-Abers predictor (Vovk and Petej 2014) on the booster's margin: for a new
/// margin `m`, isotonic regression of the calibration patients' outcomes on their margins is
/// fitted twice, once with `(m, 0)` added and once with `(m, 1)`; the two fitted values at `m`,
/// `p0 <= p1`, are the interval. Under exchangeability one of the two is a perfectly calibrated
/// probability, and the interval is wide where the calibration patients say little (few of them
/// near `m`, or outcomes that disagree).
///
/// Both fits depend on `m` only through its place among the calibration margins, so they are
/// computed once per place at training (`2k + 1` places for `k` distinct margins: below the
/// first, at each, between two, above the last) and a served score only looks its place up.
/// Written here: no Swift package offers isotonic regression or Venn-Abers predictors.
public struct VennAbersCalibrator: Codable, Sendable, Equatable {
    /// The distinct calibration margins, ascending.
    public private(set) var margins: [Double]
    /// `p0` and `p1` per place (`2 * margins.count + 1` each).
    public private(set) var low: [Double], high: [Double]

    /// Rebuilds a predictor from its stored parts (the model file); nil when they do not fit
    /// together (lengths, order, or values outside [0, 1]).
    public init?(margins: [Double], low: [Double], high: [Double]) {
        guard !margins.isEmpty, low.count == 2 * margins.count + 1, high.count == low.count,
              margins.allSatisfy(\.isFinite), zip(margins, margins.dropFirst()).allSatisfy({ $0 < $1 }),
              zip(low, high).allSatisfy({ 0 <= $0 && $0 <= $1 && $1 <= 1 }) else { return nil }
        self.margins = margins
        self.low = low
        self.high = high
    }

    /// Fits on the calibration patients' margins and outcomes; nil without any finite margin.
    public init?(margins m: [Double], labels y: [Bool]) {
        var pairs = zip(m, y).filter { $0.0.isFinite }
        guard !pairs.isEmpty else { return nil }
        pairs.sort { $0.0 < $1.0 }
        var distinct: [Double] = [], positives: [Double] = [], counts: [Double] = []
        for (margin, label) in pairs {
            if distinct.last != margin { distinct.append(margin); positives.append(0); counts.append(0) }
            positives[positives.count - 1] += label ? 1 : 0
            counts[counts.count - 1] += 1
        }
        var low = [Double](repeating: 0, count: 2 * distinct.count + 1), high = low
        let stacks = PooledStacks(positives: positives, counts: counts)
        for place in 0..<low.count {
            low[place] = stacks.value(at: place, label: 0)
            high[place] = stacks.value(at: place, label: 1)
        }
        self.margins = distinct
        self.low = low
        self.high = high
    }

    /// The place of margin `m` among the calibration margins (see the type's comment).
    func place(of m: Double) -> Int {
        var lo = 0, hi = margins.count  // first index with margins[i] >= m
        while lo < hi {
            let mid = (lo + hi) / 2
            if margins[mid] < m { lo = mid + 1 } else { hi = mid }
        }
        return lo < margins.count && margins[lo] == m ? 2 * lo + 1 : 2 * lo
    }

    /// The interval `(p0, p1)` of the probability of the outcome at margin `m` (NaN for NaN).
    public func interval(margin m: Double) -> (low: Double, high: Double) {
        guard !m.isNaN else { return (.nan, .nan) }
        let p = place(of: m)
        return (low[p], high[p])
    }
}

/// Pool-adjacent-violators with one added point, for every place at once.
///
/// Isotonic regression's pools do not depend on the order in which violators are pooled. So the
/// points left of a place can be pooled first (left to right), those right of it too (right to
/// left), and only then the added point, which can only merge with the pools next to it. Both
/// sides are kept for every place in persistent stacks (each pool a node pointing to the next
/// one outwards; a prefix or suffix is its innermost node), so a place costs the merges of its
/// added point only: the whole table takes O(k) plus those merges instead of a fit per place.
private struct PooledStacks {
    /// Pools: sum of outcomes, count, and the next pool outwards (-1: none).
    private var sum: [Double] = [], weight: [Double] = [], next: [Int] = []
    /// The innermost pool of the points left of block j (`left[j]`, blocks 0..<j) and right of
    /// it from j on (`right[j]`, blocks j..<k); -1 when empty.
    private var left: [Int], right: [Int]
    private let positives: [Double], counts: [Double]

    init(positives: [Double], counts: [Double]) {
        self.positives = positives
        self.counts = counts
        let k = counts.count
        left = [Int](repeating: -1, count: k + 1)
        right = [Int](repeating: -1, count: k + 1)
        // Left to right: a pool merges with the pool left of it while that one's mean is higher.
        for j in 0..<k {
            var (s, w, outer) = (positives[j], counts[j], left[j])
            while outer >= 0, sum[outer] * w > s * weight[outer] { s += sum[outer]; w += weight[outer]; outer = next[outer] }
            left[j + 1] = push(s, w, outer)
        }
        // Right to left: a pool merges with the pool right of it while that one's mean is lower.
        for j in stride(from: k - 1, through: 0, by: -1) {
            var (s, w, outer) = (positives[j], counts[j], right[j + 1])
            while outer >= 0, s * weight[outer] > sum[outer] * w { s += sum[outer]; w += weight[outer]; outer = next[outer] }
            right[j] = push(s, w, outer)
        }
    }

    private mutating func push(_ s: Double, _ w: Double, _ outer: Int) -> Int {
        sum.append(s); weight.append(w); next.append(outer)
        return sum.count - 1
    }

    /// The fitted value at a point of outcome `label` added at `place` (odd: tied with block
    /// `place / 2`; even: before it).
    func value(at place: Int, label: Double) -> Double {
        let j = place / 2, tied = place % 2 == 1
        var s = label, w = 1.0
        if tied { s += positives[j]; w += counts[j] }
        var l = left[j], r = tied ? right[j + 1] : right[j]
        while true {
            if l >= 0, sum[l] * w > s * weight[l] { s += sum[l]; w += weight[l]; l = next[l]; continue }
            if r >= 0, s * weight[r] > sum[r] * w { s += sum[r]; w += weight[r]; r = next[r]; continue }
            return s / w
        }
    }
}
