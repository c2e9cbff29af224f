import CTreeWalk
import Foundation
import ReadmitFeatures
import ReadmitSpec
import ReadmitTables

/// The booster's trees, evaluated natively for scoring.
///
/// XGBoost's in-place prediction costs about 80 microseconds per call whatever the batch size
/// (it builds a proxy matrix and parses a JSON configuration each time), which would dominate a
/// single-row request. The trees are read once from XGBoost's own JSON model and walked here
/// with XGBoost's semantics: the feature value is compared as a 32-bit float (`x < split`
/// goes left), a missing value takes the node's default direction, and leaf values are summed
/// in 32-bit floats in tree order onto the base margin. Trees are padded to complete binary
/// trees (pass-through nodes with split +inf that default left), so traversal is a fixed
/// number of branch-free steps. A test checks the margins against XGBoost's own predictions.
public struct CompiledBooster: Sendable {
    let depth: Int
    let internalCount: Int, leafCount: Int
    /// The number of trees (boosting rounds) summed.
    public let trees: Int
    /// Per internal node: the feature index, with ``defaultRightFlag`` when a missing value goes right.
    private var feature: [Int32]
    /// Per internal node: the split value (left when `x < split`).
    private var split: [Float]
    /// Per leaf: the leaf value.
    private var leaf: [Float]
    /// Per internal node, for the AVX2 walk on integer keys (`rtw_booster_keys`: a float's key
    /// orders as the float does, so a node's test is one integer compare): the key column
    /// (2 * feature, + 1 when a missing value goes left) and the split's key minus 1.
    private var keyNode: [Int32]
    private var keyThreshold: [Int32]
    /// The base margin (`logit(base_score)`), where the sum starts.
    let baseMargin: Float
    static let defaultRightFlag: Int32 = 1 << 30

    /// An error reading the booster's JSON model.
    struct FormatError: Error { var message: String }

    /// Reads the trees from XGBoost's model (`XGBoosterSaveModelToBuffer`): its JSON text, or
    /// its UBJSON (what model files store), read without asking XGBoost for a JSON dump.
    package init(json: [UInt8]) throws {
        let document = try XGBoostTreeJSON(json: json)
        guard document.boosterName == "gbtree" else { throw FormatError(message: "only gbtree boosters can be compiled") }
        // binary:logistic: the margin of the base score. XGBoost keeps it as a 32-bit float.
        baseMargin = Float(Foundation.log(document.baseScore / (1 - document.baseScore)))

        let parsed = document.trees
        var maxDepth = 0
        for tree in parsed {
            let n = tree.left.count
            guard n > 0, tree.right.count == n, tree.index.count == n, tree.cond.count == n, tree.defaultLeft.count == n else {
                throw FormatError(message: "a tree has inconsistent node arrays")
            }
            if tree.hasCategoricalSplit {
                throw FormatError(message: "categorical splits are not supported")
            }
            var stack = [(0, 0)]
            while let (i, d) = stack.popLast() {
                guard i >= 0, i < n, d <= 24 else { throw FormatError(message: "a tree has an invalid child index or is too deep") }
                if tree.left[i] == -1 { maxDepth = max(maxDepth, d); continue }
                stack.append((tree.left[i], d + 1)); stack.append((tree.right[i], d + 1))
            }
        }
        depth = maxDepth
        internalCount = (1 << maxDepth) - 1
        leafCount = 1 << maxDepth
        trees = parsed.count
        var feature = [Int32](repeating: 0, count: trees * internalCount)
        var split = [Float](repeating: .infinity, count: trees * internalCount)  // pass-through: always left
        var leaf = [Float](repeating: 0, count: trees * leafCount)
        for (t, tree) in parsed.enumerated() {
            var stack = [(0, 0)]
            while let (i, pos) = stack.popLast() {
                if tree.left[i] == -1 {
                    var first = pos, count = 1
                    while first < internalCount { first = 2 * first + 1; count *= 2 }
                    for k in 0..<count { leaf[t * leafCount + first - internalCount + k] = tree.cond[i] }
                    continue
                }
                guard tree.index[i] >= 0, tree.index[i] < Int(Self.defaultRightFlag) else { throw FormatError(message: "invalid split feature") }
                feature[t * internalCount + pos] = Int32(tree.index[i]) | (tree.defaultLeft[i] != 0 ? 0 : Self.defaultRightFlag)
                split[t * internalCount + pos] = tree.cond[i]
                stack.append((tree.left[i], 2 * pos + 1)); stack.append((tree.right[i], 2 * pos + 2))
            }
        }
        self.feature = feature
        self.split = split
        self.leaf = leaf
        var keyNode = [Int32](repeating: 0, count: feature.count), keyThreshold = keyNode
        rtw_booster_keys(feature, split, feature.count, &keyNode, &keyThreshold)
        self.keyNode = keyNode
        self.keyThreshold = keyThreshold
    }

