import Foundation
import ReadmitFeatures
import ReadmitSpec
import ReadmitTables

/// Discrimination and calibration metrics of scores against binary outcomes.
public struct BinaryMetrics: Codable, Sendable, Equatable {
    /// Area under the ROC curve (ties count one half).
    public var rocAUC: Double
    /// Area under the precision-recall curve (average precision, as scikit-learn computes it);
    /// NaN without a positive row (no recall to step through: 0 would read as the worst model).
    public var prAUC: Double
    /// Mean squared error of the scores as probabilities (nil when the scores are not probabilities).
    public var brier: Double?
    /// Expected calibration error over 10 equal-width bins (nil when the scores are not probabilities).
    public var ece: Double?
    /// Precision among the 10% highest scores (NaN without rows).
    public var precisionAt10: Double
    /// Share of all positives found among the 10% highest scores (NaN without a positive row).
    public var recallAt10: Double
    /// Number of rows.
    public var count: Int
    /// Number of positive rows.
    public var positives: Int

    /// Keys used in `metrics.json`.
    enum CodingKeys: String, CodingKey {
        case rocAUC = "roc_auc", prAUC = "pr_auc", brier, ece
        case precisionAt10 = "precision_at_10pct", recallAt10 = "recall_at_10pct", count = "n", positives
    }

    /// Computes the metrics; `probabilities` says whether Brier and ECE are meaningful.
    public init(scores: [Double], labels: [Bool], probabilities: Bool) {
        precondition(scores.count == labels.count, "scores and labels differ in length")
        let count = scores.count
        self.count = count
        positives = labels.filter { $0 }.count
        rocAUC = Self.rocAUC(scores: scores, labels: labels)
        prAUC = positives > 0 ? Self.averagePrecision(scores: scores, labels: labels) : .nan
        if probabilities {
            var s = 0.0
            for i in 0..<scores.count { let d = scores[i] - (labels[i] ? 1 : 0); s += d * d }
            brier = s / Double(max(count, 1))
            ece = Self.calibrationBins(scores: scores, labels: labels).reduce(0) { $0 + Double($1.count) / Double(max(count, 1)) * abs($1.meanPredicted - $1.observedRate) }
        }
        let order = scores.indices.sorted { scores[$0] > scores[$1] }
        let top = max(1, Int((Double(count) * 0.1).rounded()))
        let hits = order.prefix(top).filter { labels[$0] }.count
        precisionAt10 = count > 0 ? Double(hits) / Double(top) : .nan
        recallAt10 = positives > 0 ? Double(hits) / Double(positives) : .nan
    }

    /// ROC AUC by the rank-sum (Mann-Whitney) formula with midranks for ties.
    public static func rocAUC(scores: [Double], labels: [Bool]) -> Double {
        let order = scores.indices.sorted { scores[$0] < scores[$1] }
        var rankSum = 0.0
        var i = 0
        let n = order.count
        while i < n {
            var j = i
            while j + 1 < n && scores[order[j + 1]] == scores[order[i]] { j += 1 }
            let midrank = Double(i + j) / 2 + 1
            for k in i...j where labels[order[k]] { rankSum += midrank }
            i = j + 1
        }
        let p = Double(labels.filter { $0 }.count), q = Double(n) - p
        if p == 0 || q == 0 { return .nan }
        return (rankSum - p * (p + 1) / 2) / (p * q)
    }

    /// Average precision: sum over thresholds of (recall step) x precision.
    public static func averagePrecision(scores: [Double], labels: [Bool]) -> Double {
        let curve = precisionRecallCurve(scores: scores, labels: labels)
        var ap = 0.0, lastRecall = 0.0
        for point in curve { ap += (point.recall - lastRecall) * point.precision; lastRecall = point.recall }
        return ap
    }

    /// ROC curve points (false positive rate, true positive rate) at each distinct threshold, from (0,0).
    public static func rocCurve(scores: [Double], labels: [Bool]) -> [(fpr: Double, tpr: Double)] {
        let order = scores.indices.sorted { scores[$0] > scores[$1] }
        let p = Double(labels.filter { $0 }.count), q = Double(labels.count) - p
        var tp = 0.0, fp = 0.0
        var out: [(Double, Double)] = [(0, 0)]
        var i = 0
        while i < order.count {
            var j = i
            while j < order.count && scores[order[j]] == scores[order[i]] { if labels[order[j]] { tp += 1 } else { fp += 1 }; j += 1 }
            out.append((q > 0 ? fp / q : 0, p > 0 ? tp / p : 0))
            i = j
        }
        return out
    }

