/// A two-sided confidence interval.
public struct ConfidenceInterval: Sendable, Codable, Equatable {
    /// Lower bound.
    public var lower: Double
    /// Upper bound.
    public var upper: Double
    /// Coverage, e.g. 0.95.
    public var level: Double

    /// Creates an interval.
    public init(lower: Double, upper: Double, level: Double = 0.95) {
        self.lower = lower
        self.upper = upper
        self.level = level
    }
}

/// The scalar test-split metrics of one model (the keys of metrics.json).
public struct ModelMetrics: Sendable, Codable, Equatable {
    /// Area under the ROC curve.
    public var rocAUC: Double
    /// Bootstrap interval of `rocAUC`, when computed (the served model).
    public var rocAUCInterval: ConfidenceInterval?
    /// Area under the precision-recall curve (average precision).
    public var prAUC: Double
    /// Brier score; nil when the score is not a probability (e.g. an anomaly score).
    public var brier: Double?
    /// Expected calibration error; nil when the score is not a probability.
    public var ece: Double?
    /// Precision among the 10% highest-scored records.
    public var precisionAt10Pct: Double
    /// Recall among the 10% highest-scored records.
    public var recallAt10Pct: Double

    /// Creates a metrics record.
    public init(
        rocAUC: Double, rocAUCInterval: ConfidenceInterval? = nil, prAUC: Double,
        brier: Double?, ece: Double?, precisionAt10Pct: Double, recallAt10Pct: Double
    ) {
        self.rocAUC = rocAUC
        self.rocAUCInterval = rocAUCInterval
        self.prAUC = prAUC
        self.brier = brier
        self.ece = ece
        self.precisionAt10Pct = precisionAt10Pct
        self.recallAt10Pct = recallAt10Pct
    }
}
