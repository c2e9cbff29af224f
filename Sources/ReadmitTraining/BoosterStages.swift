import ReadmitFeatures
import ReadmitModelFile
import ReadmitModels
import ReadmitSpec
import ReadmitTables

/// The booster's hyperparameter search on the validation patients.
///
/// Booster input: one column per schema feature (NaN kept, levels ranked) plus the two anomaly
/// scores.
struct BoosterSearch: Sendable {
    /// The booster input of every cohort encounter.
    let input: FeatureMatrix
    /// The booster input of ``withheldRows`` with every history feature withheld (nil when the
    /// spec has no history or the share is 0); row `i` is cohort row `withheldRows[i]`.
    let withheldInput: FeatureMatrix?
    /// Training encounters whose withheld copy joins the training rows (sorted).
    let withheldRows: [Int]
    /// Every setting tried, in order.
    let trials: [HyperparameterTrial]
    /// The chosen setting and its best round count.
    let depth: Int, minChild: Int, rounds: Int
    /// Learning rate.
    let eta: Double
    /// Training prevalence (the booster's base score).
    let prevalence: Double

    init(features: FeatureStage, anomalies: AnomalyStage, split: TrainingSplit, options: TrainingOptions,
         progress: (String) -> Void) throws {
        input = anomalies.boosterInput(features.x, layout: features.layout, forestScores: anomalies.forestScores,
                                       detectorScores: anomalies.detectorScores)
        // Only the sampled rows' withheld copies are built (their anomaly scores recomputed
        // without history): a tenth of the training rows, not the whole cohort again.
        let withholding = HistoryWithholding(schema: features.schema)
        let sampled = withholding.columns.isEmpty ? [] : HistoryWithholding.sample(split.train, share: options.historyWithheldShare, seed: options.seed)
        withheldRows = sampled
        withheldInput = sampled.isEmpty ? nil
            : anomalies.boosterInput(withholding.withheld(features.x.selecting(rows: sampled)), layout: features.layout)
        prevalence = Double(split.labels(split.train).filter { $0 }.count) / Double(split.train.count)
        let grid: [(depth: Int, minChild: Int)] = options.quick ? [(4, 5)] : [(4, 5), (5, 5), (6, 10)]
        eta = options.quick ? 0.1 : 0.03
        let maxRounds = options.quick ? 120 : 2000
        let patience = options.quick ? 20 : 80
        let (xFit, yFit) = Self.trainingSet(split.fit, input: input, withheldInput: withheldInput, withheldRows: withheldRows, split: split)
        let xValid = input.selecting(rows: split.validation)
        var trials: [HyperparameterTrial] = []
        var best: (depth: Int, minChild: Int, rounds: Int, loss: Double)?
        for g in grid {
            progress("booster: trying depth \(g.depth), min_child_weight \(g.minChild)")
            let (booster, trace) = try XGBoostBooster.train(
                train: xFit, labels: yFit, validation: xValid, validationLabels: split.labels(split.validation),
                parameters: Self.parameters(depth: g.depth, minChild: g.minChild, eta: eta, prevalence: prevalence, seed: options.seed),
                maxRounds: maxRounds, patience: patience, threads: options.threads)
            let validP = try booster.predict(xValid, kind: .probability)
            let loss = trace.validationLogLoss[trace.bestRounds - 1]
            trials.append(HyperparameterTrial(description: "max_depth=\(g.depth), min_child_weight=\(g.minChild), eta=\(eta)",
                                              validationLogLoss: loss,
                                              validationAUC: BinaryMetrics.rocAUC(scores: validP, labels: split.labels(split.validation)),
                                              rounds: trace.bestRounds))
            if best.map({ loss < $0.loss }) ?? true { best = (g.depth, g.minChild, trace.bestRounds, loss) }
        }
        guard let chosen = best else { throw BoosterError(operation: "train", message: "no hyperparameter set was tried") }
        self.trials = trials
        (depth, minChild, rounds) = (chosen.depth, chosen.minChild, chosen.rounds)
    }

    /// The training matrix of cohort rows `rows`: their booster input, then the history-withheld
    /// copies of those among ``withheldRows``; and the labels.
    func trainingSet(_ rows: [Int], split: TrainingSplit) -> (FeatureMatrix, [Bool]) {
        Self.trainingSet(rows, input: input, withheldInput: withheldInput, withheldRows: withheldRows, split: split)
    }

