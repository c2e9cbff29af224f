import ReadmitFeatures
import ReadmitModelFile
import ReadmitModels
import ReadmitParallel
import ReadmitSpec
import ReadmitTables

/// The served model put together: parameters, the model file's encoding and its id, and the
/// loaded model that scores exactly what the file holds.
struct ModelAssembly {
    /// The encoded model file (its id computed from this encoding).
    let modelFile: EncodedModel
    /// The served model, scoring through the daemon's code path.
    let model: ReadmitModel

    init(spec: DatasetSpec, tables: DatasetTables, dataHash: String, features: FeatureStage, anomalies: AnomalyStage,
         search: BoosterSearch, refit: BoosterRefit, split: TrainingSplit, options: TrainingOptions) throws {
        var summary = [
            "max_depth": String(search.depth), "min_child_weight": String(search.minChild), "eta": String(search.eta),
            "subsample": String(search.setting.subsample), "colsample_bytree": String(search.setting.colsample), "lambda": String(search.setting.lambda),
            "rounds": String(refit.rounds), "trees": String(refit.keptRounds), "fit_rows": String(refit.rows.count), "calibration_rows": String(split.calibration.count),
            "tier_rule": "medium: at least the 70th percentile of held-out risk; high: at least the 90th",
            "quick": String(options.quick),
        ]
        summary["forest"] = "\(options.forestTrees) trees, \(options.forestSamples) samples per tree"
        var params = ModelParameters(
            metadata: .init(modelID: "", createdAt: utcTimestamp(), trainingDataSHA256: dataHash,
                            trainingDataFile: tables.fileNames, seed: options.seed, readmitVersion: TrainingPipeline.readmitVersion),
            dataset: spec, schema: features.schema, layout: features.layout, forest: anomalies.forest,
            atypicalityReference: anomalies.reference, detector: anomalies.detector,
            boosterBytes: [], calibrator: refit.calibrator, tiers: refit.tiers, trainingSummary: summary, vennAbers: refit.vennAbers)
        let booster = refit.booster
        // XGBoost's serialization of the booster and the JSON of the model file's header do not
        // depend on each other (about 2 ms each): one thread each.
        let (boosterBytes, headerMembers) = try concurrently(
            { () throws(BoosterError) in try booster.serialized() },
            { [params] () throws(ModelFileError) in
                do { return try EncodedModel.HeaderMembers(params) } catch {
                    throw ModelFileError(code: .writeFailed, message: "cannot encode the model header: \(error)")
                }
            })
        params.boosterBytes = boosterBytes
        // The scoring trees are compiled from those bytes while the model id is hashed.
        let (trees, modelFile) = try concurrently(
            { () throws(ModelFileError) in try ReadmitModel.compileTrees(boosterBytes, booster: booster) },
            { [params] () throws(ModelFileError) in
                let unnamed = EncodedModel(params, members: headerMembers)
                return unnamed.withModelID(try unnamed.modelID())
            })
        self.modelFile = modelFile
        model = try ReadmitModel(parameters: modelFile.parameters, booster: booster, trees: trees)
    }
}
