import ReadmitCore
import XCTest
@testable import ReadmitTraining

/// Calibration intercept and slope, net benefit, Wilson intervals and the atypicality check:
/// each against a case whose answer is known.
final class ClinicalEvaluationTests: XCTestCase {
    /// Outcomes drawn from `sigmoid(a + b logit(p))`: the fit recovers (a, b) within sampling error.
    func testCalibrationFitRecoversAKnownMiscalibration() {
        var rng = SplitMix64(seed: 11)
        func draw(a: Double, b: Double, n: Int) -> (p: [Double], y: [Bool]) {
            var p: [Double] = [], y: [Bool] = []
            for _ in 0..<n {
                let risk = 0.02 + 0.6 * rng.nextUnit()
                let z = log(risk / (1 - risk))
                p.append(risk)
                y.append(rng.nextUnit() < 1 / (1 + exp(-(a + b * z))))
            }
            return (p, y)
        }
        let calibrated = draw(a: 0, b: 1, n: 40_000)
        let fit = CalibrationFit(probabilities: calibrated.p, labels: calibrated.y)
        XCTAssertEqual(fit.intercept, 0, accuracy: 0.04)
        XCTAssertEqual(fit.slope, 1, accuracy: 0.06)
        // Risks too extreme (true slope 0.5).
        let paired = draw(a: 0, b: 0.5, n: 40_000)
        XCTAssertEqual(CalibrationFit(probabilities: paired.p, labels: paired.y).slope, 0.5, accuracy: 0.06)
        // Risks too high on average by 0.4 on the log-odds scale: calibration-in-the-large -0.4.
        let high = draw(a: -0.4, b: 1, n: 40_000)
        let fitHigh = CalibrationFit(probabilities: high.p, labels: high.y)
        XCTAssertEqual(fitHigh.intercept, -0.4, accuracy: 0.05)
        XCTAssertEqual(fitHigh.slope, 1, accuracy: 0.06)
        // One class only: no coefficients.
        XCTAssertTrue(CalibrationFit(probabilities: [0.1, 0.2], labels: [false, false]).slope.isNaN)
    }

    /// A weight of 2 is the row twice (what the patient bootstrap relies on).
    func testCalibrationWeightsEqualDuplicatedRows() {
        let p = [0.1, 0.3, 0.2, 0.7, 0.4, 0.05, 0.6]
        let y = [false, true, false, true, false, false, false]
        let w: [Double] = [1, 2, 1, 0, 3, 1, 2]
        var dp: [Double] = [], dy: [Bool] = []
        for i in p.indices { for _ in 0..<Int(w[i]) { dp.append(p[i]); dy.append(y[i]) } }
        let weighted = CalibrationFit(probabilities: p, labels: y, weights: w)
        let duplicated = CalibrationFit(probabilities: dp, labels: dy)
        XCTAssertEqual(weighted.intercept, duplicated.intercept, accuracy: 1e-9)
        XCTAssertEqual(weighted.slope, duplicated.slope, accuracy: 1e-9)
    }

    /// Net benefit by hand: 10 patients, 3 events.
    func testNetBenefitByHand() {
        let p = [0.9, 0.8, 0.6, 0.4, 0.3, 0.2, 0.2, 0.1, 0.1, 0.05]
        let y = [true, false, true, false, true, false, false, false, false, false]
        // t = 0.5: treated 0.9, 0.8, 0.6: TP 2, FP 1; 2/10 - 1/10 * 1 = 0.1.
        XCTAssertEqual(DecisionCurve.netBenefit(probabilities: p, labels: y, threshold: 0.5), 0.1, accuracy: 1e-12)
        // t = 0.25: treated the first 5: TP 3, FP 2; 0.3 - 0.2 / 3.
        XCTAssertEqual(DecisionCurve.netBenefit(probabilities: p, labels: y, threshold: 0.25), 0.3 - 0.2 / 3, accuracy: 1e-12)
        XCTAssertEqual(DecisionCurve.treatAll(prevalence: 0.3, threshold: 0.25), 0.3 - 0.7 / 3, accuracy: 1e-12)
        // A perfect ranking treated above its own threshold: net benefit = prevalence.
        let perfect = y.map { $0 ? 1.0 : 0.0 }
        XCTAssertEqual(DecisionCurve.netBenefit(probabilities: perfect, labels: y, threshold: 0.3), 0.3, accuracy: 1e-12)
    }

