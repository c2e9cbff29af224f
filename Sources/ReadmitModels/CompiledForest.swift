import CTreeWalk
import Foundation
import ReadmitFeatures
import ReadmitSpec
import ReadmitTables

/// An isolation forest rewritten for fast scoring of schema rows.
///
/// Two transformations, both exact (scores are bit-identical to ``IsolationForest/score(_:)``
/// on the expanded rows; a test checks this):
///
/// * **Schema-space tests.** The forest is fitted on the expanded (one-hot, imputed) matrix. A
///   split on an indicator column "feature j is level l" with a threshold in (0, 1) sends a row
///   left exactly when `row[j] != l` (a missing value has all indicators 0, so it goes left
///   too); a split on a numeric column compares the imputed value. Testing the schema row skips
///   building the 200-column expanded row.
/// * **Complete trees.** Every tree is padded to a complete binary tree of the forest's depth:
///   a leaf above the bottom becomes a pass-through node (it always goes left) whose descendant
///   leaves all carry its path length. Traversal is then a fixed number of branch-free steps
///   (`i = 2i + 1 + right`), and several rows walk a tree together, which keeps the CPU busy
///   instead of waiting on mispredicted branches.
public struct CompiledForest: Sendable {
    /// Tree depth after padding.
    let depth: Int
    /// Internal nodes per tree (`2^depth - 1`) and leaves per tree (`2^depth`).
    let internalCount: Int, leafCount: Int
    /// Per internal node: the schema feature tested, with ``levelFlag`` for an indicator test.
    private var feature: [Int32]
    /// Per internal node: the threshold (go right when `!(x <= value)`) or the level (go right when `x == value`).
    private var value: [Double]
    /// Per leaf: the path length `depth + c(size)` of the original leaf.
    private var leaf: [Double]
    /// ``value`` as floats for the AVX2 walk of float-exact rows: a level as is, a threshold
    /// rounded down to the largest float not above it (so `!(x <= t)` keeps its answer for every
    /// float `x`), NaN as is.
    private var valueFloat: [Float]
    private let trees: Int
    /// The nodes again in the one-row walk's layout, where the CPU has AVX2 (nil otherwise,
    /// and for forests too deep or large for that layout).
    private let tiers: ForestTiers?
    private let medians: [Double]
    private let normaliser: Double
    static let levelFlag: Int32 = 1 << 30

    /// Compiles `forest` (fitted on `layout`'s imputed expansion).
    public init(forest: IsolationForest, layout: ModelInputLayout) {
        var slotOfColumn = [Int](repeating: 0, count: layout.width)
        for (j, slot) in layout.slots.enumerated() { for c in slot.offset..<(slot.offset + slot.width) { slotOfColumn[c] = j } }
        // Depth of the deepest leaf.
        var maxDepth = 0
        for root in forest.roots {
            var stack = [(Int(root), 0)]
            while let (i, d) = stack.popLast() {
                if forest.feature[i] < 0 { maxDepth = max(maxDepth, d); continue }
                stack.append((Int(forest.left[i]), d + 1)); stack.append((Int(forest.left[i]) + 1, d + 1))
            }
        }
        depth = maxDepth
        internalCount = (1 << maxDepth) - 1
        leafCount = 1 << maxDepth
        trees = forest.roots.count
        var feature = [Int32](repeating: Self.levelFlag, count: trees * internalCount)
        var value = [Double](repeating: .nan, count: trees * internalCount)  // pass-through: x == NaN is never true
        var leaf = [Double](repeating: 0, count: trees * leafCount)
        for (t, root) in forest.roots.enumerated() {
            // (original node, complete-tree position)
            var stack = [(Int(root), 0)]
            while let (i, pos) = stack.popLast() {
                if forest.feature[i] < 0 {
                    // Fill every bottom leaf under `pos` with this leaf's path length.
                    var first = pos, count = 1
                    while first < internalCount { first = 2 * first + 1; count *= 2 }
                    for k in 0..<count { leaf[t * leafCount + first - internalCount + k] = forest.value[i] }
                    continue
                }
                let c = Int(forest.feature[i])
                let j = slotOfColumn[c]
                let slot = layout.slots[j]
                if slot.oneHot {
                    feature[t * internalCount + pos] = Int32(j) | Self.levelFlag
                    value[t * internalCount + pos] = Double(c - slot.offset)
                } else {
                    feature[t * internalCount + pos] = Int32(j)
                    value[t * internalCount + pos] = forest.value[i]
                }
                stack.append((Int(forest.left[i]), 2 * pos + 1)); stack.append((Int(forest.left[i]) + 1, 2 * pos + 2))
            }
        }
        self.feature = feature
        self.value = value
        self.leaf = leaf
        self.valueFloat = value.map { v in
            var f = Float(v)
            if Double(f) > v { f = f.nextDown }  // NaN compares false: stays NaN
            return f
        }
        let valueFloat = self.valueFloat, trees = self.trees
        self.tiers = TreeWalk.avx2.isSupported
            ? feature.withUnsafeBufferPointer { f in
                valueFloat.withUnsafeBufferPointer { v in
                    leaf.withUnsafeBufferPointer { l in
                        ForestTiers(rtw_forest_float(feature: f.baseAddress, valueFloat: v.baseAddress, leaf: l.baseAddress,
                                                     trees: Int32(trees), depth: Int32(maxDepth)))
                    }
                }
            }
            : nil
        self.medians = layout.slots.map { $0.oneHot ? .nan : $0.median }
        self.normaliser = IsolationForest.averagePathLength(forest.maxSamples)
    }

