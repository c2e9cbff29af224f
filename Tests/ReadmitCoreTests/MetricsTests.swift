import ReadmitCore
import XCTest

final class MetricsTests: XCTestCase {
    func testROCAUCByHandWithTies() {
        // Pairs (pos, neg): (0.9 vs 0.1) 1, (0.9 vs 0.5) 1, (0.5 vs 0.1) 1, (0.5 vs 0.5) 0.5 -> 3.5 / 4.
        XCTAssertEqual(BinaryMetrics.rocAUC(scores: [0.9, 0.5, 0.5, 0.1], labels: [true, true, false, false]), 0.875)
        XCTAssertEqual(BinaryMetrics.rocAUC(scores: [1, 2, 3], labels: [false, false, true]), 1)
    }

    func testAveragePrecisionBrierAndTopDecile() {
        // Ranked: 0.9 (pos), 0.8 (neg), 0.7 (pos), 0.1 (neg): AP = 0.5*1 + 0.5*(2/3).
        let s = [0.9, 0.8, 0.7, 0.1], y = [true, false, true, false]
        let m = BinaryMetrics(scores: s, labels: y, probabilities: true)
        XCTAssertEqual(m.prAUC, 0.5 + 1.0 / 3.0, accuracy: 1e-12)
        XCTAssertEqual(m.brier!, (0.01 + 0.64 + 0.09 + 0.01) / 4, accuracy: 1e-12)
        XCTAssertEqual(m.precisionAt10, 1)  // top 10% of 4 rows rounds up to one row, a positive
        XCTAssertEqual(m.recallAt10, 0.5)
    }

    func testFiguresWithoutAPositiveAreUndefinedNotZero() {
        // A month of a small ward can hold no readmission: PR AUC and recall have nothing to find,
        // and 0 would read as the worst model (evaluate printed 0.0000 for both).
        let m = BinaryMetrics(scores: [0.9, 0.2, 0.1], labels: [false, false, false], probabilities: true)
        XCTAssertTrue(m.prAUC.isNaN)
        XCTAssertTrue(m.recallAt10.isNaN)
        XCTAssertTrue(m.rocAUC.isNaN)
        XCTAssertEqual(m.precisionAt10, 0)  // one row flagged, not readmitted: defined
        XCTAssertTrue(BinaryMetrics(scores: [], labels: [], probabilities: true).precisionAt10.isNaN)
    }

    func testECEOfPerfectCalibrationIsSmall() {
        var rng = SplitMix64(seed: 5)
        var s: [Double] = [], y: [Bool] = []
        for _ in 0..<200_000 { let p = rng.nextUnit(); s.append(p); y.append(rng.nextUnit() < p) }
        XCTAssertLessThan(BinaryMetrics(scores: s, labels: y, probabilities: true).ece!, 0.01)
        XCTAssertGreaterThan(BinaryMetrics(scores: s.map { $0 * 0.5 }, labels: y, probabilities: true).ece!, 0.2)
    }

    func testPlattRecoversALogisticLink() {
        var rng = SplitMix64(seed: 9)
        var m: [Double] = [], y: [Bool] = []
        for _ in 0..<50_000 {
            let x = rng.nextUnit() * 8 - 4
            m.append(x); y.append(rng.nextUnit() < 1 / (1 + exp(-(0.5 * x - 1))))
        }
        let platt = PlattCalibrator(margins: m, labels: y)
        XCTAssertEqual(platt.a, 0.5, accuracy: 0.05)
        XCTAssertEqual(platt.b, -1, accuracy: 0.05)
    }

    /// Refitting the intercept alone keeps the slope and moves the intercept to where the mean
    /// smoothed target equals the mean probability (the score equation of `b`), from either side,
    /// and finds the outcomes' own intercept when the slope is right.
    func testPlattInterceptRefitKeepsTheSlope() {
        var rng = SplitMix64(seed: 7)
        var m: [Double] = [], y: [Bool] = []
        for _ in 0..<20_000 {
            let x = rng.nextUnit() * 8 - 4
            m.append(x); y.append(rng.nextUnit() < 1 / (1 + exp(-(0.5 * x + 0.7))))
        }
        let positives = Double(y.filter { $0 }.count), negatives = Double(y.count) - positives
        let target = y.reduce(0.0) { $0 + ($1 ? (positives + 1) / (positives + 2) : 1 / (negatives + 2)) }
        for start in [-6.0, -1.0, 0.7, 3.0, 40.0] {
            let refit = PlattCalibrator(a: 0.5, b: start).refittingIntercept(margins: m, labels: y)
            XCTAssertEqual(refit.a, 0.5)
            XCTAssertEqual(refit.b, 0.7, accuracy: 0.05, "from \(start)")
            let mean = m.reduce(0.0) { $0 + refit.probability(margin: $1) }
            XCTAssertEqual(mean, target, accuracy: 1e-6 * Double(m.count), "from \(start)")
        }
        XCTAssertEqual(PlattCalibrator(a: 0.5, b: 2).refittingIntercept(margins: [], labels: []), PlattCalibrator(a: 0.5, b: 2))
    }

