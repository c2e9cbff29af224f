/// A point of a curve in data coordinates.
public struct CurvePoint: Sendable, Codable, Equatable {
    /// Horizontal value (false-positive rate, recall, or fraction of population targeted).
    public var x: Double
    /// Vertical value (true-positive rate, precision, or fraction of positives captured).
    public var y: Double

    /// Creates a point.
    public init(_ x: Double, _ y: Double) {
        self.x = x
        self.y = y
    }
}

/// One bin of a reliability (calibration) diagram.
public struct ReliabilityBin: Sendable, Codable, Equatable {
    /// Lower edge of the predicted-probability bin.
    public var lower: Double
    /// Upper edge of the predicted-probability bin.
    public var upper: Double
    /// Mean predicted probability of the records in the bin.
    public var meanPredicted: Double
    /// Observed positive rate of the records in the bin.
    public var observedRate: Double
    /// Number of records in the bin (bins with 0 records are not drawn).
    public var count: Int
    /// 95% interval of the observed rate, when computed (drawn as a whisker).
    public var observedInterval: ConfidenceInterval?

    /// Creates a bin.
    public init(lower: Double, upper: Double, meanPredicted: Double, observedRate: Double, count: Int,
                observedInterval: ConfidenceInterval? = nil) {
        self.lower = lower
        self.upper = upper
        self.meanPredicted = meanPredicted
        self.observedRate = observedRate
        self.count = count
        self.observedInterval = observedInterval
    }
}

/// A histogram of a model's scores, split by outcome.
public struct ScoreHistogram: Sendable, Codable, Equatable {
    /// Bin boundaries, ascending, `positiveCounts.count + 1` values.
    public var binEdges: [Double]
    /// Per-bin count of positive-outcome records.
    public var positiveCounts: [Int]
    /// Per-bin count of negative-outcome records.
    public var negativeCounts: [Int]

    /// Creates a histogram.
    public init(binEdges: [Double], positiveCounts: [Int], negativeCounts: [Int]) {
        self.binEdges = binEdges
        self.positiveCounts = positiveCounts
        self.negativeCounts = negativeCounts
    }
}

/// One evaluated model's curves and metrics on the test split.
public struct ModelCurves: Sendable, Codable, Equatable {
    /// Machine key, as in metrics.json (e.g. "risk_model", "logistic_regression").
    public var key: String
    /// Name shown to the reader (e.g. "Risk model (XGBoost, calibrated)").
    public var displayName: String
    /// ROC curve: x = false-positive rate, y = true-positive rate, ordered by threshold.
    public var roc: [CurvePoint]
    /// Precision-recall curve: x = recall, y = precision, ordered by threshold.
    public var precisionRecall: [CurvePoint]
    /// Reliability bins; empty when the score is not a probability (then the model is left
    /// out of the calibration diagram).
    public var reliability: [ReliabilityBin]
    /// Cumulative gain: x = fraction of population targeted (highest scores first),
    /// y = fraction of all positives captured. Lift is derived as y / x.
    public var cumulativeGain: [CurvePoint]
    /// Score distribution by outcome; only the served model's is plotted.
    public var scoreHistogram: ScoreHistogram?
    /// Scalar metrics.
    public var metrics: ModelMetrics

    /// Creates a model's evaluation record.
    public init(
        key: String, displayName: String, roc: [CurvePoint], precisionRecall: [CurvePoint],
        reliability: [ReliabilityBin], cumulativeGain: [CurvePoint],
        scoreHistogram: ScoreHistogram? = nil, metrics: ModelMetrics
    ) {
        self.key = key
        self.displayName = displayName
        self.roc = roc
        self.precisionRecall = precisionRecall
        self.reliability = reliability
        self.cumulativeGain = cumulativeGain
        self.scoreHistogram = scoreHistogram
        self.metrics = metrics
    }
}