    /// Every split of a real node (pass-through nodes left out) as (feature, split value): for
    /// tests that put values exactly on the thresholds.
    package var splits: [(feature: Int, split: Float)] {
        zip(feature, split).filter { $0.1 != .infinity }.map { (Int($0.0 & ~Self.defaultRightFlag), $0.1) }
    }

    /// The largest feature index any split reads (for validating against the input width).
    package var maxFeatureIndex: Int { feature.map { Int($0 & ~Self.defaultRightFlag) }.max() ?? 0 }

    /// 1 when `v` goes right at a node with `split` and feature `code`: `v >= split`, or `v`
    /// missing (NaN compares false) and the node's default is right. Written without branches
    /// for the eight-row walk, where whether a value is missing varies from row to row and
    /// would be mispredicted (30% more rows/s measured with `readmit benchmark-scoring`).
    @inline(__always)
    static func goesRight(_ v: Float, _ split: Float, _ code: Int32) -> Int {
        Int(truncatingIfNeeded: (v >= split ? 1 : 0) | ((code >> 30) & (v.isNaN ? 1 : 0)))
    }

    /// Margins (log-odds) of `count` rows of `columns` doubles into `out`, by `walk` (every
    /// walk gives the same bits), `chunkRows` rows at a time (rounded down to a multiple of 8):
    /// every tree walks a chunk while its input is in cache, whatever `count` is.
    package func margins(_ x: UnsafePointer<Double>, count: Int, columns: Int, into out: UnsafeMutablePointer<Double>,
                         walk: TreeWalk = .selected, chunkRows: Int = TreeWalk.chunkRows) {
        guard count > 0 else { return }
        let chunk = max(8, chunkRows - chunkRows % 8)
        // The sums and the vector walks' keys on the stack when small (a one-row request noticed
        // each malloc), else the heap.
        withUnsafeTemporaryAllocation(of: Float.self, capacity: count) { sums in
            withUnsafeTemporaryAllocation(of: Int32.self, capacity: walk.isVector ? 2 * max(1, min(chunk, count, 256)) * columns : 1) { keys in
                guard let acc = sums.baseAddress, let scratch = keys.baseAddress else { return }
                acc.initialize(repeating: baseMargin, count: count)
                var done = 0
                if walk.isVector {
                    // Sixteen rows per vector (avx512), then eight, then the rows left (count % 8: all of
                    // them for a one-row request) one at a time on the same integer keys, eight trees
                    // together (rtw_booster_add_rows: about a third of the Swift walk's instructions per row).
                    done = keyNode.withUnsafeBufferPointer { n in
                        keyThreshold.withUnsafeBufferPointer { th in
                            leaf.withUnsafeBufferPointer { l in
                                var b = rtw_booster(node: n.baseAddress, threshold: th.baseAddress, leaf: l.baseAddress,
                                                    trees: Int32(trees), depth: Int32(depth))
                                var vector = walk == .avx512 && count >= 16 ? rtw_booster_add_avx512(&b, x, count, columns, acc, scratch, chunk) : 0
                                if count - vector >= 8 {
                                    vector += rtw_booster_add_avx2(&b, x + vector * columns, count - vector, columns, acc + vector, scratch, chunk)
                                }
                                guard vector < count else { return vector }
                                return vector + rtw_booster_add_rows(&b, x + vector * columns, count - vector, columns, acc + vector, scratch)
                            }
                        }
                    }
                }
                // The scalar walk: all rows, or the last count % 8 after the vector walk.
                var start = done
                while start < count {
                    let n = min(chunk, count - start)
                    scalarWalk(x + start * columns, count: n, columns: columns, acc: acc + start)
                    start += n
                }
                for r in 0..<count { out[r] = Double(acc[r]) }
            }
        }
    }

