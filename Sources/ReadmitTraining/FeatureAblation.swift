import ReadmitFeatures
import ReadmitModels
import ReadmitSpec

/// What one group of features adds: the refit booster trained again without the group, then
/// calibrated and evaluated exactly as the served model is.
public struct AblationResult: Sendable {
    /// The group's name (from the spec's `report.ablation`, or a feature kind).
    public var group: String
    /// The features withheld.
    public var features: [String]
    /// Test ROC AUC and Brier score of the model without the group (Platt-calibrated on the
    /// calibration patients).
    public var rocAUC: Double, brier: Double
    /// The served model's test ROC AUC and Brier score minus these: what the group adds.
    public var aucAdded: Double, brierReduced: Double
}

/// Leave-one-group-out ablation of the booster's inputs.
///
/// A group is withheld by setting its columns to missing in every training and test row, which
/// for a tree booster is the same as removing them: a column that is always missing is never
/// split on. Everything else is held fixed (the chosen hyperparameters, the refit's round count,
/// the seed, the history-withheld copies and the anomaly scores, which keep reading every
/// feature), so each row of the table differs from the served model in the group alone. The
/// figures are on the test split, as the served model's are: they describe the model, no
/// choice is made from them.
enum FeatureAblation {
    static func run(groups: [AblationGroup], schema: FeatureSchema, search: BoosterSearch, refit: BoosterRefit, split: TrainingSplit,
                    served: BinaryMetrics, options: TrainingOptions, progress: (String) -> Void) throws -> [AblationResult] {
        let yTest = split.labels(split.test), yCalib = split.labels(split.calibration)
        let (xTrain, yTrain) = search.trainingSet(refit.rows, split: split)
        let xCalib = search.input.selecting(rows: split.calibration)
        let xTest = search.input.selecting(rows: split.test)
        var out: [AblationResult] = []
        for group in groups {
            let columns = group.features.compactMap(schema.index(of:))
            guard !columns.isEmpty else { continue }
            progress("ablation: without \(group.name)")
            let booster = try XGBoostBooster.train(
                train: withheld(xTrain, columns), labels: yTrain,
                parameters: BoosterSearch.parameters(search.setting, prevalence: search.prevalence, seed: options.seed),
                rounds: refit.rounds, threads: options.threads)
            let platt = PlattCalibrator(margins: try booster.predict(withheld(xCalib, columns), kind: .margin), labels: yCalib)
            let risk = try booster.predict(withheld(xTest, columns), kind: .margin).map { platt.probability(margin: $0) }
            let metrics = BinaryMetrics(scores: risk, labels: yTest, probabilities: true)
            let brier = metrics.brier ?? .nan, servedBrier = served.brier ?? .nan
            out.append(AblationResult(group: group.name, features: group.features, rocAUC: metrics.rocAUC, brier: brier,
                                      aucAdded: served.rocAUC - metrics.rocAUC, brierReduced: brier - servedBrier))
        }
        return out
    }

    /// `x` with `columns` missing in every row.
    static func withheld(_ x: FeatureMatrix, _ columns: [Int]) -> FeatureMatrix {
        var out = x
        out.values.withUnsafeMutableBufferPointer { v in
            for r in 0..<x.rows { for j in columns { v[r * x.columns + j] = .nan } }
        }
        return out
    }
}