    /// Wilson's interval for 5 of 10 and its edges.
    func testWilsonInterval() {
        let i = BinaryMetrics.wilsonInterval(successes: 5, n: 10)
        XCTAssertEqual(i.low, 0.2366, accuracy: 1e-4)
        XCTAssertEqual(i.high, 0.7634, accuracy: 1e-4)
        XCTAssertEqual(BinaryMetrics.wilsonInterval(successes: 0, n: 20).low, 0)
        XCTAssertEqual(BinaryMetrics.calibrationBins(scores: [0.15, 0.12], labels: [true, false]).first?.observedHigh ?? 0,
                       BinaryMetrics.wilsonInterval(successes: 1, n: 2).high)
    }

    /// The Wilson interval with patients' repeated stays: one stay each gives the plain
    /// interval; each stay copied within its patient gives the interval of the stays once
    /// (the copies add no information); independent outcomes within patients keep nearly the
    /// plain width; a share of 0 counts each patient once; by hand for one small case.
    func testClusteredWilsonInterval() {
        var rng = SplitMix64(seed: 5)
        let y = (0..<400).map { _ in rng.nextUnit() < 0.2 }
        let events = Double(y.filter { $0 }.count)
        let plain = BinaryMetrics.wilsonInterval(successes: events, n: 400)
        let single = BinaryMetrics.clusteredWilsonInterval(labels: y, clusters: Array(0..<400))
        XCTAssertEqual(single.low, plain.low); XCTAssertEqual(single.high, plain.high)
        let copied = BinaryMetrics.clusteredWilsonInterval(labels: y.flatMap { [$0, $0, $0] }, clusters: (0..<400).flatMap { [$0, $0, $0] })
        XCTAssertEqual(copied.low, plain.low, accuracy: 1e-12); XCTAssertEqual(copied.high, plain.high, accuracy: 1e-12)
        let naive = BinaryMetrics.wilsonInterval(successes: 3 * events, n: 1200)
        XCTAssertGreaterThan(copied.high - copied.low, 1.5 * (naive.high - naive.low))
        let mixed = BinaryMetrics.clusteredWilsonInterval(labels: (0..<1200).map { _ in rng.nextUnit() < 0.2 }, clusters: (0..<1200).map { $0 / 3 })
        XCTAssertLessThan(mixed.high - mixed.low, 1.3 * (naive.high - naive.low))
        // The reliability bins' intervals alike: copies within a patient add nothing.
        let scores = (0..<400).map { _ in rng.nextUnit() * 0.5 }
        let once = BinaryMetrics.calibrationBins(scores: scores, labels: y)
        let thrice = BinaryMetrics.calibrationBins(scores: scores.flatMap { [$0, $0, $0] }, labels: y.flatMap { [$0, $0, $0] },
                                                   clusters: (0..<400).flatMap { [$0, $0, $0] })
        XCTAssertEqual(once.count, thrice.count)
        for (a, b) in zip(once, thrice) {
            XCTAssertEqual(a.observedLow, b.observedLow, accuracy: 1e-12); XCTAssertEqual(a.observedHigh, b.observedHigh, accuracy: 1e-12)
            XCTAssertEqual(3 * a.count, b.count)
        }
        let none = BinaryMetrics.clusteredWilsonInterval(labels: [Bool](repeating: false, count: 12), clusters: [Int](repeating: 7, count: 12))
        XCTAssertEqual(none.low, 0); XCTAssertEqual(none.high, BinaryMetrics.wilsonInterval(successes: 0, n: 1).high)
        // Patients (stays, readmitted): A (2, 2), B (2, 0), C (1, 0): p = 0.4, robust variance
        // ((2 - 0.8)^2 + (0 - 0.8)^2 + (0 - 0.4)^2) / 25 = 0.0896, binomial 0.048, n_eff = 5 *
        // 0.048 / 0.0896 = 2.678... (between the 3 patients and 5 stays: 3).
        let small = BinaryMetrics.clusteredWilsonInterval(labels: [true, true, false, false, false], clusters: [1, 1, 2, 2, 3])
        let expected = BinaryMetrics.wilsonInterval(successes: 0.4 * 3, n: 3)
        XCTAssertEqual(small.low, expected.low, accuracy: 1e-12); XCTAssertEqual(small.high, expected.high, accuracy: 1e-12)
    }

