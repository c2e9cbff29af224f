/// Calibration intercept and slope of one model.
public struct CalibrationRow: Sendable, Codable, Equatable {
    /// `key` of the model in `ReportInput.models`.
    public var modelKey: String
    /// Calibration-in-the-large (ideal 0) and its interval, when computed (the served model).
    public var intercept: Double, interceptInterval: ConfidenceInterval?
    /// Calibration slope (ideal 1) and its interval, when computed.
    public var slope: Double, slopeInterval: ConfidenceInterval?

    /// Creates a row.
    public init(modelKey: String, intercept: Double, interceptInterval: ConfidenceInterval? = nil, slope: Double,
                slopeInterval: ConfidenceInterval? = nil) {
        self.modelKey = modelKey
        self.intercept = intercept
        self.interceptInterval = interceptInterval
        self.slope = slope
        self.slopeInterval = slopeInterval
    }
}

/// Net benefit at one of the served model's tier thresholds.
public struct TierNetBenefit: Sendable, Codable, Equatable {
    /// Tier name and its lower risk bound (the threshold probability).
    public var tier: String, threshold: Double
    /// Net benefit of the served model and of treating everyone (treat-none is 0).
    public var model: Double, treatAll: Double

    /// Creates a row.
    public init(tier: String, threshold: Double, model: Double, treatAll: Double) {
        self.tier = tier
        self.threshold = threshold
        self.model = model
        self.treatAll = treatAll
    }
}

/// Test performance within one atypicality group.
public struct AtypicalityGroupRow: Sendable, Codable, Equatable {
    /// "lowest third", ...
    public var name: String
    /// The group's atypicality range.
    public var lowest: Double, highest: Double
    /// Encounters and events.
    public var count: Int, events: Int
    /// Observed rate, mean predicted risk, ROC AUC, Brier score, |observed - predicted|.
    public var observedRate: Double, meanPredicted: Double, rocAUC: Double, brier: Double, calibrationError: Double
    /// Scaled Brier score, `1 - brier / (o(1-o))`.
    public var scaledBrier: Double

    /// Creates a row.
    public init(name: String, lowest: Double, highest: Double, count: Int, events: Int, observedRate: Double,
                meanPredicted: Double, rocAUC: Double, brier: Double, scaledBrier: Double, calibrationError: Double) {
        self.name = name
        self.lowest = lowest
        self.highest = highest
        self.count = count
        self.events = events
        self.observedRate = observedRate
        self.meanPredicted = meanPredicted
        self.rocAUC = rocAUC
        self.brier = brier
        self.scaledBrier = scaledBrier
        self.calibrationError = calibrationError
    }
}

/// One group of a subgroup breakdown.
public struct SubgroupRow: Sendable, Codable, Equatable {
    /// The level, band or `missing`.
    public var name: String
    /// Encounters and events.
    public var count: Int, events: Int
    /// Distinct patients (nil: not given, as in inputs written before it was).
    public var patients: Int?
    /// Observed rate (with its interval) and mean predicted risk.
    public var observedRate: Double, observedInterval: ConfidenceInterval?, meanPredicted: Double
    /// ROC AUC and calibration-in-the-large, with intervals (NaN: one outcome only).
    public var rocAUC: Double, rocAUCInterval: ConfidenceInterval?, intercept: Double, interceptInterval: ConfidenceInterval?
    /// What each tier above the lowest flags in the group (nil: not given, as in inputs
    /// written before it was).
    public var atTiers: [SubgroupTierRow]?

    /// Creates a row.
    public init(name: String, count: Int, events: Int, patients: Int? = nil, observedRate: Double, observedInterval: ConfidenceInterval?, meanPredicted: Double,
                rocAUC: Double, rocAUCInterval: ConfidenceInterval?, intercept: Double, interceptInterval: ConfidenceInterval?,
                atTiers: [SubgroupTierRow]? = nil) {
        self.name = name
        self.count = count
        self.events = events
        self.patients = patients
        self.observedRate = observedRate
        self.observedInterval = observedInterval
        self.meanPredicted = meanPredicted
        self.rocAUC = rocAUC
        self.rocAUCInterval = rocAUCInterval
        self.intercept = intercept
        self.interceptInterval = interceptInterval
        self.atTiers = atTiers
    }
}

