import Foundation
import ReadmitReport

/// A deterministic, realistic report input: scores from a fixed-seed generator, curves and
/// bins computed from them the way the training pipeline does.
enum ReportFixtures {
    /// SplitMix64-style generator so the fixture is identical on every run.
    struct Rng {
        var state: UInt64
        mutating func next() -> Double {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            return Double(z >> 11) / Double(1 << 53)
        }
    }

    /// (score, label) pairs where the label depends on the score with strength `signal`.
    static func scored(n: Int, prevalence: Double, signal: Double, seed: UInt64) -> [(Double, Bool)] {
        var rng = Rng(state: seed)
        return (0..<n).map { _ in
            let positive = rng.next() < prevalence
            // Roughly normal noise (sum of three uniforms), shifted for positives by `signal`.
            let z = (rng.next() + rng.next() + rng.next() - 1.5) * 2
            let logit = log(prevalence / (1 - prevalence)) - 0.2 + (positive ? signal * 2.5 : 0) + z * (0.4 + signal)
            let s = 1 / (1 + exp(-logit))
            return (s, positive)
        }
    }

    static func curves(key: String, name: String, data: [(Double, Bool)], probabilistic: Bool,
                       interval: ConfidenceInterval? = nil) -> ModelCurves {
        let sorted = data.sorted { $0.0 > $1.0 }
        let p = Double(sorted.filter(\.1).count), n = Double(sorted.count) - p
        var tp = 0.0, fp = 0.0
        var roc = [CurvePoint(0, 0)], pr: [CurvePoint] = [], gain = [CurvePoint(0, 0)]
        var auc = 0.0, ap = 0.0
        for (i, (_, y)) in sorted.enumerated() {
            if y { tp += 1; ap += tp / Double(i + 1) } else { fp += 1; auc += tp }
            roc.append(CurvePoint(fp / n, tp / p))
            pr.append(CurvePoint(tp / p, tp / Double(i + 1)))
            gain.append(CurvePoint(Double(i + 1) / Double(sorted.count), tp / p))
        }
        let top = sorted.prefix(sorted.count / 10)
        let topPos = Double(top.filter(\.1).count)
        var bins: [ReliabilityBin] = []
        var brier = 0.0, ece = 0.0
        if probabilistic {
            for b in 0..<10 {
                let lo = Double(b) / 10, hi = Double(b + 1) / 10
                let inBin = data.filter { $0.0 >= lo && ($0.0 < hi || b == 9) }
                guard !inBin.isEmpty else { continue }
                let mp = inBin.map(\.0).reduce(0, +) / Double(inBin.count)
                let obs = Double(inBin.filter(\.1).count) / Double(inBin.count)
                bins.append(ReliabilityBin(lower: lo, upper: hi, meanPredicted: mp, observedRate: obs, count: inBin.count))
                ece += Double(inBin.count) / Double(data.count) * abs(mp - obs)
            }
            brier = data.map { ($0.0 - ($0.1 ? 1 : 0)) * ($0.0 - ($0.1 ? 1 : 0)) }.reduce(0, +) / Double(data.count)
        }
        let edges = (0...20).map { Double($0) * 0.02 }
        var pos = [Int](repeating: 0, count: 20), neg = pos
        for (s, y) in data {
            let i = min(19, Int(s / 0.02))
            if y { pos[i] += 1 } else { neg[i] += 1 }
        }
        return ModelCurves(
            key: key, displayName: name, roc: roc, precisionRecall: pr, reliability: bins, cumulativeGain: gain,
            scoreHistogram: ScoreHistogram(binEdges: edges, positiveCounts: pos, negativeCounts: neg),
            metrics: ModelMetrics(
                rocAUC: auc / (p * n), rocAUCInterval: interval, prAUC: ap / p,
                brier: probabilistic ? brier : nil, ece: probabilistic ? ece : nil,
                precisionAt10Pct: topPos / Double(top.count), recallAt10Pct: topPos / p))
    }

