/// Everything the report shows, as plain data.
///
/// The report module never sees the training pipeline's types: the caller (the `readmit`
/// executable) fills this from ReadmitCore's results, which keeps the report testable with
/// hand-made inputs and keeps the core free of presentation code.
public struct ReportInput: Sendable, Codable, Equatable {
    /// Page heading, e.g. "readmit: 30-day readmission risk".
    public var title: String
    /// When the report was generated, already formatted by the caller (kept as text so the
    /// output is byte-for-byte reproducible when the caller passes a fixed value).
    public var generatedAt: String
    /// One paragraph describing the data set (source, licence, row counts).
    public var datasetDescription: String
    /// Cohort summary table: counts, prevalence, split sizes, first-encounter variant.
    public var cohortSummary: [SummaryRow]
    /// Fraction of positive outcomes in the evaluation set, in [0, 1]: the precision-recall
    /// baseline and the "perfect model" line of the gain chart.
    public var prevalence: Double
    /// Per-feature fraction of missing values, shown as a table in the given order.
    public var missingness: [MissingnessRow]
    /// Key feature distributions by outcome; one plot `feature_<name>.svg` each.
    public var featureDistributions: [FeatureDistribution]
    /// Every evaluated model (baselines and the served model), in table order.
    public var models: [ModelCurves]
    /// `key` of the served model in `models` (conventionally "risk_model"); highlighted.
    public var servedModelKey: String
    /// Top risk factors of the served model, largest first.
    public var topRiskFactors: [RiskFactor]
    /// What the risk-factor importance is, e.g. "Mean |contribution| (log-odds)".
    public var riskFactorMeasure: String
    /// Label of the positive outcome, e.g. "Readmitted <30 days".
    public var positiveLabel: String
    /// Label of the negative outcome, e.g. "Not readmitted <30 days".
    public var negativeLabel: String
    /// Honest caveats (limitations, leakage checks, what the numbers do not mean).
    public var notes: [String]
    /// Model file facts: path, model id, format version, size, checksum.
    public var modelFileInfo: [SummaryRow]
    /// Calibration intercept and slope, decision curve, atypicality validation (nil: no such section).
    public var clinical: ClinicalInput?
    /// The model card (nil or empty: no such section).
    public var modelCard: [ModelCardSection]?
    /// What the figures were measured on, as headings and chart titles say it: "test split"
    /// (training's report) or, for `readmit evaluate --report`, the encounters evaluated.
    public var evaluatedOn: String

    /// Creates a report input; the outcome labels and risk-factor measure have defaults.
    public init(
        title: String,
        generatedAt: String,
        datasetDescription: String,
        cohortSummary: [SummaryRow],
        prevalence: Double,
        missingness: [MissingnessRow],
        featureDistributions: [FeatureDistribution],
        models: [ModelCurves],
        servedModelKey: String = "risk_model",
        topRiskFactors: [RiskFactor],
        riskFactorMeasure: String = "Mean |contribution| (log-odds)",
        positiveLabel: String = "Readmitted <30 days",
        negativeLabel: String = "Not readmitted <30 days",
        notes: [String],
        modelFileInfo: [SummaryRow],
        clinical: ClinicalInput? = nil,
        modelCard: [ModelCardSection]? = nil,
        evaluatedOn: String = "test split"
    ) {
        self.title = title
        self.generatedAt = generatedAt
        self.datasetDescription = datasetDescription
        self.cohortSummary = cohortSummary
        self.prevalence = prevalence
        self.missingness = missingness
        self.featureDistributions = featureDistributions
        self.models = models
        self.servedModelKey = servedModelKey
        self.topRiskFactors = topRiskFactors
        self.riskFactorMeasure = riskFactorMeasure
        self.positiveLabel = positiveLabel
        self.negativeLabel = negativeLabel
        self.notes = notes
        self.modelFileInfo = modelFileInfo
        self.clinical = clinical
        self.modelCard = modelCard
        self.evaluatedOn = evaluatedOn
    }
}