    /// Whether one-row walks use the tiered copy of the nodes (for tests).
    var usesTiers: Bool { tiers != nil }

    /// Every test of a real node (pass-through nodes left out) as (schema feature, threshold or
    /// level, whether it is an indicator test): for tests that put values exactly on them.
    package var tests: [(feature: Int, value: Double, indicator: Bool)] {
        zip(feature, value).filter { !$0.1.isNaN }.map { (Int($0.0 & ~Self.levelFlag), $0.1, $0.0 & Self.levelFlag != 0) }
    }

    /// 1 when value `x` goes right at a node testing `code` against `value`: for an indicator
    /// test, `x == value` (the row has that level); otherwise `x > value`. (An explicitly
    /// branch-free form measured no faster here.)
    @inline(__always)
    static func goesRight(_ x: Double, _ value: Double, _ code: Int32) -> Int {
        (code & levelFlag != 0) ? (x == value ? 1 : 0) : (x <= value ? 0 : 1)
    }

    /// Scores `count` valid schema rows (row-major, one column per schema feature) into `out`;
    /// `scratch` holds at least `min(count, chunkRows) * features` values. Rows are imputed and
    /// walked `chunkRows` at a time (rounded down to a multiple of 8), so the input stays in
    /// cache whatever `count` is; every `walk` gives the same bits.
    public func score(rows: UnsafePointer<Double>, count: Int, scratch: UnsafeMutablePointer<Double>, into out: UnsafeMutablePointer<Double>,
                      walk: TreeWalk = .selected, chunkRows: Int = TreeWalk.chunkRows) {
        let m = medians.count
        let chunk = max(8, chunkRows - chunkRows % 8)
        let vector = walk.isVector && count >= 8
        // The imputed rows as floats for the vector float walk, filled in the same pass.
        // On the stack when small (a one-row request noticed each malloc), else the heap.
        withUnsafeTemporaryAllocation(of: Float.self, capacity: vector ? min(chunk, count) * m : 1) { floatArea in
        guard let floats = floatArea.baseAddress else { return }
        medians.withUnsafeBufferPointer { med in
        var start = 0
        while start < count {
            let n = min(chunk, count - start)
            let x = rows + start * m, sums = out + start
            var done = 0
            @inline(__always) func impute(_ rowRange: Range<Int>) {
                guard !rowRange.isEmpty, let medianBase = med.baseAddress else { return }
                rtw_impute_rows(x + rowRange.lowerBound * m, rowRange.count, m, medianBase, scratch + rowRange.lowerBound * m)
            }
            for r in 0..<n { sums[r] = 0 }
            if vector && n >= 8 {
                // Imputed as floats, checking that each is exact (NaN included), in one pass; the
                // doubles are written only for the rows the float walk leaves (or for all of them
                // when some value is not a float), so that a chunk's cache holds less.
                // In C (`vector` means AVX2): the Swift loop was not vectorised, about 16
                // instructions a value, a tenth of a 100,000-row SCORE's.
                let exact = med.baseAddress.map { rtw_impute_floats_avx2(x, n, m, $0, floats) == 1 } ?? true
                if exact { done = floatWalk(floats, count: n, into: sums, walk: walk) }
                impute(done..<n)
            } else {
                impute(0..<n)
            }
            if walk.isVector && n >= 8 && done == 0 {
                done = feature.withUnsafeBufferPointer { f in
                    value.withUnsafeBufferPointer { v in
                        leaf.withUnsafeBufferPointer { l in
                            var forest = rtw_forest(feature: f.baseAddress, value: v.baseAddress, leaf: l.baseAddress,
                                                    trees: Int32(trees), depth: Int32(depth))
                            return walk == .avx512 ? rtw_forest_add_avx512(&forest, scratch, n, m, sums, chunk)
                                                   : rtw_forest_add_avx2(&forest, scratch, n, m, sums, chunk)
                        }
                    }
                }
            }
            if done < n && walk.isVector {
                // The rows the vector walks leave (all of them below eight rows), one at a time
                // in C: a row whose imputed values are all floats with its trees in the lanes of
                // vectors, on the tiered copy of the nodes (``ForestTiers``; about half the time
                // of the next), any other eight trees together (about a third of the Swift
                // walk's instructions).
                done += rowWalk(scratch + done * m, count: n - done, into: sums + done)
            }
            if done < n { scalarWalk(scratch + done * m, count: n - done, into: sums + done) }
            start += n
        }
        }
        }
        // Same arithmetic as IsolationForest.score: sum in tree order, mean, then 2^(-h/c) by
        // exp2. Not pow(2, x): optimised builds turn that into exp2, unoptimised ones do not,
        // and the two differ in the last bit, so a debug and a release build would disagree.
        for r in 0..<count { out[r] = Foundation.exp2(-(out[r] / Double(trees)) / normaliser) }
    }

