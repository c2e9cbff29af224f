import Foundation
import XCTest

@testable import ReadmitCore
@testable import ReadmitModelFile
@testable import ReadmitModels

/// ``CompiledRowWork`` (the served path's flat per-row work) against the code it stands in for:
/// the layout's booster columns and the detector's score to the bit, and the validity check
/// against the per-value rule, on data rows and edge values.
final class CompiledRowWorkTests: XCTestCase {
    /// Per feature: values at and around every edge of the validity rule and of the detector's
    /// bins (both zeros, NaN, +-inf, each level and its neighbours, each bin edge and a double
    /// either side, values outside the training range).
    private func edgeValues(_ p: ModelParameters) -> [[Double]] {
        p.schema.features.enumerated().map { j, spec in
            var v: [Double] = [.nan, 0, -0.0, .infinity, -.infinity, 0.5, -0.5, -1, (-1.0).nextUp, 1e300, -1e300]
            if spec.kind == .categorical {
                let n = Double(spec.levels.count)
                v += [n - 1, n, n + 1, (n - 1).nextUp, (n - 1).nextDown] + (0..<spec.levels.count).map(Double.init)
            }
            let h = p.detector.histograms[j]
            for b in 0...h.cost.count {
                let edge = h.low + Double(b) * h.width
                v += [edge, edge.nextUp, edge.nextDown]
            }
            return v
        }
    }

    func testFlatRowWorkGivesTheSameBitsAsTheLayoutAndTheDetector() throws {
        let (result, model, _) = try TestSupport.smallModel.get()
        let p = result.parameters, m = p.schema.count
        let work = model.rowWork
        let dir = TestSupport.temporaryDirectory()
        var data = try TestSupport.encode(try TestSupport.subsetCSV(rows: 401, in: dir), schema: p.schema)
        for i in stride(from: 0, to: data.values.count, by: 9) { data.values[i] = .nan }
        // Valid edge rows: each feature's valid edge values in turn.
        let edges = edgeValues(p)
        let longest = edges.map(\.count).max() ?? 0
        var edgeRows: [Double] = []
        for k in 0..<longest {
            for j in 0..<m {
                let valid = edges[j].filter { v in
                    v.isNaN || (v.isFinite && (p.schema.features[j].kind != .categorical ||
                                                (v >= 0 && v < Double(p.schema.features[j].levels.count) && v == v.rounded(.down))))
                }
                edgeRows.append(valid[(k + j) % valid.count])
            }
        }
        for (name, x) in [("data rows", data.values), ("edge rows", edgeRows)] {
            let rows = x.count / m
            XCTAssertGreaterThan(rows, 10, name)
            try x.withUnsafeBufferPointer { xb in
                XCTAssertTrue(work.allValid(xb.baseAddress!, rows: rows), "\(name) are valid")
                XCTAssertNoThrow(try model.validate(xb, rows: rows), name)
                var flat = [Double](repeating: 0, count: m), reference = flat
                var distinctScores = Set<UInt64>()
                for r in 0..<rows {
                    let row = xb.baseAddress! + r * m
                    p.layout.boosterRow(row, into: &reference)
                    for walk in TreeWalk.supported {  // the portable loop and the AVX2 gathers
                        work.boosterRow(row, into: &flat, walk: walk)
                        XCTAssertEqual(flat.map(\.bitPattern), reference.map(\.bitPattern), "\(name): row \(r) booster columns, \(walk)")
                    }
                    let score = work.detectorScore(row), expected = p.detector.score(row)
                    XCTAssertEqual(score.bitPattern, expected.bitPattern, "\(name): row \(r) detector score \(score) instead of \(expected)")
                    distinctScores.insert(expected.bitPattern)
                }
                XCTAssertGreaterThan(distinctScores.count, rows / 10, "\(name): the rows should score differently")
                // Four rows side by side (in the lanes of a vector for the AVX2 loop), then the
                // rest one by one: every count, written with a stride, by each loop.
                for walk in TreeWalk.supported {
                    for count in [rows, rows - 1, rows - 2, rows - 3, 5, 3, 1] {
                        var batch = [Double](repeating: -1, count: 2 * count)
                        work.detectorScores(xb.baseAddress!, count: count, into: &batch, outStride: 2, walk: walk)
                        for r in 0..<count {
                            XCTAssertEqual(batch[2 * r].bitPattern, p.detector.score(xb.baseAddress! + r * m).bitPattern, "\(name): \(count) rows, row \(r), \(walk)")
                            XCTAssertEqual(batch[2 * r + 1], -1, "\(name): the stride's gaps stay untouched")
                        }
                    }
                    // The booster's columns of every row at once, with a stride.
                    var columns = [Double](repeating: -1, count: rows * (m + 1))
                    work.boosterRows(xb.baseAddress!, count: rows, into: &columns, stride: m + 1, walk: walk)
                    var reference = [Double](repeating: 0, count: m)
                    for r in 0..<rows {
                        p.layout.boosterRow(xb.baseAddress! + r * m, into: &reference)
                        XCTAssertEqual(columns[(r * (m + 1))..<(r * (m + 1) + m)].map(\.bitPattern), reference.map(\.bitPattern), "\(name): row \(r) of all, \(walk)")
                        XCTAssertEqual(columns[r * (m + 1) + m], -1, "\(name): the stride's gap stays untouched")
                    }
                }
            }
        }
    }

