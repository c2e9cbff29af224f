import ReadmitModels
import ReadmitTables

/// Two models' risks for the same encounters compared pair by pair (`readmit evaluate
/// --compare`): the model in production against a retrained or recalibrated one, before one
/// replaces the other.
///
/// Each difference (the second model's figure minus the first's) gets a patient-bootstrap
/// interval from the same replicates for both models, so the interval is that of the
/// difference, not two overlapping intervals read side by side (which would miss a real but
/// small gain: the two models' errors on one patient go together).
public struct PairedComparison: Sendable {
    /// A difference and its 95% patient-bootstrap interval.
    public struct Difference: Sendable {
        /// The second model's figure minus the first's.
        public var value: Double
        /// Its 95% interval.
        public var interval: (low: Double, high: Double)
    }

    /// ROC AUC difference (above 0: the second model ranks readmissions better).
    public let rocAUC: Difference
    /// Brier score difference (below 0: the second model's risks are nearer the outcomes).
    public let brier: Difference
    /// Mean risk difference (the second model's risks are higher on average where above 0).
    public let meanRisk: Difference
    /// Replicates behind the intervals.
    public let replicates: Int

    /// Compares `second` with `first`, risks of the same encounters with outcomes `labels`, whose
    /// patients are `patients` (encounters of one patient are drawn together).
    public init(first: [Double], second: [Double], labels: [Bool], patients: [Int], replicates: Int, seed: UInt64) {
        precondition(first.count == second.count && first.count == labels.count && labels.count == patients.count)
        let orderFirst = first.indices.sorted { first[$0] < first[$1] }
        let orderSecond = second.indices.sorted { second[$0] < second[$1] }
        let ones = [Double](repeating: 1, count: labels.count)
        func figures(_ w: [Double]) -> (auc: Double, brier: Double, mean: Double) {
            var total = 0.0, squared = 0.0, mean = 0.0
            for i in labels.indices where w[i] > 0 {
                let y = labels[i] ? 1.0 : 0.0
                total += w[i]
                squared += w[i] * ((second[i] - y) * (second[i] - y) - (first[i] - y) * (first[i] - y))
                mean += w[i] * (second[i] - first[i])
            }
            let auc = BinaryMetrics.weightedAUC(scores: second, labels: labels, order: orderSecond, weights: w)
                - BinaryMetrics.weightedAUC(scores: first, labels: labels, order: orderFirst, weights: w)
            return total > 0 ? (auc, squared / total, mean / total) : (.nan, .nan, .nan)
        }
        let point = figures(ones)
        var bootstrap = PatientBootstrap(patients: patients, seed: seed)
        var aucs: [Double] = [], briers: [Double] = [], means: [Double] = []
        for _ in 0..<replicates {
            let f = figures(bootstrap.nextWeights())
            aucs.append(f.auc); briers.append(f.brier); means.append(f.mean)
        }
        rocAUC = Difference(value: point.auc, interval: PatientBootstrap.interval(aucs))
        brier = Difference(value: point.brier, interval: PatientBootstrap.interval(briers))
        meanRisk = Difference(value: point.mean, interval: PatientBootstrap.interval(means))
        self.replicates = replicates
    }
}