    /// The vector walk over floats (sixteen rows per vector for `avx512`, then eight), for
    /// `count` imputed rows whose every value is a float (NaN included), given as floats: then
    /// each comparison has the same answer as in doubles (see ``valueFloat``). Returns the rows done.
    private func floatWalk(_ rows: UnsafePointer<Float>, count: Int, into out: UnsafeMutablePointer<Double>, walk: TreeWalk) -> Int {
        let m = medians.count
        return feature.withUnsafeBufferPointer { f in
            valueFloat.withUnsafeBufferPointer { v in
                leaf.withUnsafeBufferPointer { l in
                    var forest = rtw_forest_float(feature: f.baseAddress, valueFloat: v.baseAddress, leaf: l.baseAddress,
                                                  trees: Int32(trees), depth: Int32(depth))
                    var done = walk == .avx512 ? rtw_forest_add_float_avx512(&forest, rows, count, m, out) : 0
                    if count - done >= 8 { done += rtw_forest_add_float_avx2(&forest, rows + done * m, count - done, m, out + done) }
                    return done
                }
            }
        }
    }

    /// The C row walks for `count` imputed rows (see ``score(rows:count:scratch:into:walk:chunkRows:)``);
    /// returns the rows done (all of them, or 0 for a depth the C walks refuse). Internal: tests
    /// compare it with ``scalarWalk(_:count:into:)`` on rows that imputation would have changed.
    func rowWalk(_ rows: UnsafeMutablePointer<Double>, count: Int, into out: UnsafeMutablePointer<Double>) -> Int {
        let m = medians.count
        return feature.withUnsafeBufferPointer { f in
            value.withUnsafeBufferPointer { v in
                leaf.withUnsafeBufferPointer { l in
                    var forest = rtw_forest(feature: f.baseAddress, value: v.baseAddress, leaf: l.baseAddress,
                                            trees: Int32(trees), depth: Int32(depth))
                    return withUnsafeTemporaryAllocation(of: Float.self, capacity: m) { row in
                        guard let rowBase = row.baseAddress else { return 0 }
                        var done = 0
                        for r in 0..<count {
                            let x = rows + r * m
                            if let tiers, rtw_row_floats(x, m, rowBase) == 1 && tiers.addRow(rowBase, columns: m, onto: out + r) {
                                done += 1
                            } else if rtw_forest_add_rows(&forest, x, 1, m, out + r) == 1 {
                                done += 1
                            } else {
                                break
                            }
                        }
                        return done
                    }
                }
            }
        }
    }

