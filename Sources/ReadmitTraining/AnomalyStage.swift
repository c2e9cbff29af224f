import ReadmitFeatures
import ReadmitModelFile
import ReadmitModels
import ReadmitSpec
import ReadmitTables

/// The anomaly detectors, fitted on all training encounters (unsupervised), and their scores
/// of every cohort encounter.
struct AnomalyStage: Sendable {
    /// The cohort's imputed one-hot matrix (isolation forest and logistic regression input).
    let imputed: FeatureMatrix
    /// The isolation forest and its score per cohort encounter.
    let forest: IsolationForest, forestScores: [Double]
    /// The per-feature histogram detector and its score per cohort encounter.
    let detector: HistogramDetector, detectorScores: [Double]
    /// Sorted forest scores of (about 2,000) training encounters: the atypicality reference.
    let reference: [Double]

    init(features: FeatureStage, split: TrainingSplit, options: TrainingOptions) {
        imputed = features.layout.expand(features.x, imputed: true)
        forest = IsolationForest(data: imputed.selecting(rows: split.train), trees: options.forestTrees,
                                 maxSamples: options.forestSamples, seed: options.seed)
        let forestScores = forest.score(imputed)
        self.forestScores = forestScores
        detector = HistogramDetector(schema: features.schema, training: features.xTrain)
        detectorScores = detector.score(features.x)
        let trainForest = split.train.map { forestScores[$0] }.sorted()
        reference = stride(from: 0, to: trainForest.count, by: max(1, trainForest.count / 2000)).map { trainForest[$0] }
    }

    /// The booster input of schema rows `x`: one column per feature (levels ranked) plus the
    /// two anomaly scores of those rows.
    func boosterInput(_ x: FeatureMatrix, layout: ModelInputLayout, forestScores: [Double]? = nil, detectorScores: [Double]? = nil) -> FeatureMatrix {
        let forestScores = forestScores ?? forest.score(layout.expand(x, imputed: true))
        let detectorScores = detectorScores ?? detector.score(x)
        let m = x.columns, width = m + 2
        var values = [Double](repeating: 0, count: x.rows * width)
        x.values.withUnsafeBufferPointer { src in
            values.withUnsafeMutableBufferPointer { dst in
                guard let s = src.baseAddress, let d = dst.baseAddress else { return }
                for r in 0..<x.rows {
                    layout.boosterRow(s + r * m, into: d + r * width)
                    d[r * width + width - 2] = forestScores[r]
                    d[r * width + width - 1] = detectorScores[r]
                }
            }
        }
        return FeatureMatrix(rows: x.rows, columns: width, values: values)
    }
}

/// Unknown history, a state the booster must have seen: a caller that does not send a
/// patient's history gets NaN history features, not a first encounter's zeros. Training adds a
/// copy of a share of its rows with every history feature withheld; evaluation reports the test
/// metrics both ways.
struct HistoryWithholding: Sendable {
    /// Schema indices of the history features.
    let columns: [Int]

    init(schema: FeatureSchema) {
        columns = schema.features.indices.filter { schema.features[$0].transform == .history }
    }

    /// `x` with every history feature missing.
    func withheld(_ x: FeatureMatrix) -> FeatureMatrix {
        var out = x
        for r in 0..<x.rows { for j in columns { out.values[r * x.columns + j] = .nan } }
        return out
    }

    /// The cohort indices among `rows` whose withheld copy joins training: a seeded share.
    static func sample(_ rows: [Int], share: Double, seed: UInt64) -> [Int] {
        guard share > 0 else { return [] }
        let cut = UInt64(share * 1_000_000)
        return rows.filter { SplitMix64.mix(UInt64($0) ^ SplitMix64.mix(seed)) % 1_000_000 < cut }
    }
}
