import CTreeWalk
import Foundation
import XCTest

@testable import ReadmitCore
@testable import ReadmitModelFile
@testable import ReadmitModels
import ReadmitTables

/// Every tree walk this CPU supports (``TreeWalk/supported``) against the Swift reference walk
/// (`.scalar`): the same bits for the booster's margins, the forest's scores and the whole served
/// result, on data rows and on edge rows (all missing, NaN, +-inf, values exactly on each
/// threshold and one float step either side), for row counts that are and are not multiples of
/// eight and for several chunk sizes.
final class TreeWalkTests: XCTestCase {
    /// Fails naming the first row whose bits differ (and how many differ).
    private func assertSameBits(_ got: [UInt64], _ expected: ArraySlice<UInt64>, _ what: String, line: UInt = #line) {
        XCTAssertEqual(got.count, expected.count, "\(what): row count", line: line)
        let differing = zip(got, expected).enumerated().filter { $0.element.0 != $0.element.1 }
        if let first = differing.first {
            XCTFail("\(what): \(differing.count) of \(got.count) rows differ; first row \(first.offset): \(Double(bitPattern: first.element.0)) instead of \(Double(bitPattern: first.element.1))", line: line)
        }
    }

    /// The CPU's flags as the kernel reports them (Linux), so that a machine with AVX2 cannot
    /// silently test the scalar walk alone.
    private func cpuHas(_ flag: String) -> Bool? {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let flags = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return nil }
        return flags.split(separator: " ").contains(Substring(flag))
    }

    func testSupportedWalksFollowTheCPU() throws {
        XCTAssertEqual(TreeWalk.supported.first, .scalar, "the reference walk is always supported")
        #if arch(x86_64)
        if let avx2 = cpuHas("avx2"), let avx512 = cpuHas("avx512f") {
            XCTAssertEqual(TreeWalk.supported.contains(.avx2), avx2, "the AVX2 walk's availability should follow /proc/cpuinfo")
            XCTAssertEqual(TreeWalk.supported.contains(.avx512), avx2 && avx512, "the AVX-512 walk's availability should follow /proc/cpuinfo")
            // The default by vendor (TreeWalk.best: the AVX-512 walk was faster only on Intel's).
            if let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
               let vendor = text.split(separator: "\n").first(where: { $0.hasPrefix("vendor_id") }) {
                let intel = vendor.hasSuffix("GenuineIntel")
                XCTAssertEqual(TreeWalk.best, intel && avx2 && avx512 ? .avx512 : (avx2 ? .avx2 : .scalar),
                               "the default walk for \(vendor) with avx2 \(avx2), avx512f \(avx512)")
            }
        }
        #endif
        print("tree walks supported here: \(TreeWalk.supported.map(\.rawValue)); selected: \(TreeWalk.selected.rawValue)")
    }

    func testEnvironmentValuesAreResolvedOrRefusedByName() throws {
        XCTAssertEqual(try TreeWalk.resolve("scalar"), .scalar)
        XCTAssertEqual(try TreeWalk.resolve(nil), TreeWalk.best)
        XCTAssertEqual(try TreeWalk.resolve("auto"), TreeWalk.best)
        XCTAssertThrowsError(try TreeWalk.resolve("avx9")) { error in
            XCTAssertTrue("\(error)".contains("READMIT_TREE_WALK=avx9"), "\(error)")
        }
        for walk in [TreeWalk.avx2, .avx512] {
            if walk.isSupported {
                XCTAssertEqual(try TreeWalk.resolve(walk.rawValue), walk)
            } else {
                XCTAssertThrowsError(try TreeWalk.resolve(walk.rawValue))
            }
        }
    }

    /// Rows all missing, all +inf, all -inf, then rows that give each column its values in turn
    /// (`perColumn[j]`), every third of them with some columns missing or infinite instead.
    private func edgeRows(_ perColumn: [[Double]], period: Int) -> [Double] {
        let columns = perColumn.count
        let longest = max(1, perColumn.map(\.count).max() ?? 1)
        var x: [Double] = []
        x += [Double](repeating: .nan, count: columns)
        x += [Double](repeating: .infinity, count: columns)
        x += [Double](repeating: -.infinity, count: columns)
        for k in 0..<longest {
            for j in 0..<columns {
                let values = perColumn[j]
                switch (k + j) % period {
                case 0 where k % 3 == 2: x.append(.nan)
                case 1 where k % 3 == 2: x.append(k % 2 == 0 ? .infinity : -.infinity)
                default: x.append(values.isEmpty ? .nan : values[k % values.count])
                }
            }
        }
        return x
    }

    /// Booster input rows whose values sit exactly on every split (and one float step either side,
    /// and a double just below the split that rounds to it as a float), mixed with missing and
    /// infinite values, plus rows all missing, all +inf, all -inf.
    private func boosterEdgeRows(_ compiled: CompiledBooster, columns: Int) -> [Double] {
        var perColumn = [[Double]](repeating: [], count: columns)
        for (f, s) in compiled.splits where f < columns {
            let d = Double(s)
            perColumn[f] += [d, Double(s.nextUp), Double(s.nextDown), d.nextDown, d.nextUp]
        }
        // Both zeros everywhere: the key walk maps -0 to +0 before comparing.
        for j in 0..<columns { perColumn[j] += [-0.0, 0.0] }
        return edgeRows(perColumn, period: 9)
    }

    /// Margins of `rows` rows by `walk` and chunk size.
    private func margins(_ compiled: CompiledBooster, _ x: [Double], rows: Int, columns: Int, walk: TreeWalk, chunkRows: Int) -> [UInt64] {
        var out = [Double](repeating: 0, count: rows)
        x.withUnsafeBufferPointer { xb in
            out.withUnsafeMutableBufferPointer { o in
                compiled.margins(xb.baseAddress!, count: rows, columns: columns, into: o.baseAddress!, walk: walk, chunkRows: chunkRows)
            }
        }
        return out.map(\.bitPattern)
    }

    func testBoosterWalksGiveTheReferenceBits() throws {
        let (result, model, _) = try TestSupport.smallModel.get()
        let compiled = try CompiledBooster(json: try XGBoostBooster(serialized: result.parameters.boosterBytes).jsonModel())
        let columns = result.parameters.schema.count + 2
        XCTAssertGreaterThan(compiled.splits.count, 100, "the fixture booster should have splits to test")
        // Data rows (with a share of values made missing), as the served path builds them.
        let dir = TestSupport.temporaryDirectory()
        var data = try TestSupport.encode(try TestSupport.subsetCSV(rows: 603, in: dir), schema: result.parameters.schema)
        for i in stride(from: 0, to: data.values.count, by: 13) { data.values[i] = .nan }
        let input = try data.values.withUnsafeBufferPointer { try model.boosterInput($0, rows: data.rows) }
        let edge = boosterEdgeRows(compiled, columns: columns)
        for (name, x) in [("data rows", input), ("edge rows", edge)] {
            let rows = x.count / columns
            XCTAssertGreaterThan(rows, 20, name)
            let reference = margins(compiled, x, rows: rows, columns: columns, walk: .scalar, chunkRows: 512)
            XCTAssertGreaterThan(Set(reference).count, rows / 10, "\(name): the rows should reach different leaves")
            for walk in TreeWalk.supported {
                for chunk in [8, 24, 512, 100_000] {
                    for count in [rows, rows - 1, 13, 8, 7, 1] where count <= rows {
                        let got = margins(compiled, x, rows: count, columns: columns, walk: walk, chunkRows: chunk)
                        assertSameBits(got, reference[0..<count], "\(name): \(walk) walk, chunk \(chunk), \(count) rows")
                    }
                }
            }
        }
    }

    /// Schema rows with each forest test's value exactly (numeric thresholds, one step either
    /// side; indicator levels), mixed with missing and infinite values.
    private func forestEdgeRows(_ compiled: CompiledForest, columns: Int) -> [Double] {
        var perColumn = [[Double]](repeating: [], count: columns)
        for (f, v, indicator) in compiled.tests where f < columns {
            perColumn[f] += indicator ? [v, v + 1] : [v, v.nextUp, v.nextDown]
        }
        return edgeRows(perColumn, period: 7)
    }

    /// As ``forestEdgeRows(_:columns:)`` with float values only (each threshold's nearest float,
    /// the floats either side of it, levels, NaN, +-inf): rows the AVX2 walk compares in floats.
    private func forestFloatEdgeRows(_ compiled: CompiledForest, columns: Int) -> [Double] {
        var perColumn = [[Double]](repeating: [], count: columns)
        for (f, v, indicator) in compiled.tests where f < columns {
            let near = Float(v)
            perColumn[f] += indicator ? [v, v + 1] : [Double(near), Double(near.nextUp), Double(near.nextDown)]
        }
        return edgeRows(perColumn, period: 7)
    }

    private func forestScores(_ compiled: CompiledForest, _ x: [Double], rows: Int, columns: Int, walk: TreeWalk, chunkRows: Int) -> [UInt64] {
        var out = [Double](repeating: 0, count: rows)
        var scratch = [Double](repeating: 0, count: rows * columns)
        x.withUnsafeBufferPointer { xb in
            out.withUnsafeMutableBufferPointer { o in
                scratch.withUnsafeMutableBufferPointer { s in
                    compiled.score(rows: xb.baseAddress!, count: rows, scratch: s.baseAddress!, into: o.baseAddress!, walk: walk, chunkRows: chunkRows)
                }
            }
        }
        return out.map(\.bitPattern)
    }

    func testForestWalksGiveTheReferenceBits() throws {
        let (result, _, _) = try TestSupport.smallModel.get()
        let p = result.parameters
        let compiled = CompiledForest(forest: p.forest, layout: p.layout)
        let columns = p.schema.count
        XCTAssertGreaterThan(compiled.tests.count, 100, "the fixture forest should have tests")
        XCTAssertTrue(compiled.tests.contains { $0.indicator } && compiled.tests.contains { !$0.indicator },
                      "the fixture forest should test both levels and numbers")
        let dir = TestSupport.temporaryDirectory()
        var data = try TestSupport.encode(try TestSupport.subsetCSV(rows: 603, in: dir), schema: p.schema)
        for i in stride(from: 0, to: data.values.count, by: 7) { data.values[i] = .nan }
        // The reference itself is checked against the fitted forest on the expanded rows.
        let fitted = p.forest.score(p.layout.expand(data, imputed: true)).map(\.bitPattern)
        XCTAssertEqual(forestScores(compiled, data.values, rows: data.rows, columns: columns, walk: .scalar, chunkRows: 512), fitted)
        let edge = forestEdgeRows(compiled, columns: columns)
        let floatEdge = forestFloatEdgeRows(compiled, columns: columns)
        // The AVX2 walk compares rows whose values are all floats in floats, others in doubles:
        // the data and the float edge rows take the first, the edge rows (a double step either
        // side of each threshold) the second.
        func allFloats(_ x: [Double]) -> Bool { x.allSatisfy { $0.isNaN || Double(Float($0)) == $0 } }
        XCTAssertTrue(allFloats(data.values) && allFloats(floatEdge), "the data and float edge rows should hold floats only")
        XCTAssertFalse(allFloats(edge), "the edge rows should hold values between floats")
        for (name, x) in [("data rows", data.values), ("edge rows", edge), ("float edge rows", floatEdge)] {
            let rows = x.count / columns
            XCTAssertGreaterThan(rows, 20, name)
            let reference = forestScores(compiled, x, rows: rows, columns: columns, walk: .scalar, chunkRows: 512)
            XCTAssertGreaterThan(Set(reference).count, rows / 10, "\(name): the rows should reach different leaves")
            for walk in TreeWalk.supported {
                for chunk in [8, 24, 512, 100_000] {
                    for count in [rows, rows - 1, 13, 8, 7, 1] where count <= rows {
                        let got = forestScores(compiled, x, rows: count, columns: columns, walk: walk, chunkRows: chunk)
                        assertSameBits(got, reference[0..<count], "\(name): \(walk) walk, chunk \(chunk), \(count) rows")
                    }
                }
            }
        }
    }

    /// The C row walks (a float-exact row's trees in vector lanes, any other row eight trees
    /// together) add the reference walk's bits for every row alone, also on values imputation
    /// never leaves (NaN, +-inf) and on each threshold's nearest floats and doubles.
    func testRowWalksGiveTheReferenceBitsOnEveryValue() throws {
        guard TreeWalk.avx2.isSupported else { throw XCTSkip("no AVX2 on this CPU: the row walks are not used") }
        let (result, _, _) = try TestSupport.smallModel.get()
        let p = result.parameters
        let compiled = CompiledForest(forest: p.forest, layout: p.layout)
        let columns = p.schema.count
        for (name, rows) in [("float edge rows", forestFloatEdgeRows(compiled, columns: columns)), ("edge rows", forestEdgeRows(compiled, columns: columns))] {
            var x = rows
            XCTAssertTrue(x.contains { $0.isNaN } || name == "edge rows", name)
            let n = x.count / columns
            var reference = [Double](repeating: 0, count: n), got = [Double](repeating: 0, count: n)
            x.withUnsafeMutableBufferPointer { xb in
                reference.withUnsafeMutableBufferPointer { compiled.scalarWalk(xb.baseAddress!, count: n, into: $0.baseAddress!) }
                got.withUnsafeMutableBufferPointer { XCTAssertEqual(compiled.rowWalk(xb.baseAddress!, count: n, into: $0.baseAddress!), n, name) }
            }
            XCTAssertGreaterThan(Set(reference).count, n / 10, "\(name): the rows should reach different leaves")
            if let r = (0..<n).first(where: { got[$0].bitPattern != reference[$0].bitPattern }) {
                XCTFail("\(name): row \(r) of \(n): \(got[r]) instead of \(reference[r])")
            }
        }
    }

    /// A forest of `trees` random trees exactly `depth` deep on `layout`'s expanded columns:
    /// thresholds taken from `expanded`'s values (so rows go both ways), indicator tests at 0.5,
    /// some leaves above the bottom (pass-through nodes in the compiled form), and every leaf a
    /// different path length, so a row that reached a wrong leaf shows in its sum.
    private func randomForest(trees: Int, depth: Int, expanded: FeatureMatrix, seed: UInt64) -> IsolationForest {
        var random = SplitMix64(seed: seed)
        var feature = [Int32](), value = [Double](), left = [Int32](), roots = [Int32]()
        var leafValue = 1.0
        func node(_ level: Int) -> Int {
            let i = feature.count
            feature.append(-1); value.append(0); left.append(0)
            // The root always splits and one path always reaches `depth`; other nodes stop early
            // one time in eight.
            if level == depth || (level > 0 && Int.random(in: 0..<8, using: &random) == 0) {
                value[i] = leafValue
                leafValue += 0.001953125 * Double(Int.random(in: 1...7, using: &random))
                return i
            }
            let c = Int.random(in: 0..<expanded.columns, using: &random)
            feature[i] = Int32(c)
            value[i] = expanded.values[Int.random(in: 0..<expanded.rows, using: &random) * expanded.columns + c]
            // Children at consecutive indexes: reserve both, then fill them depth first.
            let l = feature.count
            left[i] = Int32(l)
            feature += [-1, -1]; value += [0, 0]; left += [0, 0]
            fill(l, level + 1); fill(l + 1, level + 1)
            return i
        }
        func fill(_ at: Int, _ level: Int) {
            // Builds a subtree elsewhere and moves its root into the reserved slot `at`.
            let built = node(level)
            feature[at] = feature[built]; value[at] = value[built]; left[at] = left[built]
        }
        for t in 0..<trees {
            // The first tree reaches the full depth down its leftmost path.
            let root = node(0)
            if t == 0 {
                var i = root, level = 0
                while level < depth {
                    if feature[i] < 0 {
                        feature[i] = 0; value[i] = expanded.values[0]
                        left[i] = Int32(feature.count)
                        feature += [-1, -1]; value += [leafValue, leafValue + 0.5]; left += [0, 0]
                        leafValue += 1
                    }
                    i = Int(left[i]); level += 1
                }
            }
            roots.append(Int32(root))
        }
        return IsolationForest(columns: expanded.columns, maxSamples: 256, feature: feature, value: value, left: left, roots: roots)
    }

    /// The one-row walk on its tiered copy of the nodes (``ForestTiers``) at depths 1 to 10 (the
    /// last tier holding one, two or three levels), with forests of fewer trees than a round of
    /// 32 and more (so the lanes and the one-at-a-time trees both run): the reference walk's
    /// bits on data rows and on float edge rows (NaN, +-inf, each threshold's nearest floats).
    func testTieredRowWalkGivesTheReferenceBitsAtEveryDepth() throws {
        guard TreeWalk.avx2.isSupported else { throw XCTSkip("no AVX2 on this CPU: the row walks are not used") }
        let (result, _, _) = try TestSupport.smallModel.get()
        let p = result.parameters
        let columns = p.schema.count
        let dir = TestSupport.temporaryDirectory()
        let data = try TestSupport.encode(try TestSupport.subsetCSV(rows: 300, in: dir), schema: p.schema)
        let expanded = p.layout.expand(data, imputed: true)
        for (depth, trees) in [(1, 5), (2, 37), (3, 3), (4, 70), (5, 33), (6, 40), (7, 9), (8, 100), (9, 64), (10, 35)] {
            let forest = randomForest(trees: trees, depth: depth, expanded: expanded, seed: UInt64(depth))
            let compiled = CompiledForest(forest: forest, layout: p.layout)
            let name = "\(trees) trees of depth \(compiled.depth)"
            XCTAssertEqual(compiled.depth, depth, name)
            XCTAssertTrue(compiled.usesTiers, "\(name): the tiered copy should be made")
            // Not imputed: the walks must agree on values imputation never leaves too (NaN).
            var x = data.values + forestFloatEdgeRows(compiled, columns: columns)
            let n = x.count / columns
            var reference = [Double](repeating: 0, count: n), got = [Double](repeating: 0, count: n)
            x.withUnsafeMutableBufferPointer { xb in
                reference.withUnsafeMutableBufferPointer { compiled.scalarWalk(xb.baseAddress!, count: n, into: $0.baseAddress!) }
                got.withUnsafeMutableBufferPointer { XCTAssertEqual(compiled.rowWalk(xb.baseAddress!, count: n, into: $0.baseAddress!), n, name) }
            }
            XCTAssertGreaterThan(Set(reference).count, min(n / 10, 1 << depth), "\(name): the rows should reach different leaves")
            if let r = (0..<n).first(where: { got[$0].bitPattern != reference[$0].bitPattern }) {
                XCTFail("\(name): row \(r) of \(n): \(got[r]) instead of \(reference[r])")
            }
        }
    }

    /// The whole served result (risk, interval, atypicality, tier) by every walk, on data rows
    /// and all-missing rows.
    func testServedScoresAreTheSameByEveryWalk() throws {
        let (result, model, _) = try TestSupport.smallModel.get()
        let dir = TestSupport.temporaryDirectory()
        var x = try TestSupport.encode(try TestSupport.subsetCSV(rows: 517, in: dir), schema: result.parameters.schema)
        for i in stride(from: 0, to: x.values.count, by: 11) { x.values[i] = .nan }
        for j in 0..<x.columns { x.values[5 * x.columns + j] = .nan }  // one row all missing
        let reference = try model.score(x, interval: true, walk: .scalar)
        XCTAssertGreaterThan(Set(reference.risk).count, x.rows / 4, "the rows should not share a risk")
        for walk in TreeWalk.supported {
            let got = try model.score(x, interval: true, walk: walk)
            XCTAssertEqual(got.risk.map(\.bitPattern), reference.risk.map(\.bitPattern), "\(walk): risk")
            XCTAssertEqual(got.atypicality.map(\.bitPattern), reference.atypicality.map(\.bitPattern), "\(walk): atypicality")
            XCTAssertEqual(got.tier, reference.tier, "\(walk): tier")
            XCTAssertEqual(got.intervalLow.map(\.bitPattern), reference.intervalLow.map(\.bitPattern), "\(walk): interval low")
            XCTAssertEqual(got.intervalHigh.map(\.bitPattern), reference.intervalHigh.map(\.bitPattern), "\(walk): interval high")
        }
    }

    /// The key walk's comparison against the reference rule on every pair of edge values: one
    /// node (feature 0, split s, missing going left or right) whose two leaves say which way
    /// each row went. Values: both zeros, +-inf, NaN (both signs), the smallest subnormal and
    /// normal floats, the largest float, doubles that round to a float or overflow to inf, and
    /// 1 with its neighbours; splits: the same floats, NaN included.
    func testKeyWalkComparesAsTheReferenceOnEdgeValues() throws {
        guard TreeWalk.avx2.isSupported else { throw XCTSkip("no AVX2 on this CPU") }
        let floats: [Float] = [0, -0.0, .infinity, -.infinity, .nan, -Float.nan, .leastNonzeroMagnitude, -.leastNonzeroMagnitude,
                               .leastNormalMagnitude, -.leastNormalMagnitude, .greatestFiniteMagnitude, -.greatestFiniteMagnitude,
                               1, Float(1).nextUp, Float(1).nextDown, -1, Float(-1).nextUp, Float(-1).nextDown, 0.5, -2.5e-20]
        var values = floats.map(Double.init)
        values += [(1.0).nextUp, (1.0).nextDown, 1e300, -1e300, Double.leastNonzeroMagnitude, -Double.leastNonzeroMagnitude]
        for split in floats {
            for defaultRight in [false, true] {
                let feature: [Int32] = [defaultRight ? CompiledBooster.defaultRightFlag : 0]
                var node: [Int32] = [0], threshold: [Int32] = [0]
                rtw_booster_keys(feature, [split], 1, &node, &threshold)
                let leaf: [Float] = [0, 1]
                // Each value for 8 rows in a row group of its own (two columns: the second unused),
                // so that a row count not a multiple of 8 is also covered.
                let rows = values.count * 8 + 5
                var x = [Double](repeating: 7, count: rows * 2)
                for r in 0..<rows { x[2 * r] = values[(r / 8) % values.count] }
                for walk in TreeWalk.supported where walk.isVector {
                    var acc = [Float](repeating: 0, count: rows)
                    var scratch = [Int32](repeating: 0, count: 2 * rows * 2)
                    let done = node.withUnsafeBufferPointer { n in
                        threshold.withUnsafeBufferPointer { th in
                            leaf.withUnsafeBufferPointer { l in
                                var b = rtw_booster(node: n.baseAddress, threshold: th.baseAddress, leaf: l.baseAddress, trees: 1, depth: 1)
                                return walk == .avx512 ? rtw_booster_add_avx512(&b, x, rows, 2, &acc, &scratch, 16)
                                                       : rtw_booster_add_avx2(&b, x, rows, 2, &acc, &scratch, 16)
                            }
                        }
                    }
                    XCTAssertEqual(done, rows - rows % (walk == .avx512 ? 16 : 8), "\(walk)")
                    for r in 0..<done {
                        let v = Float(x[2 * r])
                        let right = CompiledBooster.goesRight(v, split, feature[0])
                        XCTAssertEqual(acc[r], Float(right), "\(walk): value \(x[2 * r]) against split \(split), missing goes \(defaultRight ? "right" : "left")")
                    }
                }
            }
        }
    }
}
