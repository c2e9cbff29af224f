import ReadmitFeatures
import ReadmitModelFile
import ReadmitModels
import ReadmitSpec
import ReadmitTables

/// Settings of a training run.
public struct TrainingOptions: Sendable {
    /// The seed of every random choice (forest, booster subsampling, bootstrap).
    public var seed: UInt64 = 42
    /// A fast run for tests: one fixed hyperparameter set, fewer rounds, fewer bootstrap replicates.
    public var quick = false
    /// Threads XGBoost may use for training.
    public var threads = 2
    /// The booster settings a full run tries on the validation patients (the one with the lowest
    /// validation log loss is refitted); nil: ``BoosterSetting/defaultGrid``. A quick run ignores it.
    public var boosterGrid: [BoosterSetting]? = nil
    /// Isolation forest size.
    public var forestTrees = 100
    /// Isolation forest subsample per tree.
    public var forestSamples = 256
    /// Share of training encounters added again with their history withheld, so that unknown
    /// history (a caller that does not send it) is a state the booster has seen; 0 disables.
    public var historyWithheldShare = 0.1
    /// Whether to retrain without each ablation group of the spec (``DatasetSpec/ablationGroups``)
    /// to show what it adds.
    public var ablation = true
    /// Bootstrap replicates for the AUC interval.
    public var bootstrapReplicates = 1000

    /// Default settings.
    public init() {}
}
