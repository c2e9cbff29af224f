import ReadmitModels

/// Whether the atypicality readmit serves with each risk goes with larger errors of that risk.
///
/// The test patients are cut into thirds by atypicality; each third gets its size, events,
/// observed and mean predicted rate, ROC AUC, Brier score (the mean squared error of the
/// served probability), scaled Brier score and calibration error |observed - predicted|.
///
/// The raw Brier score cannot answer the question: it grows with a group's event rate (it is
/// o(1-o) for a model that predicts the group's rate o to everyone), and unusual patients are
/// readmitted more often. The scaled Brier score, `1 - Brier / (o(1-o))` (the share of the
/// outcome's variance the risk explains), does not depend on the event rate that way. So the
/// claim "a higher atypicality means a less certain risk" holds on this data when the highest
/// third's scaled Brier score is below the lowest third's, with the patient-bootstrap 95%
/// interval of the difference below zero; the ROC AUC difference is reported beside it.
public struct AtypicalityValidation: Sendable {
    /// One third of the test patients.
    public struct Group: Sendable {
        /// "lowest third", "middle third", "highest third".
        public var name: String
        /// The group's atypicality range.
        public var lowest: Double, highest: Double
        /// Encounters and events.
        public var count: Int, events: Int
        /// Observed event rate and mean predicted risk.
        public var observedRate: Double, meanPredicted: Double
        /// ROC AUC within the group.
        public var rocAUC: Double
        /// Brier score within the group.
        public var brier: Double
        /// `1 - brier / (o(1-o))` with `o` the observed rate (NaN when o is 0 or 1).
        public var scaledBrier: Double
        /// |observed - mean predicted|.
        public var calibrationError: Double
    }

    /// The thirds, lowest atypicality first.
    public var groups: [Group]
    /// Scaled Brier score of the highest third minus the lowest's, and its patient-bootstrap 95% interval.
    public var scaledBrierDifference: Double, scaledBrierDifferenceInterval: (low: Double, high: Double)
    /// ROC AUC of the highest third minus the lowest's, and its interval.
    public var aucDifference: Double, aucDifferenceInterval: (low: Double, high: Double)
    /// True when the scaled Brier difference's interval lies below zero.
    public var largerErrorWithHigherAtypicality: Bool
    /// The finding in one or two sentences, for the report and `metrics.json`.
    public var verdict: String

    /// `1 - brier / (o(1-o))`; NaN when every outcome is the same.
    static func scaled(brier: Double, observed: Double) -> Double {
        let variance = observed * (1 - observed)
        return variance > 0 ? 1 - brier / variance : .nan
    }

    /// Validates `atypicality` against the errors of `risk` on `labels`.
    public init(risk: [Double], labels: [Bool], atypicality: [Double], patients: [Int], replicates: Int, seed: UInt64) {
        precondition(risk.count == labels.count && atypicality.count == labels.count && patients.count == labels.count)
        let byAtypicality = atypicality.indices.sorted { atypicality[$0] < atypicality[$1] }
        let n = byAtypicality.count
        let members: [[Int]] = (0..<3).map { k in Array(byAtypicality[(n * k / 3)..<(n * (k + 1) / 3)]) }
        let names = ["lowest third", "middle third", "highest third"]
        groups = members.enumerated().map { k, rows in
            let y = rows.map { labels[$0] }, p = rows.map { risk[$0] }
            let events = y.filter { $0 }.count
            let observed = Double(events) / Double(max(rows.count, 1))
            let predicted = p.reduce(0, +) / Double(max(rows.count, 1))
            var squared = 0.0
            for (pi, yi) in zip(p, y) { let d = pi - (yi ? 1 : 0); squared += d * d }
            let brier = squared / Double(max(rows.count, 1))
            return Group(name: names[k], lowest: rows.first.map { atypicality[$0] } ?? .nan, highest: rows.last.map { atypicality[$0] } ?? .nan,
                         count: rows.count, events: events, observedRate: observed, meanPredicted: predicted,
                         rocAUC: BinaryMetrics.rocAUC(scores: p, labels: y), brier: brier,
                         scaledBrier: Self.scaled(brier: brier, observed: observed), calibrationError: abs(observed - predicted))
        }
        let bottom = members[0], top = members[2]
        let bottomOrder = bottom.sorted { risk[$0] < risk[$1] }, topOrder = top.sorted { risk[$0] < risk[$1] }
        func scaledBrier(_ rows: [Int], _ w: [Double]) -> Double {
            var s = 0.0, events = 0.0, total = 0.0
            for r in rows {
                let d = risk[r] - (labels[r] ? 1 : 0)
                s += w[r] * d * d; total += w[r]
                if labels[r] { events += w[r] }
            }
            return total > 0 ? Self.scaled(brier: s / total, observed: events / total) : .nan
        }
        var bootstrap = PatientBootstrap(patients: patients, seed: seed)
        var scaledDiffs: [Double] = [], aucDiffs: [Double] = []
        for _ in 0..<replicates {
            let w = bootstrap.nextWeights()
            scaledDiffs.append(scaledBrier(top, w) - scaledBrier(bottom, w))
            aucDiffs.append(BinaryMetrics.weightedAUC(scores: risk, labels: labels, order: topOrder, weights: w)
                            - BinaryMetrics.weightedAUC(scores: risk, labels: labels, order: bottomOrder, weights: w))
        }
        scaledBrierDifference = groups[2].scaledBrier - groups[0].scaledBrier
        scaledBrierDifferenceInterval = PatientBootstrap.interval(scaledDiffs)
        aucDifference = groups[2].rocAUC - groups[0].rocAUC
        aucDifferenceInterval = PatientBootstrap.interval(aucDiffs)
        largerErrorWithHigherAtypicality = scaledBrierDifferenceInterval.high < 0
        func f(_ x: Double) -> String { x.isFinite ? String(format: "%.3f", x) : "-" }  // "-": undefined, as in the tables
        let (low, high) = (groups[0], groups[2])
        let figures = "scaled Brier score \(f(high.scaledBrier)) in the highest third against \(f(low.scaledBrier)) in the lowest (difference \(f(scaledBrierDifference)), 95% CI \(f(scaledBrierDifferenceInterval.low)) to \(f(scaledBrierDifferenceInterval.high))); ROC AUC \(f(high.rocAUC)) against \(f(low.rocAUC)) (difference 95% CI \(f(aucDifferenceInterval.low)) to \(f(aucDifferenceInterval.high))); readmitted \(f(high.observedRate)) against \(f(low.observedRate))"
        if scaledBrierDifference.isNaN || scaledBrierDifferenceInterval.high.isNaN {
            // Too few patients, or thirds without both outcomes: neither claim has evidence.
            verdict = "Whether higher atypicality goes with larger error cannot be judged on the evaluated patients (too few, or a third without both outcomes): \(figures). Atypicality says how unlike the training cohort a record is; it is not a measure of how certain its risk is."
        } else if largerErrorWithHigherAtypicality {
            verdict = "Higher atypicality goes with larger error on the evaluated patients: \(figures). A high atypicality marks a risk to read with more caution."
        } else {
            verdict = "Higher atypicality does not go with larger error on the evaluated patients: \(figures). Atypicality says how unlike the training cohort a record is; it is not a measure of how certain its risk is."
        }
    }
}
