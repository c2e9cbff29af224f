import Foundation
import ReadmitFeatures
import ReadmitModelFile
import ReadmitModels
import ReadmitSpec
import ReadmitTables

/// Evaluation on the test patients: the served model, scored through the same code path the
/// daemon uses, and the references, each calibrated on the calibration patients; then the
/// bootstrap interval, first encounters, importance, missingness and charted distributions.
struct EvaluationStage {
    let evaluations: [ModelEvaluation]
    let interval: (low: Double, high: Double)
    let clinical: ClinicalEvaluation
    let subgroups: [SubgroupEvaluation]
    let firstEncounters: [Int]
    let firstMetrics: BinaryMetrics
    let importance: [(feature: String, meanAbsContribution: Double)]
    let missingness: [(column: String, fraction: Double)]
    let distributions: [FeatureDistribution]

    /// The references (logistic regression, LACE-like index, the detectors alone).
    static func references(data: PreparedData, features: FeatureStage, anomalies: AnomalyStage, split: TrainingSplit,
                           options: TrainingOptions, progress: (String) -> Void) -> [ModelEvaluation] {
        let yTest = split.labels(split.test)
        func calibrated(_ key: String, _ name: String, _ score: [Double]) -> ModelEvaluation {
            let platt = PlattCalibrator(margins: split.calibration.map { score[$0] }, labels: split.labels(split.calibration))
            return ModelEvaluation(key: key, name: name, probabilities: split.test.map { platt.probability(margin: score[$0]) }, labels: yTest)
        }
        // Logistic regression: L2-regularised (scikit-learn's C = 1) on the imputed one-hot
        // features standardised with the training patients' means and deviations, fitted on the
        // fit patients (see LogisticRegression for why it is hand-written).
        progress("logistic regression")
        let imputed = anomalies.imputed
        let standardization = LogisticRegression.standardization(of: imputed, rows: split.train)
        let linear = LogisticRegression(matrix: imputed, rows: split.fit, labels: split.labels(split.fit), center: standardization.center,
                                        scale: standardization.scale, l2: 1, threads: options.threads)
        var out = [calibrated("logistic_regression", "Logistic regression (L2, standardised one-hot features)", linear.margins(imputed))]
        let x = features.x
        if let laceScore = LACEScore(definition: data.spec.lace, schema: features.schema) {
            var lace = [Double](repeating: 0, count: x.rows)
            x.values.withUnsafeBufferPointer { b in
                guard let base = b.baseAddress else { return }
                for r in 0..<x.rows { lace[r] = laceScore.score(base + r * x.columns) }
            }
            out.append(calibrated("lace", "LACE-like index", lace))
        }
        out.append(calibrated("isolation_forest", "Isolation Forest alone", anomalies.forestScores))
        out.append(calibrated("histogram_detector", "Per-feature histogram detector alone", anomalies.detectorScores))
        return out
    }