/// What acting on one tier and those above it does in one group: stays flagged, the share of
/// its readmissions flagged (sensitivity) and of its flagged stays readmitted (PPV).
public struct SubgroupTierRow: Sendable, Codable, Equatable {
    /// The tier and its lowest risk.
    public var tier: String, threshold: Double
    /// Stays flagged and their share of the group's.
    public var flagged: Int, flaggedShare: Double
    /// Sensitivity (NaN: no readmission) and PPV (NaN: none flagged), with intervals.
    public var sensitivity: Double, sensitivityInterval: ConfidenceInterval?, ppv: Double, ppvInterval: ConfidenceInterval?

    /// Creates a row.
    public init(tier: String, threshold: Double, flagged: Int, flaggedShare: Double, sensitivity: Double, sensitivityInterval: ConfidenceInterval?,
                ppv: Double, ppvInterval: ConfidenceInterval?) {
        self.tier = tier
        self.threshold = threshold
        self.flagged = flagged
        self.flaggedShare = flaggedShare
        self.sensitivity = sensitivity
        self.sensitivityInterval = sensitivityInterval
        self.ppv = ppv
        self.ppvInterval = ppvInterval
    }
}

/// The groups of one subgroup feature, or of one column read as written.
public struct SubgroupTable: Sendable, Codable, Equatable {
    /// The feature's or the column's name.
    public var feature: String
    /// For a column's groups, the table it is read from (`encounters`, `patients`); nil for a
    /// feature's.
    public var columnTable: String?
    /// Its groups, in order.
    public var groups: [SubgroupRow]

    /// Creates a table.
    public init(feature: String, columnTable: String? = nil, groups: [SubgroupRow]) {
        self.feature = feature
        self.columnTable = columnTable
        self.groups = groups
    }
}

/// One row of the ablation table: the model retrained without a group of features.
public struct AblationRow: Sendable, Codable, Equatable {
    /// The group's name.
    public var group: String
    /// The features withheld.
    public var features: [String]
    /// Test ROC AUC and Brier score without the group.
    public var rocAUC: Double, brier: Double
    /// What the group adds: the served model's ROC AUC minus this one's, and this one's Brier
    /// score minus the served model's.
    public var aucAdded: Double, brierReduced: Double

    /// Creates a row.
    public init(group: String, features: [String], rocAUC: Double, brier: Double, aucAdded: Double, brierReduced: Double) {
        self.group = group
        self.features = features
        self.rocAUC = rocAUC
        self.brier = brier
        self.aucAdded = aucAdded
        self.brierReduced = brierReduced
    }
}

/// The report's clinical section: calibration intercept and slope, the decision curve, and the
/// validation of atypicality.
public struct ClinicalInput: Sendable, Codable, Equatable {
    /// One row per model, table order.
    public var calibration: [CalibrationRow]
    /// Threshold probabilities of the decision curve, ascending, in (0, 1).
    public var thresholds: [Double]
    /// Net benefit per threshold, by model key (models absent here are not drawn).
    public var netBenefit: [String: [Double]]
    /// Net benefit of treating everyone, per threshold.
    public var treatAll: [Double]
    /// Net benefit at the served model's tier thresholds.
    public var atTiers: [TierNetBenefit]
    /// Performance by atypicality group, lowest first.
    public var atypicalityGroups: [AtypicalityGroupRow]
    /// What the groups show about atypicality, in words.
    public var atypicalityVerdict: String
    /// Performance by subgroup, one table per declared feature.
    public var subgroups: [SubgroupTable]
    /// Coverage and width of the risk intervals (nil: the model serves none).
    public var interval: IntervalInput?
    /// What each feature group adds (empty: not run).
    public var ablation: [AblationRow] = []

    /// Creates the section.
    public init(calibration: [CalibrationRow], thresholds: [Double], netBenefit: [String: [Double]], treatAll: [Double],
                atTiers: [TierNetBenefit], atypicalityGroups: [AtypicalityGroupRow], atypicalityVerdict: String,
                subgroups: [SubgroupTable] = [], interval: IntervalInput? = nil, ablation: [AblationRow] = []) {
        self.calibration = calibration
        self.thresholds = thresholds
        self.netBenefit = netBenefit
        self.treatAll = treatAll
        self.atTiers = atTiers
        self.atypicalityGroups = atypicalityGroups
        self.atypicalityVerdict = atypicalityVerdict
        self.subgroups = subgroups
        self.interval = interval
        self.ablation = ablation
    }
}
