import Foundation
import ReadmitFeatures
import ReadmitSpec
import ReadmitTables

/// Isolation Forest (Liu, Ting and Zhou 2008) with scikit-learn's semantics.
///
/// Each tree is grown on `maxSamples` rows drawn without replacement, splitting on a random
/// non-constant feature at a uniform random threshold between its minimum and maximum, down to
/// a depth limit of `ceil(log2(maxSamples))`. A row's path length is the depth of the leaf it
/// reaches plus `c(leaf size)`, the expected path length of an unbuilt subtree; the score is
/// `2^(-E[h] / c(maxSamples))` in (0, 1], higher is more anomalous (scikit-learn's
/// `score_samples` returns its negative).
///
/// Written here because no Swift library offers it; trees are stored as flat arrays so that
/// scoring walks contiguous memory.
public struct IsolationForest: Sendable, Equatable {
    /// Number of input columns.
    public let columns: Int
    /// Rows drawn per tree.
    public let maxSamples: Int
    /// Feature tested at each node; -1 marks a leaf.
    public private(set) var feature: [Int32]
    /// Threshold at each node (left when `x <= threshold`), or the leaf's path length.
    public private(set) var value: [Double]
    /// Index of the left child (the right child is `left + 1`); unused at leaves.
    public private(set) var left: [Int32]
    /// Index of each tree's root node.
    public private(set) var roots: [Int32]

    /// Harmonic-number approximation `H(i) = ln(i) + Euler's constant`, as in the paper.
    @inline(__always)
    public static func harmonic(_ i: Double) -> Double { Foundation.log(i) + 0.577_215_664_901_532_9 }

    /// `c(n)`: average path length of an unsuccessful BST search among `n` points; 0 for n <= 1, 1 for n == 2.
    public static func averagePathLength(_ n: Int) -> Double {
        if n <= 1 { return 0 }
        if n == 2 { return 1 }
        let x = Double(n)
        return 2 * harmonic(x - 1) - 2 * (x - 1) / x
    }

    /// Fits a forest of `trees` trees on the row-major `data`.
    public init(data: FeatureMatrix, trees: Int = 100, maxSamples: Int = 256, seed: UInt64) {
        columns = data.columns
        let n = data.rows
        let maxSamples = min(maxSamples, max(n, 1))
        self.maxSamples = maxSamples
        let depthLimit = Self.depthLimit(maxSamples: maxSamples)
        var rng = SplitMix64(seed: seed)
        var feature: [Int32] = [], value: [Double] = [], left: [Int32] = [], roots: [Int32] = []
        var sample = [Int](repeating: 0, count: maxSamples)
        var pool = Array(0..<n)
        var candidates = [Int32](repeating: 0, count: data.columns)
        data.values.withUnsafeBufferPointer { x in
            for _ in 0..<trees {
                // Partial Fisher-Yates: the first maxSamples entries of pool are a sample without replacement.
                for i in 0..<maxSamples {
                    let j = i + Int(rng.next() % UInt64(n - i))
                    pool.swapAt(i, j)
                    sample[i] = pool[i]
                }
                roots.append(Int32(feature.count))
                // Iterative build: (node index, sample range, depth).
                feature.append(-1); value.append(0); left.append(-1)
                var stack: [(node: Int, lo: Int, hi: Int, depth: Int)] = [(feature.count - 1, 0, maxSamples, 0)]
                while let top = stack.popLast() {
                    let count = top.hi - top.lo
                    func makeLeaf() { value[top.node] = Double(top.depth) + Self.averagePathLength(count) }
                    if top.depth >= depthLimit || count <= 1 { makeLeaf(); continue }
                    // Draw features at random until one is not constant in this node (scikit-learn's
                    // random splitter with max_features=1 skips constant features the same way).
                    for c in 0..<data.columns { candidates[c] = Int32(c) }
                    var remaining = data.columns
                    var chosen = -1, lo = 0.0, hi = 0.0
                    while remaining > 0 {
                        let k = Int(rng.next() % UInt64(remaining))
                        let f = Int(candidates[k])
                        candidates.swapAt(k, remaining - 1)
                        remaining -= 1
                        var mn = Double.infinity, mx = -Double.infinity
                        for i in top.lo..<top.hi {
                            let v = x[sample[i] * data.columns + f]
                            if v < mn { mn = v }
                            if v > mx { mx = v }
                        }
                        if mx > mn { chosen = f; lo = mn; hi = mx; break }
                    }
                    if chosen < 0 { makeLeaf(); continue }
                    var threshold = lo + rng.nextUnit() * (hi - lo)
                    if threshold >= hi { threshold = lo }
                    // Partition the node's samples: x <= threshold to the left.
                    var i = top.lo, j = top.hi - 1
                    while i <= j {
                        if x[sample[i] * data.columns + chosen] <= threshold { i += 1 } else { sample.swapAt(i, j); j -= 1 }
                    }
                    let l = feature.count
                    feature.append(-1); value.append(0); left.append(-1)
                    feature.append(-1); value.append(0); left.append(-1)
                    feature[top.node] = Int32(chosen)
                    value[top.node] = threshold
                    left[top.node] = Int32(l)
                    stack.append((l + 1, i, top.hi, top.depth + 1))
                    stack.append((l, top.lo, i, top.depth + 1))
                }
            }
        }
        self.feature = feature
        self.value = value
        self.left = left
        self.roots = roots
    }

