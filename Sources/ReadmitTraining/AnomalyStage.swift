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
}