    /// When the risk of atypical rows is noise, the check says atypicality goes with larger
    /// error; when it is as good as for typical rows, it says it does not.
    func testAtypicalityVerdictFollowsTheErrors() {
        var rng = SplitMix64(seed: 5)
        let n = 6000
        var truth: [Double] = [], labels: [Bool] = [], atypicality: [Double] = []
        for i in 0..<n {
            let t = 0.05 + 0.4 * rng.nextUnit()
            truth.append(t)
            labels.append(rng.nextUnit() < t)
            atypicality.append(Double(i) / Double(n))
        }
        let patients = Array(0..<n)
        let noisy = truth.enumerated().map { i, t in atypicality[i] > 0.66 ? 0.05 + 0.4 * rng.nextUnit() : t }
        let bad = AtypicalityValidation(risk: noisy, labels: labels, atypicality: atypicality, patients: patients, replicates: 200, seed: 1)
        XCTAssertTrue(bad.largerErrorWithHigherAtypicality, bad.verdict)
        XCTAssertTrue(bad.verdict.hasPrefix("Higher atypicality goes with larger error"))
        XCTAssertEqual(bad.groups.map(\.count), [2000, 2000, 2000])
        let good = AtypicalityValidation(risk: truth, labels: labels, atypicality: atypicality, patients: patients, replicates: 200, seed: 1)
        XCTAssertFalse(good.largerErrorWithHigherAtypicality, good.verdict)
        XCTAssertTrue(good.verdict.contains("not a measure of how certain its risk is"))
        // No readmission among the evaluated patients: the error's difference is undefined, and
        // the verdict claimed "does not go with larger error" with "nan" for every figure.
        let none = AtypicalityValidation(risk: Array(truth.prefix(9)), labels: Array(repeating: false, count: 9),
                                         atypicality: Array(atypicality.prefix(9)), patients: Array(0..<9), replicates: 50, seed: 1)
        XCTAssertFalse(none.largerErrorWithHigherAtypicality)
        XCTAssertTrue(none.verdict.hasPrefix("Whether higher atypicality goes with larger error cannot be judged"), none.verdict)
        XCTAssertFalse(none.verdict.contains("nan"), none.verdict)
    }
}

