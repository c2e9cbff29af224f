import ReadmitFeatures
import ReadmitModelFile
import ReadmitModels
import ReadmitSpec
import ReadmitTables

/// One model's evaluation on the test split, with the curves the report draws.
public struct ModelEvaluation: Sendable {
    /// Key in `metrics.json` (`risk_model`, `logistic_regression`, ...).
    public var key: String
    /// Name for people.
    public var name: String
    /// Test-split metrics of the (calibrated) probabilities.
    public var metrics: BinaryMetrics
    /// ROC curve points.
    public var roc: [(fpr: Double, tpr: Double)]
    /// Precision-recall curve points.
    public var precisionRecall: [(recall: Double, precision: Double)]
    /// Reliability diagram bins.
    public var calibration: [BinaryMetrics.CalibrationBin]
    /// Cumulative gain points.
    public var gain: [(share: Double, gain: Double)]
    /// Calibrated test probabilities, per test row.
    public var probabilities: [Double]

    /// Evaluates calibrated probabilities against labels; with `patients` (each row's), the
    /// reliability bins' intervals count a patient's repeated stays by their effective number.
    public init(key: String, name: String, probabilities: [Double], labels: [Bool], patients: [Int]? = nil) {
        self.key = key
        self.name = name
        self.probabilities = probabilities
        metrics = BinaryMetrics(scores: probabilities, labels: labels, probabilities: true)
        roc = Self.thin(BinaryMetrics.rocCurve(scores: probabilities, labels: labels))
        precisionRecall = Self.thin(BinaryMetrics.precisionRecallCurve(scores: probabilities, labels: labels))
        calibration = BinaryMetrics.calibrationBins(scores: probabilities, labels: labels, clusters: patients)
        gain = BinaryMetrics.cumulativeGain(scores: probabilities, labels: labels)
    }

    /// Keeps at most about 400 points of a curve (plots need no more), always the last.
    static func thin<T>(_ points: [T]) -> [T] {
        let step = max(1, points.count / 400)
        var out = stride(from: 0, to: points.count, by: step).map { points[$0] }
        if let last = points.last, (points.count - 1) % step != 0 { out.append(last) }
        return out
    }
}

/// Counts describing the cohort.
public struct CohortSummary: Sendable {
    /// The dataset spec's name.
    public var dataset: String
    /// Rows in the encounter table.
    public var rows: Int
    /// Distinct patients in the encounter table.
    public var patients: Int
    /// Rows excluded, all reasons.
    public var excluded: Int
    /// Rows excluded per reason, in spec order.
    public var exclusions: [(reason: String, count: Int)]
    /// Eligible rows left out by the cohort filter (first encounter only).
    public var notFirstEncounter: Int
    /// Rows left out by a declared split (a stay straddling the split date, an unknown side).
    public var leftOutBySplit: Int
    /// Patients with encounters on both sides of a declared split.
    public var patientsOnBothSides: Int
    /// The split rule in words.
    public var splitDescription: String
    /// Eligible encounters in training / test.
    public var trainEncounters: Int, testEncounters: Int
    /// Patients in training / test.
    public var trainPatients: Int, testPatients: Int
    /// Positive (readmitted < 30 days) encounters in training / test.
    public var trainPositives: Int, testPositives: Int
    /// Test encounters that are their patient's first.
    public var testFirstEncounters: Int
    /// Training rows used to fit, choose hyperparameters and calibrate.
    public var fitRows: Int, validationRows: Int, calibrationRows: Int
}

/// A feature's distribution among positive and negative training encounters.
public struct FeatureDistribution: Sendable {
    /// Feature name.
    public var feature: String
    /// Bin or level labels.
    public var bins: [String]
    /// Positive encounters per bin.
    public var positive: [Int]
    /// Negative encounters per bin.
    public var negative: [Int]
    /// Mean among positive and negative encounters (numeric features; missing values left out).
    public var means: (positive: Double, negative: Double)?
}

/// One hyperparameter set tried on the validation patients.
public struct HyperparameterTrial: Sendable {
    /// The parameters that varied.
    public var description: String
    /// Best validation log loss.
    public var validationLogLoss: Double
    /// Validation ROC AUC at the best round.
    public var validationAUC: Double
    /// Rounds kept.
    public var rounds: Int
}

/// Everything a training run produces.
public struct TrainingResult: Sendable {
    /// The fitted model, encoded for its model file (its id was computed from this encoding).
    public var modelFile: EncodedModel
    /// The fitted model.
    public var parameters: ModelParameters { modelFile.parameters }
    /// Cohort counts.
    public var cohort: CohortSummary
    /// Evaluations of the served model and of the references, risk model first.
    public var evaluations: [ModelEvaluation]
    /// Patient-level bootstrap 95% interval of the risk model's test ROC AUC.
    public var riskModelAUCInterval: (low: Double, high: Double)
    /// Calibration intercept and slope, decision curve and atypicality validation.
    public var clinical: ClinicalEvaluation
    /// Performance and calibration per subgroup the spec declares, in spec order.
    public var subgroups: [SubgroupEvaluation]
    /// The risk model on each test patient's first encounter only.
    public var firstEncounterMetrics: BinaryMetrics
    /// Hyperparameter trials on the validation patients, in the order tried.
    public var trials: [HyperparameterTrial]
    /// What each feature group adds: the model retrained without it, in the spec's order (empty
    /// when the ablation was not run).
    public var ablation: [AblationResult]
    /// Missing share of each feature in the eligible cohort.
    public var missingness: [(column: String, fraction: Double)]
    /// Mean absolute contribution (log-odds) of each schema feature on test rows, largest first.
    public var importance: [(feature: String, meanAbsContribution: Double)]
    /// Distributions of key features by outcome (training rows).
    public var distributions: [FeatureDistribution]
    /// Test-row outcomes, parallel to each evaluation's probabilities.
    public var testLabels: [Bool]
    /// Wall time of each stage in seconds, in order.
    public var stageSeconds: [(stage: String, seconds: Double)]
}