    /// Paired differences: a model against itself differs by exactly 0 in every replicate; a
    /// model whose risks are the outcomes' shifted halfway towards them is better in Brier score
    /// with an interval below 0, ranks identically (a monotone change: AUC difference 0), and a
    /// worse-ranking model's AUC difference is the difference of the two AUCs.
    func testPairedComparisonOfTwoModelsOnTheSameEncounters() {
        var rng = SplitMix64(seed: 11)
        var risk: [Double] = [], y: [Bool] = [], patients: [Int] = []
        for i in 0..<4000 {
            let p = 0.05 + 0.4 * rng.nextUnit()
            risk.append(p); y.append(rng.nextUnit() < p * 1.5); patients.append(i / 3)
        }
        let same = PairedComparison(first: risk, second: risk, labels: y, patients: patients, replicates: 100, seed: 1)
        for d in [same.rocAUC, same.brier, same.meanRisk] {
            XCTAssertEqual(d.value, 0); XCTAssertEqual(d.interval.low, 0); XCTAssertEqual(d.interval.high, 0)
        }
        let raised = risk.map { min(1, $0 * 1.5) }
        let better = PairedComparison(first: risk, second: raised, labels: y, patients: patients, replicates: 200, seed: 1)
        XCTAssertEqual(better.rocAUC.value, 0, accuracy: 1e-12)
        XCTAssertLessThan(better.brier.interval.high, 0)
        XCTAssertGreaterThan(better.meanRisk.interval.low, 0)
        let noisy = risk.map { _ in rng.nextUnit() }
        let worse = PairedComparison(first: risk, second: noisy, labels: y, patients: patients, replicates: 200, seed: 1)
        XCTAssertEqual(worse.rocAUC.value, BinaryMetrics.rocAUC(scores: noisy, labels: y) - BinaryMetrics.rocAUC(scores: risk, labels: y), accuracy: 1e-12)
        XCTAssertLessThan(worse.rocAUC.interval.high, 0)
        XCTAssertLessThan(worse.rocAUC.interval.low, worse.rocAUC.value)
    }

    func testBootstrapIntervalContainsThePointEstimate() {
        var rng = SplitMix64(seed: 2)
        var s: [Double] = [], y: [Bool] = [], p: [Int] = []
        for i in 0..<3000 { let pos = rng.nextUnit() < 0.2; y.append(pos); s.append(rng.nextUnit() + (pos ? 0.3 : 0)); p.append(i / 2) }
        let auc = BinaryMetrics.rocAUC(scores: s, labels: y)
        let ci = BinaryMetrics.bootstrapAUC(scores: s, labels: y, patients: p, replicates: 200, seed: 1)
        XCTAssertLessThan(ci.low, auc); XCTAssertGreaterThan(ci.high, auc)
        XCTAssertLessThan(ci.high - ci.low, 0.1)
    }
}

final class BootstrapTests: XCTestCase {
    /// The one-pass weighted AUC of a replicate equals the AUC of the explicitly resampled rows.
    func testWeightedReplicateEqualsExplicitResample() {
        var rng = SplitMix64(seed: 21)
        var s: [Double] = [], y: [Bool] = [], p: [Int] = []
        for i in 0..<400 { let pos = rng.nextUnit() < 0.3; y.append(pos); s.append(Double(Int(rng.nextUnit() * 20)) + (pos ? 3 : 0)); p.append(i / 3) }
        // One replicate by hand, with the generator the bootstrap uses.
        let groups = Array(Set(p)).count
        var draw = SplitMix64(seed: 5)
        var counts = [Int](repeating: 0, count: groups)
        for _ in 0..<groups { counts[Int(draw.next() % UInt64(groups))] += 1 }
        var rs: [Double] = [], ry: [Bool] = []
        for i in 0..<s.count { for _ in 0..<counts[p[i]] { rs.append(s[i]); ry.append(y[i]) } }
        let expected = BinaryMetrics.rocAUC(scores: rs, labels: ry)
        let ci = BinaryMetrics.bootstrapAUC(scores: s, labels: y, patients: p, replicates: 1, seed: 5)
        XCTAssertEqual(ci.low, expected, accuracy: 1e-12)
        XCTAssertEqual(ci.high, expected, accuracy: 1e-12)
    }
}