    static func trainingSet(_ rows: [Int], input: FeatureMatrix, withheldInput: FeatureMatrix?, withheldRows: [Int],
                            split: TrainingSplit) -> (FeatureMatrix, [Bool]) {
        let base = input.selecting(rows: rows)
        guard let withheldInput else { return (base, split.labels(rows)) }
        var position: [Int: Int] = [:]
        for (i, r) in withheldRows.enumerated() { position[r] = i }
        let copies = rows.filter { position[$0] != nil }
        let extra = withheldInput.selecting(rows: copies.compactMap { position[$0] })
        return (FeatureMatrix(rows: base.rows + extra.rows, columns: base.columns, values: base.values + extra.values),
                split.labels(rows) + split.labels(copies))
    }

    /// Every XGBoost parameter, set explicitly (defaults differ between XGBoost releases).
    static func parameters(depth: Int, minChild: Int, eta: Double, prevalence: Double, seed: UInt64) -> [(String, String)] {
        [("booster", "gbtree"), ("objective", "binary:logistic"), ("eval_metric", "logloss"), ("tree_method", "hist"),
         ("max_depth", String(depth)), ("eta", String(eta)), ("min_child_weight", String(minChild)),
         ("subsample", "0.8"), ("colsample_bytree", "0.8"), ("lambda", "1"), ("alpha", "0"), ("gamma", "0"),
         ("max_bin", "256"), ("base_score", String(prevalence)), ("seed", String(seed % 1_000_000_007)),
         ("seed_per_iteration", "false"), ("max_delta_step", "0"), ("scale_pos_weight", "1"), ("sampling_method", "uniform"),
         ("grow_policy", "depthwise"), ("verbosity", "1")]
    }
}

/// The booster refitted on fit + validation patients with the chosen setting and a round count
/// chosen on the validation patients and scaled to the larger training set, calibrated on the
/// calibration patients, who take part in nothing else (neither fitting nor choosing rounds),
/// and the risk tiers from the calibrated risk of those same held-out patients.
struct BoosterRefit {
    /// The refitted booster.
    let booster: XGBoostBooster
    /// Platt scaling of its margin.
    let calibrator: PlattCalibrator
    /// The Venn-Abers interval of each risk, from the same calibration patients.
    let vennAbers: VennAbersCalibrator?
    /// Risk tiers: medium from the 70th, high from the 90th percentile of held-out risk.
    let tiers: [RiskTier]
    /// The refit's rows and rounds.
    let rows: [Int], rounds: Int
    /// The rounds (trees) the booster keeps: all `rounds` (kept as its own figure because
    /// `metrics.json` states what the model file holds).
    let keptRounds: Int

    init(search: BoosterSearch, split: TrainingSplit, options: TrainingOptions, progress: (String) -> Void) throws {
        rows = (split.fit + split.validation).sorted()
        rounds = max(1, Int((Double(search.rounds) * Double(rows.count) / Double(split.fit.count)).rounded()))
        progress("booster: refit with max_depth \(search.depth), \(rounds) rounds")
        let xCalib = search.input.selecting(rows: split.calibration)
        let (xTrain, yTrain) = search.trainingSet(rows, split: split)
        booster = try XGBoostBooster.train(
            train: xTrain, labels: yTrain,
            parameters: BoosterSearch.parameters(depth: search.depth, minChild: search.minChild, eta: search.eta,
                                                 prevalence: search.prevalence, seed: options.seed),
            rounds: rounds, threads: options.threads)
        keptRounds = try booster.boostedRounds()
        let margins = try booster.predict(xCalib, kind: .margin)
        let calibrator = PlattCalibrator(margins: margins, labels: split.labels(split.calibration))
        self.calibrator = calibrator
        vennAbers = VennAbersCalibrator(margins: margins, labels: split.labels(split.calibration))
        // Tiers from patients the booster never saw (the validation patients are in the refit).
        let heldOutRisk = margins.map { calibrator.probability(margin: $0) }.sorted()
        func quantile(_ q: Double) -> Double { heldOutRisk[min(heldOutRisk.count - 1, Int(Double(heldOutRisk.count) * q))] }
        tiers = [RiskTier(name: "low", minRisk: 0), RiskTier(name: "medium", minRisk: quantile(0.70)), RiskTier(name: "high", minRisk: quantile(0.90))]
    }
}