    init(data: PreparedData, features: FeatureStage, search: BoosterSearch, refit: BoosterRefit, split: TrainingSplit,
         risk: [Double], atypicality: [Double], riskInterval: (low: [Double], high: [Double])?, riskWithheld: [Double]?,
         references: [ModelEvaluation], options: TrainingOptions) throws {
        let cohort = data.cohort, schema = features.schema
        let yTest = split.labels(split.test)
        evaluations = [ModelEvaluation(key: "risk_model", name: "Risk model (XGBoost + anomaly scores, Platt-calibrated)", probabilities: risk, labels: yTest,
                                       patients: split.test.map { cohort.patients[$0] })]
            + (riskWithheld.map { [ModelEvaluation(key: "risk_model_history_unknown", name: "Risk model, history withheld (a caller that does not send it)",
                                                   probabilities: $0, labels: yTest)] } ?? [])
            + references
        interval = BinaryMetrics.bootstrapAUC(scores: risk, labels: yTest, patients: split.test.map { cohort.patients[$0] },
                                              replicates: options.quick ? 50 : options.bootstrapReplicates, seed: options.seed)
        clinical = ClinicalEvaluation(models: evaluations.map { ($0.key, $0.probabilities) }, labels: yTest, atypicality: atypicality,
                                      patients: split.test.map { cohort.patients[$0] }, tiers: refit.tiers.map { ($0.name, $0.minRisk) },
                                      replicates: options.quick ? 50 : options.bootstrapReplicates, seed: options.seed &+ 0x5EED,
                                      interval: riskInterval)
        subgroups = SubgroupEvaluation.all(data.spec.reportSubgroups ?? [], schema: schema, x: features.x.selecting(rows: split.test),
                                           columns: data.subgroupColumns, tableRows: split.test.map { cohort.rows[$0] }, risk: risk,
                                           labels: yTest, patients: split.test.map { cohort.patients[$0] }, tiers: refit.tiers.map { ($0.name, $0.minRisk) },
                                           replicates: options.quick ? 50 : options.bootstrapReplicates, seed: options.seed &+ 0x5B6)
        let firstIdx = split.test.indices.filter { cohort.isFirstEncounter[split.test[$0]] }
        firstEncounters = firstIdx
        firstMetrics = BinaryMetrics(scores: firstIdx.map { risk[$0] }, labels: firstIdx.map { yTest[$0] }, probabilities: true)

        // Global importance: mean |SHAP| per feature over (up to 4,000) test rows, computed with
        // all training threads (the served model's booster is single-threaded).
        let sample = Array(split.test.prefix(4000))
        let booster = refit.booster, width = search.input.columns
        try booster.setThreads(options.threads)
        let shap = try booster.predictViaDMatrix(search.input.selecting(rows: sample), kind: .contributions)
        try booster.setThreads(1)
        let k = schema.count
        var total = [Double](repeating: 0, count: k)
        for r in 0..<sample.count { for j in 0..<k { total[j] += abs(shap[r * (width + 1) + j]) } }
        importance = (0..<k).map { (schema.features[$0].name, total[$0] / Double(max(sample.count, 1))) }.sorted { $0.1 > $1.1 }

        // Missing share of each feature in the cohort, and the charted distributions (the
        // spec's list, else the six most important features).
        let x = features.x
        var missing = [Int](repeating: 0, count: schema.count)
        for r in 0..<x.rows { for j in 0..<schema.count where x.values[r * x.columns + j].isNaN { missing[j] += 1 } }
        missingness = schema.features.indices.map { (schema.features[$0].name, Double(missing[$0]) / Double(cohort.rows.count)) }
            .filter { $0.1 > 0 }.sorted { $0.1 > $1.1 }
        let charted = data.spec.reportDistributions.isEmpty ? importance.prefix(6).map(\.feature) : data.spec.reportDistributions
        distributions = charted.compactMap { name in
            schema.index(of: name).map { Self.distribution(of: $0, schema: schema, x: features.xTrain, y: split.labels(split.train)) }
        }
    }

    /// The distribution of feature `j` among positive and negative rows (shares per bin or level).
    static func distribution(of j: Int, schema: FeatureSchema, x: FeatureMatrix, y: [Bool]) -> FeatureDistribution {
        let spec = schema.features[j]
        var values: [Double] = []
        for r in 0..<x.rows { values.append(x.values[r * x.columns + j]) }
        var bins: [String]
        var binOf: (Double) -> Int
        if spec.kind == .categorical {
            bins = spec.levels + ["missing"]
            binOf = { $0.isNaN ? spec.levels.count : Int($0) }
        } else {
            let present = values.filter { !$0.isNaN }
            let lo = present.min() ?? 0, hi = present.max() ?? 0
            let integerValued = present.allSatisfy { $0 == $0.rounded() }
            if integerValued && hi - lo <= 15 {
                bins = (Int(lo)...Int(hi)).map(String.init) + ["missing"]
                binOf = { $0.isNaN ? Int(hi - lo) + 1 : Int($0 - lo) }
            } else {
                let width = max((hi - lo) / 12, 1e-9)
                bins = (0..<12).map { String(format: "%.0f-%.0f", lo + Double($0) * width, lo + Double($0 + 1) * width) } + ["missing"]
                binOf = { $0.isNaN ? 12 : min(Int(($0 - lo) / width), 11) }
            }
        }
        var pos = [Int](repeating: 0, count: bins.count), neg = pos
        for (r, v) in values.enumerated() { if y[r] { pos[binOf(v)] += 1 } else { neg[binOf(v)] += 1 } }
        var means: (Double, Double)?
        if spec.kind == .numeric {
            var sp = 0.0, np = 0.0, sn = 0.0, nn = 0.0
            for (r, v) in values.enumerated() where !v.isNaN { if y[r] { sp += v; np += 1 } else { sn += v; nn += 1 } }
            means = (np > 0 ? sp / np : .nan, nn > 0 ? sn / nn : .nan)
        }
        return FeatureDistribution(feature: spec.name, bins: bins, positive: pos, negative: neg, means: means)
    }
}