    /// The reference walk: adds each tree's leaf, in tree order, onto `acc` for `count` rows.
    private func scalarWalk(_ x: UnsafePointer<Double>, count: Int, columns: Int, acc: UnsafeMutablePointer<Float>) {
        let depth = self.depth, internalCount = self.internalCount, leafCount = self.leafCount
        feature.withUnsafeBufferPointer { fAll in
            split.withUnsafeBufferPointer { sAll in
                leaf.withUnsafeBufferPointer { lAll in
                    guard let fb = fAll.baseAddress, let sb = sAll.baseAddress, let lb = lAll.baseAddress else { return }
                    for t in 0..<trees {
                        let f = fb + t * internalCount, s = sb + t * internalCount, l = lb + t * leafCount
                        @inline(__always) func right(_ row: UnsafePointer<Double>, _ i: Int) -> Int {
                            let code = f[i]
                            let v = Float(row[Int(code & ~Self.defaultRightFlag)])
                            return Self.goesRight(v, s[i], code)
                        }
                        // Eight rows walk the tree together: independent loads overlap.
                        var r = 0
                        while r + 8 <= count {
                            let x0 = x + r * columns
                            var i = (0, 0, 0, 0, 0, 0, 0, 0)
                            for _ in 0..<depth {
                                i.0 = 2 * i.0 + 1 + right(x0, i.0)
                                i.1 = 2 * i.1 + 1 + right(x0 + columns, i.1)
                                i.2 = 2 * i.2 + 1 + right(x0 + 2 * columns, i.2)
                                i.3 = 2 * i.3 + 1 + right(x0 + 3 * columns, i.3)
                                i.4 = 2 * i.4 + 1 + right(x0 + 4 * columns, i.4)
                                i.5 = 2 * i.5 + 1 + right(x0 + 5 * columns, i.5)
                                i.6 = 2 * i.6 + 1 + right(x0 + 6 * columns, i.6)
                                i.7 = 2 * i.7 + 1 + right(x0 + 7 * columns, i.7)
                            }
                            acc[r] += l[i.0 - internalCount]; acc[r + 1] += l[i.1 - internalCount]
                            acc[r + 2] += l[i.2 - internalCount]; acc[r + 3] += l[i.3 - internalCount]
                            acc[r + 4] += l[i.4 - internalCount]; acc[r + 5] += l[i.5 - internalCount]
                            acc[r + 6] += l[i.6 - internalCount]; acc[r + 7] += l[i.7 - internalCount]
                            r += 8
                        }
                    }
                    // The last rows (all of them for a single-row request) walk eight trees at a
                    // time instead: the walks are independent, so their loads overlap too. The
                    // leaves are still added in tree order, so the sum is the same to the bit.
                    @inline(__always) func right(_ t: Int, _ row: UnsafePointer<Double>, _ i: Int) -> Int {
                        let code = fb[t * internalCount + i]
                        let v = Float(row[Int(code & ~Self.defaultRightFlag)])
                        // Branching on the missing value measured faster here than goesRight.
                        if v.isNaN { return code & Self.defaultRightFlag != 0 ? 1 : 0 }
                        return v < sb[t * internalCount + i] ? 0 : 1
                    }
                    @inline(__always) func leaf(_ t: Int, _ i: Int) -> Float { lb[t * leafCount + i - internalCount] }
                    for r in (count - count % 8)..<count {
                        let row = x + r * columns
                        var sum = acc[r], t = 0
                        while t + 8 <= trees {
                            var i = (0, 0, 0, 0, 0, 0, 0, 0)
                            for _ in 0..<depth {
                                i.0 = 2 * i.0 + 1 + right(t, row, i.0)
                                i.1 = 2 * i.1 + 1 + right(t + 1, row, i.1)
                                i.2 = 2 * i.2 + 1 + right(t + 2, row, i.2)
                                i.3 = 2 * i.3 + 1 + right(t + 3, row, i.3)
                                i.4 = 2 * i.4 + 1 + right(t + 4, row, i.4)
                                i.5 = 2 * i.5 + 1 + right(t + 5, row, i.5)
                                i.6 = 2 * i.6 + 1 + right(t + 6, row, i.6)
                                i.7 = 2 * i.7 + 1 + right(t + 7, row, i.7)
                            }
                            sum += leaf(t, i.0); sum += leaf(t + 1, i.1); sum += leaf(t + 2, i.2); sum += leaf(t + 3, i.3)
                            sum += leaf(t + 4, i.4); sum += leaf(t + 5, i.5); sum += leaf(t + 6, i.6); sum += leaf(t + 7, i.7)
                            t += 8
                        }
                        while t < trees {
                            var i = 0
                            for _ in 0..<depth { i = 2 * i + 1 + right(t, row, i) }
                            sum += leaf(t, i)
                            t += 1
                        }
                        acc[r] = sum
                    }
                }
            }
        }
    }
}