    /// The reference walk: adds each tree's path length, in tree order, onto `out` (zeroed) for
    /// `count` imputed rows.
    func scalarWalk(_ scratch: UnsafeMutablePointer<Double>, count: Int, into out: UnsafeMutablePointer<Double>) {
        let m = medians.count
        let depth = self.depth, internalCount = self.internalCount, leafCount = self.leafCount
        feature.withUnsafeBufferPointer { fAll in
            value.withUnsafeBufferPointer { vAll in
                leaf.withUnsafeBufferPointer { lAll in
                    guard let fb = fAll.baseAddress, let vb = vAll.baseAddress, let lb = lAll.baseAddress else { return }
                    for t in 0..<trees {
                        let f = fb + t * internalCount, v = vb + t * internalCount, l = lb + t * leafCount
                        @inline(__always) func right(_ x: UnsafePointer<Double>, _ i: Int) -> Int {
                            let code = f[i]
                            return Self.goesRight(x[Int(code & ~Self.levelFlag)], v[i], code)
                        }
                        // Eight rows walk the tree together: independent loads overlap.
                        var r = 0
                        while r + 8 <= count {
                            let x = UnsafePointer(scratch + r * m)
                            var i = (0, 0, 0, 0, 0, 0, 0, 0)
                            for _ in 0..<depth {
                                i.0 = 2 * i.0 + 1 + right(x, i.0)
                                i.1 = 2 * i.1 + 1 + right(x + m, i.1)
                                i.2 = 2 * i.2 + 1 + right(x + 2 * m, i.2)
                                i.3 = 2 * i.3 + 1 + right(x + 3 * m, i.3)
                                i.4 = 2 * i.4 + 1 + right(x + 4 * m, i.4)
                                i.5 = 2 * i.5 + 1 + right(x + 5 * m, i.5)
                                i.6 = 2 * i.6 + 1 + right(x + 6 * m, i.6)
                                i.7 = 2 * i.7 + 1 + right(x + 7 * m, i.7)
                            }
                            out[r] += l[i.0 - internalCount]; out[r + 1] += l[i.1 - internalCount]
                            out[r + 2] += l[i.2 - internalCount]; out[r + 3] += l[i.3 - internalCount]
                            out[r + 4] += l[i.4 - internalCount]; out[r + 5] += l[i.5 - internalCount]
                            out[r + 6] += l[i.6 - internalCount]; out[r + 7] += l[i.7 - internalCount]
                            r += 8
                        }
                    }
                    // The last rows (all of them for a single-row request) walk eight trees at a
                    // time instead; path lengths are still added in tree order (same sum to the bit).
                    @inline(__always) func right(_ t: Int, _ x: UnsafePointer<Double>, _ i: Int) -> Int {
                        let code = fb[t * internalCount + i]
                        return Self.goesRight(x[Int(code & ~Self.levelFlag)], vb[t * internalCount + i], code)
                    }
                    @inline(__always) func leaf(_ t: Int, _ i: Int) -> Double { lb[t * leafCount + i - internalCount] }
                    for r in (count - count % 8)..<count {
                        let x = UnsafePointer(scratch + r * m)
                        var sum = 0.0, t = 0
                        while t + 8 <= trees {
                            var i = (0, 0, 0, 0, 0, 0, 0, 0)
                            for _ in 0..<depth {
                                i.0 = 2 * i.0 + 1 + right(t, x, i.0)
                                i.1 = 2 * i.1 + 1 + right(t + 1, x, i.1)
                                i.2 = 2 * i.2 + 1 + right(t + 2, x, i.2)
                                i.3 = 2 * i.3 + 1 + right(t + 3, x, i.3)
                                i.4 = 2 * i.4 + 1 + right(t + 4, x, i.4)
                                i.5 = 2 * i.5 + 1 + right(t + 5, x, i.5)
                                i.6 = 2 * i.6 + 1 + right(t + 6, x, i.6)
                                i.7 = 2 * i.7 + 1 + right(t + 7, x, i.7)
                            }
                            sum += leaf(t, i.0); sum += leaf(t + 1, i.1); sum += leaf(t + 2, i.2); sum += leaf(t + 3, i.3)
                            sum += leaf(t + 4, i.4); sum += leaf(t + 5, i.5); sum += leaf(t + 6, i.6); sum += leaf(t + 7, i.7)
                            t += 8
                        }
                        while t < trees {
                            var i = 0
                            for _ in 0..<depth { i = 2 * i + 1 + right(t, x, i) }
                            sum += leaf(t, i)
                            t += 1
                        }
                        out[r] = sum
                    }
                }
            }
        }
    }
}
