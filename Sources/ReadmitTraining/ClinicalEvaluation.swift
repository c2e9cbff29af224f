import ReadmitModels

/// What a hospital's governance board asks of a readmission model beyond its ROC AUC
/// (TRIPOD+AI): calibration intercept and slope with intervals, the net benefit of acting on
/// it (decision curve), and whether the atypicality served with each risk goes with larger
/// errors, as its name claims. All on the test patients.
public struct ClinicalEvaluation: Sendable {
    /// Calibration intercept and slope of every evaluated model, by `metrics.json` key.
    public var calibration: [String: CalibrationFit]
    /// Patient-bootstrap 95% intervals of the served model's intercept and slope.
    public var interceptInterval: (low: Double, high: Double), slopeInterval: (low: Double, high: Double)
    /// Bootstrap replicates behind the intervals.
    public var replicates: Int
    /// Threshold probabilities of the decision curve.
    public var thresholds: [Double]
    /// Net benefit per threshold, by model key.
    public var netBenefit: [String: [Double]]
    /// Net benefit of treating every patient, per threshold (treat-none is 0).
    public var treatAll: [Double]
    /// Net benefit at the served model's tier thresholds: (tier, threshold, model, treat-all).
    public var atTiers: [(tier: String, threshold: Double, model: Double, treatAll: Double)]
    /// Performance by atypicality third.
    public var atypicality: AtypicalityValidation
    /// Coverage and width of the served model's risk intervals (nil: the model has none).
    public var interval: IntervalValidation?

    /// Evaluates `models` (key, test probabilities; the served model first) against `labels`.
    public init(models: [(key: String, probabilities: [Double])], labels: [Bool], atypicality: [Double], patients: [Int],
                tiers: [(name: String, minRisk: Double)], replicates: Int, seed: UInt64,
                interval: (low: [Double], high: [Double])? = nil) {
        let served = models[0].probabilities
        calibration = Dictionary(models.map { ($0.key, CalibrationFit(probabilities: $0.probabilities, labels: labels)) },
                                 uniquingKeysWith: { a, _ in a })
        let servedFit = calibration[models[0].key]
        var bootstrap = PatientBootstrap(patients: patients, seed: seed)
        var intercepts: [Double] = [], slopes: [Double] = []
        for _ in 0..<replicates {
            let fit = CalibrationFit(probabilities: served, labels: labels, weights: bootstrap.nextWeights(), start: servedFit)
            intercepts.append(fit.intercept)
            slopes.append(fit.slope)
        }
        interceptInterval = PatientBootstrap.interval(intercepts)
        slopeInterval = PatientBootstrap.interval(slopes)
        self.replicates = replicates

        thresholds = DecisionCurve.thresholds
        netBenefit = Dictionary(models.map { m in
            (m.key, DecisionCurve.thresholds.map { DecisionCurve.netBenefit(probabilities: m.probabilities, labels: labels, threshold: $0) })
        }, uniquingKeysWith: { a, _ in a })
        let prevalence = Double(labels.filter { $0 }.count) / Double(max(labels.count, 1))
        treatAll = DecisionCurve.thresholds.map { DecisionCurve.treatAll(prevalence: prevalence, threshold: $0) }
        atTiers = tiers.filter { $0.minRisk > 0 && $0.minRisk < 1 }.map { tier in
            (tier.name, tier.minRisk, DecisionCurve.netBenefit(probabilities: served, labels: labels, threshold: tier.minRisk),
             DecisionCurve.treatAll(prevalence: prevalence, threshold: tier.minRisk))
        }
        self.interval = interval.map { IntervalValidation(risk: served, low: $0.low, high: $0.high, labels: labels) }
        self.atypicality = AtypicalityValidation(risk: served, labels: labels, atypicality: atypicality, patients: patients,
                                                 replicates: replicates, seed: seed &+ 1)
    }
}
