import ReadmitModels

/// How a model was recalibrated on another hospital's labelled encounters (`readmit
/// recalibrate`): its trees, forest and detector are the original model's; its calibrator, its
/// Venn-Abers intervals and (unless kept) its tier thresholds were refitted on the local
/// patients of the spec's training side, and checked on those of its test side.
///
/// Stored in the model file (header member `recalibration`, docs/MODEL_FORMAT.md), so a served
/// model says what it is; part of the model id, as every fitted part is.
public struct Recalibration: Codable, Sendable, Equatable {
    /// What was refitted.
    public enum Method: String, Codable, Sendable, CaseIterable {
        /// The calibrator's intercept only (recalibration-in-the-large): the risks' spread kept.
        case intercept
        /// The calibrator's slope and intercept (logistic recalibration, as training fits it).
        case logistic
    }

    /// Where the tier thresholds come from.
    public enum Tiers: String, Codable, Sendable, CaseIterable {
        /// Recomputed by the model's own rule (its 70th and 90th percentiles) on the local
        /// update patients' recalibrated risks.
        case local
        /// The original model's risk thresholds, unchanged.
        case kept
    }

    /// Local encounters, patients and readmissions in one part.
    public struct Counts: Codable, Sendable, Equatable {
        /// Eligible encounters.
        public var encounters: Int
        /// Distinct patients.
        public var patients: Int
        /// Encounters followed by a readmission (the label).
        public var events: Int

        /// Creates counts.
        public init(encounters: Int, patients: Int, events: Int) {
            self.encounters = encounters
            self.patients = patients
            self.events = events
        }
    }

    /// The model id of the model recalibrated.
    public var fromModelID: String
    /// Its calibrator, kept for audit.
    public var previousCalibrator: PlattCalibrator
    /// Its tier thresholds, kept for audit.
    public var previousTiers: [RiskTier]
    /// What was refitted.
    public var method: Method
    /// Where the tier thresholds come from.
    public var tiers: Tiers
    /// The local data file(s) and the SHA-256 of their bytes as read.
    public var dataFile: String, dataSHA256: String
    /// The patients the calibration was refitted on (the spec's training side of the local data).
    public var update: Counts
    /// The patients it was checked on (the spec's test side).
    public var check: Counts

    enum CodingKeys: String, CodingKey {
        case fromModelID = "from_model_id", previousCalibrator = "previous_calibrator", previousTiers = "previous_tiers"
        case method, tiers, dataFile = "data_file", dataSHA256 = "data_sha256", update, check
    }

    /// Creates a record.
    public init(fromModelID: String, previousCalibrator: PlattCalibrator, previousTiers: [RiskTier], method: Method, tiers: Tiers,
                dataFile: String, dataSHA256: String, update: Counts, check: Counts) {
        self.fromModelID = fromModelID
        self.previousCalibrator = previousCalibrator
        self.previousTiers = previousTiers
        self.method = method
        self.tiers = tiers
        self.dataFile = dataFile
        self.dataSHA256 = dataSHA256
        self.update = update
        self.check = check
    }
}