    static func sample(n: Int = 4_000) -> ReportInput {
        let models = [
            curves(key: "lace", name: "LACE-like score", data: scored(n: n, prevalence: 0.1137, signal: 0.15, seed: 1), probabilistic: false),
            curves(key: "isolation_forest", name: "Isolation Forest", data: scored(n: n, prevalence: 0.1137, signal: 0.01, seed: 2), probabilistic: false),
            curves(key: "logistic_regression", name: "Logistic regression", data: scored(n: n, prevalence: 0.1137, signal: 0.3, seed: 3), probabilistic: true),
            curves(key: "risk_model", name: "Risk model (XGBoost, calibrated)", data: scored(n: n, prevalence: 0.1137, signal: 0.4, seed: 4), probabilistic: true,
                   interval: ConfidenceInterval(lower: 0.689, upper: 0.712)),
        ]
        return ReportInput(
            title: "readmit: 30-day readmission risk <test & \"sample\">",
            generatedAt: "2026-11-25 10:00:00 UTC",
            datasetDescription: "Diabetes 130-US hospitals 1999-2008 (CC BY 4.0); 101,766 encounters.",
            cohortSummary: [SummaryRow("Encounters", "99,343"), SummaryRow("Test encounters", "19,597"),
                            SummaryRow("Test prevalence", "11.37%")],
            prevalence: 0.1137,
            missingness: [MissingnessRow(feature: "weight", fraction: 0.9686), MissingnessRow(feature: "medical_specialty", fraction: 0.4908),
                          MissingnessRow(feature: "race", fraction: 0.0223)],
            featureDistributions: [
                .numeric("number_inpatient", binEdges: [0, 1, 2, 3, 5, 10, 21], positiveCounts: [900, 500, 300, 250, 200, 78], negativeCounts: [11000, 3000, 1200, 700, 400, 69]),
                .categorical("age", levels: ["[0-10)", "[10-20)", "[20-30)", "[30-40)", "[40-50)", "[50-60)", "[60-70)", "[70-80)", "[80-90)", "[90-100)"],
                             positiveCounts: [1, 10, 40, 70, 200, 350, 500, 600, 400, 57], negativeCounts: [30, 120, 280, 690, 1700, 3050, 3900, 4400, 2750, 450]),
                .categorical("A1Cresult", levels: ["None", ">8", "Norm", ">7"], positiveCounts: [1900, 170, 100, 58], negativeCounts: [14500, 1400, 900, 569]),
            ],
            models: models,
            topRiskFactors: [RiskFactor(feature: "number_inpatient", importance: 0.31), RiskFactor(feature: "prior_encounters", importance: 0.22),
                             RiskFactor(feature: "discharge_disposition=22", importance: 0.12), RiskFactor(feature: "number_diagnoses", importance: 0.07),
                             RiskFactor(feature: "age", importance: 0.05)],
            notes: ["Synthetic fixture: curves come from a fixed-seed generator, not from the data set.",
                    "Importance is association, not causation; <b>markup</b> is shown as text."],
            modelFileInfo: [SummaryRow("Path", "output/model.readmit"), SummaryRow("Model id", "0123456789abcdef")],
            clinical: clinical(prevalence: 0.1137))
    }