    /// Precision-recall points at each distinct threshold, in increasing recall.
    public static func precisionRecallCurve(scores: [Double], labels: [Bool]) -> [(recall: Double, precision: Double)] {
        let order = scores.indices.sorted { scores[$0] > scores[$1] }
        let p = Double(labels.filter { $0 }.count)
        var tp = 0.0, seen = 0.0
        var out: [(Double, Double)] = []
        var i = 0
        while i < order.count {
            var j = i
            while j < order.count && scores[order[j]] == scores[order[i]] { if labels[order[j]] { tp += 1 }; seen += 1; j += 1 }
            out.append((p > 0 ? tp / p : 0, tp / seen))
            i = j
        }
        return out
    }

    /// One bin of a reliability diagram.
    public struct CalibrationBin: Codable, Sendable, Equatable {
        /// Mean predicted probability in the bin.
        public var meanPredicted: Double
        /// Observed positive rate in the bin.
        public var observedRate: Double
        /// Rows in the bin.
        public var count: Int
        /// Wilson 95% interval of the observed rate.
        public var observedLow: Double, observedHigh: Double
    }

    /// The Wilson score interval of a binomial proportion (`z` 1.96: 95%); (0, 1) for n = 0.
    public static func wilsonInterval(successes: Double, n: Double, z: Double = 1.959964) -> (low: Double, high: Double) {
        guard n > 0 else { return (0, 1) }
        let p = successes / n, z2 = z * z
        let center = (p + z2 / (2 * n)) / (1 + z2 / n)
        let half = z / (1 + z2 / n) * (p * (1 - p) / n + z2 / (4 * n * n)).squareRoot()
        return (max(0, center - half), min(1, center + half))
    }

    /// The Wilson interval of the share of `labels` that are true when rows come in clusters
    /// (`clusters[i]`: row i's patient), whose rows are not independent: the sample size is the
    /// effective one, `n` times the binomial variance over the cluster-robust variance of the
    /// share (`sum_j (y_j - p m_j)^2 / n^2` for a patient with `m_j` stays, `y_j` readmitted),
    /// kept between the number of patients and `n` (Kish's design effect, as survey statistics
    /// adjust a Wilson interval). With one stay per patient it is the plain Wilson interval; with
    /// each patient's stays copies of one stay, the Wilson interval of one stay per patient. With
    /// a share of 0 or 1 (no variance to estimate) the patients count once each.
    public static func clusteredWilsonInterval(labels: [Bool], clusters: [Int], z: Double = 1.959964) -> (low: Double, high: Double) {
        precondition(labels.count == clusters.count)
        let n = Double(labels.count)
        guard n > 0 else { return (0, 1) }
        // Per patient, in order of first appearance (a dictionary's own order changes from one
        // process to the next, and with it the last bits of the sum).
        var index: [Int: Int] = [:], stays: [Double] = [], readmitted: [Double] = []
        for (label, c) in zip(labels, clusters) {
            let k = index[c] ?? { index[c] = stays.count; stays.append(0); readmitted.append(0); return stays.count - 1 }()
            stays[k] += 1
            readmitted[k] += label ? 1 : 0
        }
        let events = labels.reduce(0.0) { $0 + ($1 ? 1 : 0) }
        guard stays.count < labels.count else { return wilsonInterval(successes: events, n: n, z: z) }
        let p = events / n, g = Double(stays.count)
        var squares = 0.0
        for k in stays.indices { squares += (readmitted[k] - p * stays[k]) * (readmitted[k] - p * stays[k]) }
        let robust = squares / (n * n)
        let binomial = p * (1 - p) / n
        let effective = robust > 0 && binomial > 0 ? min(n, max(g, n * binomial / robust)) : g
        return wilsonInterval(successes: p * effective, n: effective, z: z)
    }

