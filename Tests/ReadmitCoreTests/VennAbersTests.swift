import Foundation
import ReadmitTables
@testable import ReadmitModels
@testable import ReadmitTraining
import XCTest

/// The inductive Venn-Abers predictor against a plain recomputation: isotonic regression of
/// every calibration point plus the new one, fitted from scratch for each new margin.
final class VennAbersTests: XCTestCase {
    /// Increasing isotonic regression of `y` on `x` (ties pooled), by repeated pooling of
    /// adjacent violators over the sorted distinct values; the fitted value at `at`.
    static func bruteForce(_ x: [Double], _ y: [Double], at: Double) -> Double {
        let distinct = Array(Set(x)).sorted()
        var blocks = distinct.map { v -> (sum: Double, weight: Double, values: [Double]) in
            let ys = zip(x, y).filter { $0.0 == v }.map(\.1)
            return (ys.reduce(0, +), Double(ys.count), [v])
        }
        var changed = true
        while changed {
            changed = false
            for i in 0..<(blocks.count - 1) where blocks[i].sum / blocks[i].weight > blocks[i + 1].sum / blocks[i + 1].weight {
                blocks[i] = (blocks[i].sum + blocks[i + 1].sum, blocks[i].weight + blocks[i + 1].weight, blocks[i].values + blocks[i + 1].values)
                blocks.remove(at: i + 1)
                changed = true
                break
            }
        }
        let b = blocks.first { $0.values.contains(at) }!
        return b.sum / b.weight
    }

    func testEqualsIsotonicRegressionRefittedForEveryMargin() throws {
        var rng = SplitMix64(seed: 3)
        // Margins on a coarse grid (so that ties occur), outcomes more likely at high margins.
        let m = (0..<120).map { _ in Double(Int(rng.next() % 40)) / 4 - 5 }
        let y = m.map { rng.nextUnit() < 1 / (1 + exp(-$0 / 2)) }
        let va = try XCTUnwrap(VennAbersCalibrator(margins: m, labels: y))
        XCTAssertEqual(va.low.count, 2 * va.margins.count + 1)
        let probes = [-6.0, -5, -4.9, 0, 0.1, 2.25, 4.75, 5, 9] + va.margins + zip(va.margins, va.margins.dropFirst()).map { ($0 + $1) / 2 }
        for s in probes {
            let (lo, hi) = va.interval(margin: s)
            let p0 = Self.bruteForce(m + [s], y.map { $0 ? 1 : 0 } + [0], at: s)
            let p1 = Self.bruteForce(m + [s], y.map { $0 ? 1 : 0 } + [1], at: s)
            XCTAssertEqual(lo, p0, accuracy: 1e-12, "p0 at \(s)")
            XCTAssertEqual(hi, p1, accuracy: 1e-12, "p1 at \(s)")
            XCTAssertLessThanOrEqual(lo, hi)
        }
        XCTAssertTrue(va.interval(margin: .nan).low.isNaN)
    }

    func testStoredPartsAreChecked() throws {
        XCTAssertNotNil(VennAbersCalibrator(margins: [0, 1], low: [0, 0, 0.2, 0.3, 0.4], high: [0.5, 0.5, 0.6, 0.7, 1]))
        XCTAssertNil(VennAbersCalibrator(margins: [0, 1], low: [0, 0, 0.2, 0.3], high: [0.5, 0.5, 0.6, 0.7]), "lengths")
        XCTAssertNil(VennAbersCalibrator(margins: [1, 0], low: [0, 0, 0.2, 0.3, 0.4], high: [0.5, 0.5, 0.6, 0.7, 1]), "order")
        XCTAssertNil(VennAbersCalibrator(margins: [0, 1], low: [0, 0.6, 0.2, 0.3, 0.4], high: [0.5, 0.5, 0.6, 0.7, 1]), "low > high")
        XCTAssertNil(VennAbersCalibrator(margins: [], labels: []))
    }
}

/// The interval measurements of the report on hand-made cases.
final class IntervalValidationTests: XCTestCase {
    func testCoverageAndWidthGroups() {
        let n = 300
        let risk = (0..<n).map { Double($0) / Double(n) * 0.5 }
        let labels = (0..<n).map { $0 % 4 == 0 }
        // Intervals that hold everything: full coverage.
        let wide = IntervalValidation(risk: risk, low: risk.map { _ in 0 }, high: risk.map { _ in 1 }, labels: labels)
        XCTAssertEqual(wide.coverage, 1)
        XCTAssertEqual(wide.riskInside, 1)
        XCTAssertEqual(IntervalValidation(risk: risk, low: risk.map { $0 + 0.01 }, high: risk.map { $0 + 0.02 }, labels: labels).riskInside, 0)
        XCTAssertEqual(wide.bins.count, 10)
        XCTAssertEqual(wide.bins.map(\.count).reduce(0, +), n)
        let point = IntervalValidation(risk: risk, low: risk, high: risk, labels: labels)
        // A zero-width interval holds its tenth's observed rate only where the risk equals it exactly.
        let exact = point.bins.indices.map { k in
            (n * k / 10..<n * (k + 1) / 10).filter { risk[$0] == point.bins[k].observedRate }.count
        }.reduce(0, +)
        XCTAssertEqual(point.coverage, Double(exact) / Double(n), accuracy: 1e-12)
        XCTAssertLessThan(point.coverage, 0.05)
        XCTAssertEqual(point.medianWidth, 0)
        // Widths growing with the risk: the thirds are ordered by width and cover every row.
        let grow = IntervalValidation(risk: risk, low: risk.map { $0 / 2 }, high: risk.map { $0 * 1.5 }, labels: labels)
        XCTAssertEqual(grow.widthGroups.map(\.name), ["narrowest third", "middle third", "widest third"])
        XCTAssertEqual(grow.widthGroups.map(\.count).reduce(0, +), n)
        XCTAssertLessThan(grow.widthGroups[0].meanWidth, grow.widthGroups[2].meanWidth)
        XCTAssertFalse(grow.verdict.isEmpty)
        // Rows with a NaN interval (rows with an error) are left out.
        var low = risk, high = risk
        low[0] = .nan; high[0] = .nan
        XCTAssertEqual(IntervalValidation(risk: risk, low: low, high: high, labels: labels).bins.map(\.count).reduce(0, +), n - 1)
    }
}
