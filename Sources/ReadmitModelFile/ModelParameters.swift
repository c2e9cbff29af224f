import ReadmitFeatures
import ReadmitModels
import ReadmitSpec
import ReadmitTables

/// Everything a fitted model consists of: what ``ModelFile`` writes and reads.
public struct ModelParameters: Sendable {
    /// Identity and provenance.
    public struct Metadata: Codable, Sendable, Equatable {
        /// 16 lowercase hex digits: the first 8 bytes of the SHA-256 of the fitted parameters.
        public var modelID: String
        /// Creation time, ISO 8601 UTC.
        public var createdAt: String
        /// SHA-256 (hex) of the training data file's bytes as read (decompressed).
        public var trainingDataSHA256: String
        /// The training data file's name.
        public var trainingDataFile: String
        /// The seed every random choice derived from.
        public var seed: UInt64
        /// The readmit release that wrote the file.
        public var readmitVersion: String

        enum CodingKeys: String, CodingKey {
            case modelID = "model_id", createdAt = "created_at", trainingDataSHA256 = "training_data_sha256"
            case trainingDataFile = "training_data_file", seed, readmitVersion = "readmit_version"
        }

        /// Creates metadata.
        public init(modelID: String, createdAt: String, trainingDataSHA256: String, trainingDataFile: String, seed: UInt64, readmitVersion: String) {
            self.modelID = modelID
            self.createdAt = createdAt
            self.trainingDataSHA256 = trainingDataSHA256
            self.trainingDataFile = trainingDataFile
            self.seed = seed
            self.readmitVersion = readmitVersion
        }
    }

    /// Identity and provenance.
    public var metadata: Metadata
    /// The dataset spec the model was trained through: how raw fields become its features.
    public var dataset: DatasetSpec
    /// The input feature schema (the client contract), with everything learned in training.
    public var schema: FeatureSchema
    /// How schema rows expand into model columns.
    public var layout: ModelInputLayout
    /// The isolation forest over the imputed expanded columns.
    public var forest: IsolationForest
    /// Sorted isolation-forest scores of (a sample of) training encounters, for the atypicality percentile.
    public var atypicalityReference: [Double]
    /// The per-feature histogram detector.
    public var detector: HistogramDetector
    /// The booster, in XGBoost's UBJSON format.
    public var boosterBytes: [UInt8]
    /// Platt scaling of the booster's margin.
    public var calibrator: PlattCalibrator
    /// The Venn-Abers interval of each risk, from the same calibration patients (nil in files
    /// written before intervals existed: such a model serves no interval).
    public var vennAbers: VennAbersCalibrator?
    /// Risk tiers in increasing order.
    public var tiers: [RiskTier]
    /// Training-time facts worth keeping with the model (hyperparameters, split sizes).
    public var trainingSummary: [String: String]
    /// The model card training wrote after evaluating the model (nil in files written before
    /// model cards existed). Documentation: it is not part of the model id.
    public var modelCard: ModelCard?
    /// How the model was recalibrated on another hospital's data (nil for a model as trained).
    public var recalibration: Recalibration?

    /// Creates a parameter set.
    public init(metadata: Metadata, dataset: DatasetSpec, schema: FeatureSchema, layout: ModelInputLayout, forest: IsolationForest, atypicalityReference: [Double],
                detector: HistogramDetector, boosterBytes: [UInt8], calibrator: PlattCalibrator, tiers: [RiskTier], trainingSummary: [String: String],
                modelCard: ModelCard? = nil, vennAbers: VennAbersCalibrator? = nil, recalibration: Recalibration? = nil) {
        self.metadata = metadata
        self.dataset = dataset
        self.schema = schema
        self.layout = layout
        self.forest = forest
        self.atypicalityReference = atypicalityReference
        self.detector = detector
        self.boosterBytes = boosterBytes
        self.calibrator = calibrator
        self.tiers = tiers
        self.trainingSummary = trainingSummary
        self.modelCard = modelCard
        self.vennAbers = vennAbers
        self.recalibration = recalibration
    }
}