    /// Every edge value of every feature, alone in an otherwise valid row: the branch-free check
    /// agrees with the per-value rule, and the model's validation names that row and feature.
    func testValidityCheckFollowsThePerValueRule() throws {
        let (result, model, _) = try TestSupport.smallModel.get()
        let p = result.parameters, m = p.schema.count
        let base = [Double](repeating: .nan, count: m)
        var checked = 0, invalid = 0
        for (j, values) in edgeValues(p).enumerated() {
            let spec = p.schema.features[j]
            for v in values {
                var rows = base + base + base
                rows[m + j] = v  // the middle row
                let expected = v.isNaN || (v.isFinite && (spec.kind != .categorical ||
                                                          (v >= 0 && v < Double(spec.levels.count) && v == v.rounded(.down))))
                try rows.withUnsafeBufferPointer { xb in
                    for walk in TreeWalk.supported {  // the portable loop and the AVX2 one
                        XCTAssertEqual(model.rowWork.allValid(xb.baseAddress!, rows: 3, walk: walk), expected, "feature \(j) (\(spec.kind)) value \(v), \(walk)")
                    }
                    if expected {
                        XCTAssertNoThrow(try model.validate(xb, rows: 3))
                    } else {
                        invalid += 1
                        XCTAssertThrowsError(try model.validate(xb, rows: 3)) { error in
                            guard let e = error as? FeatureVectorError else { return XCTFail("\(error)") }
                            XCTAssertEqual(e.code, v.isFinite ? .badCategory : .notFinite, "feature \(j) value \(v)")
                            XCTAssertEqual(e.row, 1)
                            XCTAssertEqual(e.feature, j)
                        }
                    }
                }
                checked += 1
            }
        }
        XCTAssertGreaterThan(invalid, m, "the edge values should include invalid ones for every feature")
        XCTAssertGreaterThan(checked - invalid, m, "and valid ones")
    }

    /// The branch-free percentile search against a plain count of the reference values below
    /// the score: at every reference value, a double either side, beyond both ends, and NaN.
    func testPercentileIsTheShareOfReferenceScoresBelow() throws {
        let (result, model, _) = try TestSupport.smallModel.get()
        let ref = result.parameters.atypicalityReference
        XCTAssertTrue(model.referenceIsSorted, "training writes the reference in order")
        XCTAssertGreaterThan(ref.count, 100)
        var scores: [Double] = [.nan, -.infinity, .infinity, 0, 1, ref[0].nextDown, ref[ref.count - 1].nextUp]
        for v in ref.enumerated().filter({ $0.offset % 7 == 0 || $0.offset < 3 || $0.offset > ref.count - 4 }).map(\.element) {
            scores += [v, v.nextUp, v.nextDown]
        }
        for s in scores {
            let expected = Double(ref.filter { $0 < s }.count) / Double(ref.count)
            XCTAssertEqual(model.percentile(ofForestScore: s).bitPattern, expected.bitPattern, "score \(s)")
        }
    }
}