/// Subgroups: levels and bands by hand, empty levels dropped, the missing group kept.
final class SubgroupEvaluationTests: XCTestCase {
    func testGroupsByLevelAndBandWithCountsAndRates() {
        let schema = FeatureSchema(features: [
            FeatureSpec(name: "sex", kind: .categorical, levels: ["F", "M", "X"], source: "sex", transform: .level, missing: "nan", description: ""),
            FeatureSpec(name: "age", kind: .numeric, source: "age", transform: .number, missing: "nan", description: ""),
        ])
        // 8 rows: sex F F M M M nan F M; age 30 50 70 90 64.9 65 nan 10.
        let sex: [Double] = [0, 0, 1, 1, 1, .nan, 0, 1], age: [Double] = [30, 50, 70, 90, 64.9, 65, .nan, 10]
        let x = FeatureMatrix(rows: 8, columns: 2, values: (0..<8).flatMap { [sex[$0], age[$0]] })
        let risk = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]
        let labels = [false, true, false, true, true, false, true, false]
        let patients = Array(0..<8)
        let out = SubgroupEvaluation.all([SubgroupDefinition(feature: "sex"), SubgroupDefinition(feature: "age", bands: [45, 65]),
                                          SubgroupDefinition(feature: "absent")],
                                         schema: schema, x: x, risk: risk, labels: labels, patients: patients, replicates: 20, seed: 3)
        XCTAssertEqual(out.map(\.name), ["sex", "age"])
        let bySex = out[0].groups
        XCTAssertEqual(bySex.map(\.name), ["F", "M", "missing"])  // X has no test patient: dropped
        XCTAssertEqual(bySex.map(\.count), [3, 4, 1])
        XCTAssertEqual(bySex.map(\.events), [2, 2, 0])
        XCTAssertEqual(bySex[0].meanPredicted, (0.1 + 0.2 + 0.7) / 3, accuracy: 1e-12)
        XCTAssertEqual(bySex[0].rocAUC, 1.0)            // events 0.2 and 0.7 above the non-event 0.1
        XCTAssertTrue(bySex[2].rocAUC.isNaN && bySex[2].intercept.isNaN)  // one outcome only
        let byAge = out[1].groups
        XCTAssertEqual(byAge.map(\.name), ["< 45", "45 to < 65", ">= 65", "missing"])
        XCTAssertEqual(byAge.map(\.count), [2, 2, 3, 1])  // 30, 10 | 50, 64.9 | 70, 90, 65 | nan
        XCTAssertEqual(byAge.map(\.count).reduce(0, +), 8)
    }

    /// A column's groups: its texts as written, sorted, the missing (a missing token, or no
    /// row of the patients table) last; with bands, its numbers banded and a text that is not a
    /// number in a group of its own. Rows are found through their encounter-table rows.
    func testGroupsByAColumnTheModelDoesNotRead() {
        let schema = FeatureSchema(features: [FeatureSpec(name: "age", kind: .numeric, source: "age", transform: .number, missing: "nan", description: "")])
        // Table rows 0..5: race White, Black, ?, White, Asian, Black; the 6 evaluated rows are table rows 3 1 0 2 5 1.
        let race = TextColumn(InternedColumn(values: ["White", "Black", "?", "Asian"], codes: [0, 1, 2, 0, 3, 1]), isMissing: [false, false, true, false])
        let bmi = TextColumn(InternedColumn(values: ["31.5", "22", "", "n/a"], codes: [0, 1, 2, 3, 0, 1]), isMissing: [false, false, true, false])
        // Via the patients table: encounter row -> patient row (-1: none).
        let ethnicity = TextColumn(InternedColumn(values: ["Hispanic", "Not Hispanic"], codes: [0, 1]), isMissing: [false, false])
        let definitions = [SubgroupDefinition(column: "race"), SubgroupDefinition(column: "bmi", bands: [30]),
                           SubgroupDefinition(column: "ethnicity", table: .patients), SubgroupDefinition(column: "unread")]
        let columns = [SubgroupColumn(index: 0, definition: definitions[0], texts: race, patientRow: nil),
                       SubgroupColumn(index: 1, definition: definitions[1], texts: bmi, patientRow: nil),
                       SubgroupColumn(index: 2, definition: definitions[2], texts: ethnicity, patientRow: [0, 1, -1, 1, 0, 0])]
        let x = FeatureMatrix(rows: 6, columns: 1, values: [Double](repeating: 50, count: 6))
        let out = SubgroupEvaluation.all(definitions, schema: schema, x: x, columns: columns, tableRows: [3, 1, 0, 2, 5, 1],
                                         risk: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6], labels: [false, true, false, true, true, false],
                                         patients: Array(0..<6), replicates: 10, seed: 1)
        XCTAssertEqual(out.map(\.name), ["race", "bmi", "ethnicity"])  // a column nobody read is left out, as an absent feature is
        XCTAssertTrue(out.allSatisfy(\.isColumn))
        XCTAssertEqual(out[2].table, .patients)
        XCTAssertEqual(out[0].groups.map(\.name), ["Black", "White", "missing"])  // Asian: no evaluated row
        XCTAssertEqual(out[0].groups.map(\.count), [3, 2, 1])                     // rows 1 4 5 | 0 2 | 3
        XCTAssertEqual(out[0].groups.map(\.events), [2, 0, 1])
        XCTAssertEqual(out[1].groups.map(\.name), ["< 30", ">= 30", "not a number", "missing"])
        XCTAssertEqual(out[1].groups.map(\.count), [3, 1, 1, 1])                   // 22 x3 (rows 1 4 5) | 31.5 | n/a | ""
        XCTAssertEqual(out[2].groups.map(\.name), ["Hispanic", "Not Hispanic", "missing"])
        XCTAssertEqual(out[2].groups.map(\.count), [2, 3, 1])                      // rows 2 4 | 0 1 5 | 3
        XCTAssertEqual(out[2].groups[0].meanPredicted, (0.3 + 0.5) / 2, accuracy: 1e-12)  // table rows 0 and 5: patient row 0
    }

    /// A patient bootstrap cannot vary a group of one patient's stays: its intervals are not
    /// computable (NaN), not a point; two patients give an interval.
    func testAOnePatientGroupHasNoInterval() {
        let schema = FeatureSchema(features: [FeatureSpec(name: "sex", kind: .categorical, levels: ["F", "M"], source: "sex", transform: .level, missing: "nan", description: "")])
        // F: patient 7's four stays (two readmitted); M: patients 1..4, one stay each (two readmitted).
        let sex: [Double] = [0, 0, 0, 0, 1, 1, 1, 1]
        let out = SubgroupEvaluation.all([SubgroupDefinition(feature: "sex")], schema: schema, x: FeatureMatrix(rows: 8, columns: 1, values: sex),
                                         risk: [0.1, 0.8, 0.3, 0.6, 0.2, 0.7, 0.4, 0.5], labels: [false, true, false, true, false, true, true, false],
                                         patients: [7, 7, 7, 7, 1, 2, 3, 4], replicates: 200, seed: 5)
        let f = out[0].groups[0], m = out[0].groups[1]
        XCTAssertEqual([f.patients, m.patients], [1, 4])
        XCTAssertEqual(f.rocAUC, 1.0)  // the point estimate stands
        XCTAssertTrue(f.rocAUCInterval.low.isNaN && f.rocAUCInterval.high.isNaN && f.interceptInterval.low.isNaN)
        XCTAssertTrue(m.rocAUCInterval.low.isFinite && m.rocAUCInterval.high.isFinite && m.rocAUCInterval.low <= m.rocAUCInterval.high)
        // The observed rate's interval counts patient 7's four stays as the one patient they are
        // (two of four readmitted: p(1-p) spread over one cluster, n_eff clamped to 1), the four
        // single stays of M as four.
        let fOne = BinaryMetrics.clusteredWilsonInterval(labels: [false, true, false, true], clusters: [7, 7, 7, 7])
        XCTAssertEqual(f.observedInterval.low, fOne.low); XCTAssertEqual(f.observedInterval.high, fOne.high)
        XCTAssertEqual(fOne.high, BinaryMetrics.wilsonInterval(successes: 0.5, n: 1).high, accuracy: 1e-12)
        XCTAssertEqual(m.observedInterval.high, BinaryMetrics.wilsonInterval(successes: 2, n: 4).high)
    }

    /// What each tier above the lowest flags in each group, counted by hand: share flagged,
    /// sensitivity (flagged readmissions over readmissions) and PPV (readmissions over flagged),
    /// their intervals those of the stays counted, patients' repeated stays adjusted for; a
    /// group without readmissions has no sensitivity, one without a flag no PPV.
    func testEachTierFlagsInEachGroupCountedByHand() {
        let schema = FeatureSchema(features: [FeatureSpec(name: "sex", kind: .categorical, levels: ["F", "M", "X"], source: "sex", transform: .level, missing: "nan", description: "")])
        // F: rows 0-4, M: rows 5-8, X: row 9.
        let sex: [Double] = [0, 0, 0, 0, 0, 1, 1, 1, 1, 2]
        let risk = [0.05, 0.15, 0.25, 0.35, 0.12, 0.30, 0.21, 0.09, 0.50, 0.01]
        let labels = [false, true, true, false, true, true, false, true, false, false]
        let patients = [1, 2, 2, 3, 4, 5, 6, 7, 5, 8]  // patient 2 twice in F, patient 5 twice in M
        let tiers = [(name: "low", minRisk: 0.0), (name: "medium", minRisk: 0.12), (name: "high", minRisk: 0.21)]
        let out = SubgroupEvaluation.all([SubgroupDefinition(feature: "sex")], schema: schema, x: FeatureMatrix(rows: 10, columns: 1, values: sex),
                                         risk: risk, labels: labels, patients: patients, tiers: tiers, replicates: 10, seed: 1)
        let (f, m, x) = (out[0].groups[0], out[0].groups[1], out[0].groups[2])
        XCTAssertEqual(f.atTiers.map(\.tier), ["medium", "high"], "the lowest tier flags everyone: left out")
        // F at medium (>= 0.12): rows 1 2 3 4 flagged (4 of 5); readmitted 1 2 4, all flagged; flagged readmitted 3 of 4.
        XCTAssertEqual(f.atTiers[0].flagged, 4)
        XCTAssertEqual(f.atTiers[0].flaggedShare, 0.8)
        XCTAssertEqual(f.atTiers[0].sensitivity, 1.0)
        XCTAssertEqual(f.atTiers[0].ppv, 0.75)
        // F at high (>= 0.21): rows 2 3; readmissions caught: row 2 of rows 1 2 4.
        XCTAssertEqual(f.atTiers[1].flagged, 2)
        XCTAssertEqual(f.atTiers[1].sensitivity, 1.0 / 3, accuracy: 1e-15)
        XCTAssertEqual(f.atTiers[1].ppv, 0.5)
        let caught = BinaryMetrics.clusteredWilsonInterval(labels: [false, true, false], clusters: [2, 2, 4])
        XCTAssertEqual(f.atTiers[1].sensitivityInterval.low, caught.low)
        XCTAssertEqual(f.atTiers[1].sensitivityInterval.high, caught.high)
        let flaggedReadmitted = BinaryMetrics.clusteredWilsonInterval(labels: [true, false], clusters: [2, 3])
        XCTAssertEqual(f.atTiers[1].ppvInterval.high, flaggedReadmitted.high)
        // M at high: rows 5 (0.30), 6 (0.21, exactly on the threshold: flagged), 8 (0.50); readmitted 5 and 7.
        XCTAssertEqual(m.atTiers[1].flagged, 3)
        XCTAssertEqual(m.atTiers[1].sensitivity, 0.5)
        XCTAssertEqual(m.atTiers[1].ppv, 1.0 / 3, accuracy: 1e-15)
        // X: one stay, not readmitted, not flagged.
        XCTAssertEqual(x.atTiers[0].flagged, 0)
        XCTAssertTrue(x.atTiers[0].sensitivity.isNaN && x.atTiers[0].sensitivityInterval.low.isNaN)
        XCTAssertTrue(x.atTiers[0].ppv.isNaN && x.atTiers[0].ppvInterval.high.isNaN)
        // Without tiers, nothing.
        let plain = SubgroupEvaluation.all([SubgroupDefinition(feature: "sex")], schema: schema, x: FeatureMatrix(rows: 10, columns: 1, values: sex),
                                           risk: risk, labels: labels, patients: patients, replicates: 10, seed: 1)
        XCTAssertTrue(plain[0].groups.allSatisfy(\.atTiers.isEmpty))
    }
}