    /// Restores a fitted forest (from a model file).
    public init(columns: Int, maxSamples: Int, feature: [Int32], value: [Double], left: [Int32], roots: [Int32]) {
        self.columns = columns
        self.maxSamples = maxSamples
        self.feature = feature
        self.value = value
        self.left = left
        self.roots = roots
    }

    /// Number of trees.
    public var treeCount: Int { roots.count }

    /// The depth at which fitting stops splitting: no leaf of a fitted forest lies deeper.
    public static func depthLimit(maxSamples: Int) -> Int {
        Int(Foundation.ceil(Foundation.log2(Double(max(maxSamples, 2)))))
    }

    /// The largest subsample a forest read from a file may declare (fitting uses 256): it bounds
    /// the depth, and so the size of the complete trees ``CompiledForest`` builds.
    public static let maxSamplesLimit = 1 << 16

    /// Checks that every child index and feature is in range, so that scoring cannot read out of
    /// bounds, and that no leaf lies deeper than fitting puts one (``depthLimit(maxSamples:)``),
    /// so that compiling the trees stays small. The depth walk stops at the first path past the
    /// limit, so a file whose nodes share children cannot make it long.
    public func isStructurallyValid() -> Bool {
        let n = feature.count
        guard value.count == n, left.count == n, maxSamples >= 1, maxSamples <= Self.maxSamplesLimit, columns >= 0 else { return false }
        for r in roots where r < 0 || Int(r) >= n { return false }
        for i in 0..<n where feature[i] >= 0 {
            if Int(feature[i]) >= columns || left[i] <= Int32(i) || Int(left[i]) + 1 >= n { return false }
        }
        let limit = Self.depthLimit(maxSamples: maxSamples)
        for root in roots {
            var stack = [(Int(root), 0)]
            while let (i, depth) = stack.popLast() {
                guard depth <= limit else { return false }
                if feature[i] < 0 { continue }
                stack.append((Int(left[i]), depth + 1)); stack.append((Int(left[i]) + 1, depth + 1))
            }
        }
        return true
    }

    /// Mean path length `E[h(x)]` of one row.
    @inline(__always)
    public func meanPathLength(_ row: UnsafePointer<Double>) -> Double {
        var total = 0.0
        feature.withUnsafeBufferPointer { f in
            value.withUnsafeBufferPointer { v in
                left.withUnsafeBufferPointer { l in
                    for root in roots {
                        var node = Int(root)
                        while f[node] >= 0 {
                            node = Int(l[node]) + (row[Int(f[node])] <= v[node] ? 0 : 1)
                        }
                        total += v[node]
                    }
                }
            }
        }
        return total / Double(roots.count)
    }

    /// The anomaly score `2^(-E[h]/c(maxSamples))` of one row.
    @inline(__always)
    public func score(_ row: UnsafePointer<Double>) -> Double {
        Foundation.exp2(-meanPathLength(row) / Self.averagePathLength(maxSamples))  // exp2, not pow: see CompiledForest.score
    }

    /// Scores every row of a matrix.
    public func score(_ data: FeatureMatrix) -> [Double] {
        precondition(data.columns == columns, "column count mismatch")
        return data.values.withUnsafeBufferPointer { x in
            guard let base = x.baseAddress else { return [] }
            return (0..<data.rows).map { score(base + $0 * columns) }
        }
    }
}
