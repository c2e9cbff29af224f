import Foundation
import ReadmitTables
@testable import ReadmitModels
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