    /// A clinical section with a falling net benefit and treat-all's exact line.
    static func clinical(prevalence: Double) -> ClinicalInput {
        let thresholds = (5...50).map { Double($0) / 100 }
        let treatAll = thresholds.map { prevalence - (1 - prevalence) * $0 / (1 - $0) }
        return ClinicalInput(
            calibration: [CalibrationRow(modelKey: "risk_model", intercept: -0.041, interceptInterval: ConfidenceInterval(lower: -0.09, upper: 0.005),
                                         slope: 0.943, slopeInterval: ConfidenceInterval(lower: 0.886, upper: 1.006)),
                          CalibrationRow(modelKey: "logistic_regression", intercept: -0.04, slope: .nan)],
            thresholds: thresholds,
            netBenefit: ["risk_model": thresholds.map { 0.07 * exp(-8 * ($0 - 0.05)) }, "logistic_regression": thresholds.map { 0.065 * exp(-9 * ($0 - 0.05)) }],
            treatAll: treatAll,
            atTiers: [TierNetBenefit(tier: "medium", threshold: 0.1317, model: 0.0257, treatAll: -0.0207)],
            atypicalityGroups: [
                AtypicalityGroupRow(name: "lowest third", lowest: 0, highest: 0.33, count: 6532, events: 607, observedRate: 0.093, meanPredicted: 0.096,
                                    rocAUC: 0.64, brier: 0.0819, scaledBrier: 0.029, calibrationError: 0.0035),
                AtypicalityGroupRow(name: "highest third", lowest: 0.67, highest: 1, count: 6533, events: 893, observedRate: 0.137, meanPredicted: 0.144,
                                    rocAUC: 0.72, brier: 0.1089, scaledBrier: 0.077, calibrationError: 0.0069),
            ],
            atypicalityVerdict: "Higher atypicality does not go with larger error <here>.",
            subgroups: [
                SubgroupTable(feature: "gender", groups: [
                    SubgroupRow(name: "Female", count: 10_500, events: 1_230, patients: 8_000, observedRate: 0.117, observedInterval: ConfidenceInterval(lower: 0.111, upper: 0.123),
                                meanPredicted: 0.118, rocAUC: 0.69, rocAUCInterval: ConfidenceInterval(lower: 0.67, upper: 0.71),
                                intercept: -0.01, interceptInterval: ConfidenceInterval(lower: -0.07, upper: 0.05),
                                atTiers: [SubgroupTierRow(tier: "medium", threshold: 0.1325, flagged: 3_150, flaggedShare: 0.3, sensitivity: 0.5421,
                                                          sensitivityInterval: ConfidenceInterval(lower: 0.5101, upper: 0.5738), ppv: 0.2117,
                                                          ppvInterval: ConfidenceInterval(lower: 0.1871, upper: 0.2183)),
                                          SubgroupTierRow(tier: "high <t>", threshold: 0.2157, flagged: 1_061, flaggedShare: 0.101, sensitivity: 0.2754,
                                                          sensitivityInterval: ConfidenceInterval(lower: 0.2471, upper: 0.3052), ppv: 0.3063,
                                                          ppvInterval: ConfidenceInterval(lower: 0.2781, upper: 0.3361))]),
                    SubgroupRow(name: "Unknown/Invalid <x>", count: 1, events: 0, observedRate: 0, observedInterval: ConfidenceInterval(lower: 0, upper: 0.79),
                                meanPredicted: 0.05, rocAUC: .nan, rocAUCInterval: nil, intercept: .nan, interceptInterval: nil,
                                atTiers: [SubgroupTierRow(tier: "medium", threshold: 0.1325, flagged: 0, flaggedShare: 0, sensitivity: .nan, sensitivityInterval: nil,
                                                          ppv: .nan, ppvInterval: nil),
                                          SubgroupTierRow(tier: "high <t>", threshold: 0.2157, flagged: 0, flaggedShare: 0, sensitivity: .nan, sensitivityInterval: nil,
                                                          ppv: .nan, ppvInterval: nil)]),
                ]),
                SubgroupTable(feature: "race <r>", columnTable: "patients", groups: [
                    SubgroupRow(name: "WHITE", count: 40, events: 12, observedRate: 0.3, observedInterval: ConfidenceInterval(lower: 0.18, upper: 0.45),
                                meanPredicted: 0.28, rocAUC: 0.61, rocAUCInterval: ConfidenceInterval(lower: 0.4, upper: 0.8),
                                intercept: 0.1, interceptInterval: ConfidenceInterval(lower: -0.5, upper: 0.7)),
                ]),
            ],
            ablation: [AblationRow(group: "earlier stays <h>", features: ["prior_encounters", "prev_number_inpatient"], rocAUC: 0.6712, brier: 0.09521,
                                   aucAdded: 0.0246, brierReduced: 0.00071),
                       AblationRow(group: "noise", features: ["x"], rocAUC: 0.6961, brier: 0.09449, aucAdded: -0.0003, brierReduced: -0.00001)])
    }
}