    /// Non-empty equal-width probability bins. With `clusters` (each row's patient), each bin's
    /// interval counts a patient's repeated stays by their effective sample size
    /// (``clusteredWilsonInterval(labels:clusters:z:)``); without, the stays as independent.
    public static func calibrationBins(scores: [Double], labels: [Bool], bins: Int = 10, clusters: [Int]? = nil) -> [CalibrationBin] {
        var sum = [Double](repeating: 0, count: bins), pos = [Double](repeating: 0, count: bins), cnt = [Int](repeating: 0, count: bins)
        for i in 0..<scores.count {
            let b = min(max(Int(scores[i] * Double(bins)), 0), bins - 1)
            sum[b] += scores[i]; cnt[b] += 1
            if labels[i] { pos[b] += 1 }
        }
        var members: [[Int]] = clusters == nil ? [] : [[Int]](repeating: [], count: bins)
        if clusters != nil { for i in 0..<scores.count { members[min(max(Int(scores[i] * Double(bins)), 0), bins - 1)].append(i) } }
        return (0..<bins).compactMap { b in
            guard cnt[b] > 0 else { return nil }
            let interval = clusters.map { c in clusteredWilsonInterval(labels: members[b].map { labels[$0] }, clusters: members[b].map { c[$0] }) }
                ?? wilsonInterval(successes: pos[b], n: Double(cnt[b]))
            return CalibrationBin(meanPredicted: sum[b] / Double(cnt[b]), observedRate: pos[b] / Double(cnt[b]), count: cnt[b],
                                  observedLow: interval.low, observedHigh: interval.high)
        }
    }

    /// Cumulative gain: share of positives found (y) among the top share of rows (x), at `points` steps.
    public static func cumulativeGain(scores: [Double], labels: [Bool], points: Int = 50) -> [(share: Double, gain: Double)] {
        let order = scores.indices.sorted { scores[$0] > scores[$1] }
        let p = Double(max(labels.filter { $0 }.count, 1))
        var out: [(Double, Double)] = [(0, 0)]
        var tp = 0.0, next = 1
        for (k, i) in order.enumerated() {
            if labels[i] { tp += 1 }
            while next <= points && k + 1 >= Int((Double(order.count) * Double(next) / Double(points)).rounded()) {
                out.append((Double(next) / Double(points), tp / p)); next += 1
            }
        }
        return out
    }

    /// A patient-clustered bootstrap percentile interval of the ROC AUC: patients (not rows) are
    /// resampled with replacement (``PatientBootstrap``), so repeat encounters of one patient
    /// move together.
    ///
    /// A replicate is a weighting of the original rows, so the rows are sorted once and each
    /// replicate's AUC is one pass: the weighted Mann-Whitney statistic with ties counted one half.
    public static func bootstrapAUC(scores: [Double], labels: [Bool], patients: [Int], replicates: Int = 1000,
                                    level: Double = 0.95, seed: UInt64) -> (low: Double, high: Double) {
        let order = scores.indices.sorted { scores[$0] < scores[$1] }
        var bootstrap = PatientBootstrap(patients: patients, seed: seed)
        var aucs: [Double] = []
        aucs.reserveCapacity(replicates)
        for _ in 0..<replicates {
            let weight = bootstrap.nextWeights()
            aucs.append(weightedAUC(scores: scores, labels: labels, order: order, weights: weight))
        }
        return PatientBootstrap.interval(aucs, level: level)
    }

    /// The ROC AUC with case weights, given the rows in increasing score (`order`); NaN
    /// without weight on both outcomes.
    public static func weightedAUC(scores: [Double], labels: [Bool], order: [Int], weights: [Double]) -> Double {
        // Walk tie blocks in increasing score: each positive outranks the negatives below its block.
        var negativesBelow = 0.0, pairs = 0.0, positives = 0.0
        var i = 0
        while i < order.count {
            var j = i, blockPos = 0.0, blockNeg = 0.0
            while j < order.count && scores[order[j]] == scores[order[i]] {
                let w = weights[order[j]]
                if labels[order[j]] { blockPos += w } else { blockNeg += w }
                j += 1
            }
            pairs += blockPos * (negativesBelow + 0.5 * blockNeg)
            positives += blockPos
            negativesBelow += blockNeg
            i = j
        }
        return positives > 0 && negativesBelow > 0 ? pairs / (positives * negativesBelow) : .nan
    }
}
