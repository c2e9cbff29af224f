import Foundation
import ReadmitSpec

/// The training job: data -> cohort -> features -> anomaly detectors -> booster -> calibration
/// -> evaluation on the test patients. Pure: it reports progress through a callback and never prints.
public enum TrainingPipeline {
    /// The readmit release written into model files.
    public static let readmitVersion = "0.1.0"

    /// Which patients of the training split each stage uses (hashing the patient number with a
    /// second SplitMix64 round keeps this independent of the test split).
    enum Role { case fit, validation, calibration }
    static func role(ofPatient p: Int) -> Role {
        switch SplitMix64.mix(SplitMix64.mix(UInt64(bitPattern: Int64(p)))) % 10 {
        case 0: return .validation
        case 1: return .calibration
        default: return .fit
        }
    }

    /// Runs the whole job on the tables a dataset spec declares.
    public static func run(tables: DatasetTables, options: TrainingOptions, progress: @escaping (String) -> Void = { _ in }) throws -> TrainingResult {
        var stages: [(String, Double)] = []
        let clock = ContinuousClock()
        var mark = clock.now
        func stage(_ name: String) {
            let now = clock.now
            let d = now - mark
            stages.append((name, Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18))
            mark = now
            progress("\(name) done")
        }

        // Data and cohort. The data hash is needed only in the model file: it runs in the
        // background until the model is assembled.
        let hashing = DispatchGroup(), dataHashBox = ResultBox<String>()
        DispatchQueue.global().async(group: hashing) { dataHashBox.value = tables.sha256Hex() }
        let data = try PreparedData(tables: tables)
        try data.requireTrainable()
        let spec = tables.spec, cohort = data.cohort
        let path = tables.encounters.file
        stage("read")

        let trainIdx = cohort.rows.indices.filter { !cohort.isTest[$0] }
        let testIdx = cohort.rows.indices.filter { cohort.isTest[$0] }
        let schema = FeatureSchemaBuilder.build(spec: spec, raw: data.raw, trainingRows: trainIdx.map { cohort.rows[$0] })
        let all = FeatureEncoder.encode(raw: data.raw, spec: spec, schema: schema)
        let x = all.selecting(rows: cohort.rows)  // cohort order
        let y = cohort.labels
        var fitIdx: [Int] = [], validIdx: [Int] = [], calibIdx: [Int] = []
        for i in trainIdx {
            switch role(ofPatient: cohort.patients[i]) {
            case .fit: fitIdx.append(i)
            case .validation: validIdx.append(i)
            case .calibration: calibIdx.append(i)
            }
        }
        let xTrain = x.selecting(rows: trainIdx)
        let layout = ModelInputLayout(schema: schema, training: xTrain, labels: trainIdx.map { y[$0] })
        stage("features")

        // Anomaly detectors, fitted on all training encounters (unsupervised).
        let imputed = layout.expand(x, imputed: true)
        let forest = IsolationForest(data: imputed.selecting(rows: trainIdx), trees: options.forestTrees,
                                     maxSamples: options.forestSamples, seed: options.seed)
        let forestScores = forest.score(imputed)
        let detector = HistogramDetector(schema: schema, training: xTrain)
        let detectorScores = detector.score(x)
        let trainForest = trainIdx.map { forestScores[$0] }.sorted()
        let reference = stride(from: 0, to: trainForest.count, by: max(1, trainForest.count / 2000)).map { trainForest[$0] }
        stage("anomaly detectors")

        // Booster input: one column per schema feature (NaN kept, levels ranked) plus the two anomaly scores.
        let width = schema.count + 2
        var boosterValues = [Double](repeating: 0, count: x.rows * width)
        x.values.withUnsafeBufferPointer { src in
            boosterValues.withUnsafeMutableBufferPointer { dst in
                guard let s = src.baseAddress, let d = dst.baseAddress else { return }
                for r in 0..<x.rows {
                    layout.boosterRow(s + r * schema.count, into: d + r * width)
                    d[r * width + width - 2] = forestScores[r]
                    d[r * width + width - 1] = detectorScores[r]
                }
            }
        }
        let boosterInput = FeatureMatrix(rows: x.rows, columns: width, values: boosterValues)
        func labels(_ idx: [Int]) -> [Bool] { idx.map { y[$0] } }
        let prevalence = Double(labels(trainIdx).filter { $0 }.count) / Double(trainIdx.count)
        func parameters(depth: Int, minChild: Int, eta: Double) -> [(String, String)] {
            [("booster", "gbtree"), ("objective", "binary:logistic"), ("eval_metric", "logloss"), ("tree_method", "hist"),
             ("max_depth", String(depth)), ("eta", String(eta)), ("min_child_weight", String(minChild)),
             ("subsample", "0.8"), ("colsample_bytree", "0.8"), ("lambda", "1"), ("alpha", "0"), ("gamma", "0"),
             ("max_bin", "256"), ("base_score", String(prevalence)), ("seed", String(options.seed % 1_000_000_007)),
             ("seed_per_iteration", "false"), ("max_delta_step", "0"), ("scale_pos_weight", "1"), ("sampling_method", "uniform"),
             ("grow_policy", "depthwise"), ("verbosity", "1")]
        }
        let grid: [(depth: Int, minChild: Int)] = options.quick ? [(4, 5)] : [(4, 5), (5, 5), (6, 10)]
        let eta = options.quick ? 0.1 : 0.03
        let maxRounds = options.quick ? 120 : 2000
        let patience = options.quick ? 20 : 80
        let xFit = boosterInput.selecting(rows: fitIdx), xValid = boosterInput.selecting(rows: validIdx)
        var trials: [HyperparameterTrial] = []
        var best: (depth: Int, minChild: Int, rounds: Int, loss: Double)?
        for g in grid {
            progress("booster: trying depth \(g.depth), min_child_weight \(g.minChild)")
            let (booster, trace) = try XGBoostBooster.train(train: xFit, labels: labels(fitIdx), validation: xValid, validationLabels: labels(validIdx),
                                                           parameters: parameters(depth: g.depth, minChild: g.minChild, eta: eta),
                                                           maxRounds: maxRounds, patience: patience, threads: options.threads)
            let validP = try booster.predict(xValid, kind: .probability)
            let loss = trace.validationLogLoss[trace.bestRounds - 1]
            trials.append(HyperparameterTrial(description: "max_depth=\(g.depth), min_child_weight=\(g.minChild), eta=\(eta)",
                                              validationLogLoss: loss, validationAUC: BinaryMetrics.rocAUC(scores: validP, labels: labels(validIdx)),
                                              rounds: trace.bestRounds))
            if best == nil || loss < best!.loss { best = (g.depth, g.minChild, trace.bestRounds, loss) }
        }
        guard let chosen = best else { throw BoosterError(operation: "train", message: "no hyperparameter set was tried") }
        stage("booster search")

        // Refit on fit + validation patients with the chosen settings, a round count scaled to the
        // larger training set; calibrate on the calibration patients, who took no part in fitting.
        let refitIdx = (fitIdx + validIdx).sorted()
        let refitRounds = Int((Double(chosen.rounds) * Double(refitIdx.count) / Double(fitIdx.count)).rounded())
        progress("booster: refit with max_depth \(chosen.depth), \(refitRounds) rounds")
        let xCalib = boosterInput.selecting(rows: calibIdx)
        let (booster, _) = try XGBoostBooster.train(train: boosterInput.selecting(rows: refitIdx), labels: labels(refitIdx),
                                                    validation: xCalib, validationLabels: labels(calibIdx),
                                                    parameters: parameters(depth: chosen.depth, minChild: chosen.minChild, eta: eta),
                                                    maxRounds: refitRounds, patience: refitRounds + 1, threads: options.threads)
        let calibrator = PlattCalibrator(margins: try booster.predict(xCalib, kind: .margin), labels: labels(calibIdx))
        let heldOut = (validIdx + calibIdx)
        let heldOutRisk = try booster.predict(boosterInput.selecting(rows: heldOut), kind: .margin).map { calibrator.probability(margin: $0) }.sorted()
        func quantile(_ q: Double) -> Double { heldOutRisk[min(heldOutRisk.count - 1, Int(Double(heldOutRisk.count) * q))] }
        let tiers = [RiskTier(name: "low", minRisk: 0), RiskTier(name: "medium", minRisk: quantile(0.70)), RiskTier(name: "high", minRisk: quantile(0.90))]
        stage("booster refit and calibration")

        var summary = [
            "max_depth": String(chosen.depth), "min_child_weight": String(chosen.minChild), "eta": String(eta),
            "rounds": String(refitRounds), "fit_rows": String(refitIdx.count), "calibration_rows": String(calibIdx.count),
            "tier_rule": "medium: at least the 70th percentile of held-out risk; high: at least the 90th",
            "quick": String(options.quick),
        ]
        summary["forest"] = "\(options.forestTrees) trees, \(options.forestSamples) samples per tree"
        hashing.wait()
        guard let dataHash = dataHashBox.value else { throw DataError(code: .unreadable, file: path, message: "cannot hash the data") }
        var params = ModelParameters(
            metadata: .init(modelID: "", createdAt: utcTimestamp(), trainingDataSHA256: dataHash,
                            trainingDataFile: tables.fileNames, seed: options.seed, readmitVersion: readmitVersion),
            dataset: spec, schema: schema, layout: layout, forest: forest, atypicalityReference: reference, detector: detector,
            boosterBytes: [], calibrator: calibrator, tiers: tiers, trainingSummary: summary)
        // XGBoost's serialization of the booster and the JSON of the model file's header do not
        // depend on each other (about 2 ms each): one thread each.
        let (boosterBytes, headerMembers) = try Self.concurrently(
            { () throws(BoosterError) in try booster.serialized() },
            { [params] () throws(ModelFileError) in
                do { return try EncodedModel.HeaderMembers(params) } catch {
                    throw ModelFileError(code: .writeFailed, message: "cannot encode the model header: \(error)")
                }
            })
        params.boosterBytes = boosterBytes
        // The scoring trees are compiled from those bytes while the model id is hashed.
        let (trees, modelFile) = try Self.concurrently(
            { () throws(ModelFileError) in try ReadmitModel.compileTrees(boosterBytes, booster: booster) },
            { [params] () throws(ModelFileError) in
                let unnamed = EncodedModel(params, members: headerMembers)
                return unnamed.withModelID(try unnamed.modelID())
            })
        params = modelFile.parameters
        let model = try ReadmitModel(parameters: params, booster: booster, trees: trees)
        stage("model assembly")

        // Evaluation on the test patients: the served model, scored through the same code path
        // the daemon uses, and the references, each calibrated on the calibration patients.
        let yTest = labels(testIdx)
        let xTest = x.selecting(rows: testIdx)
        let risk = try model.score(xTest).risk
        var evaluations = [ModelEvaluation(key: "risk_model", name: "Risk model (XGBoost + anomaly scores, Platt-calibrated)", probabilities: risk, labels: yTest)]
        func calibrated(_ key: String, _ name: String, _ score: [Double]) -> ModelEvaluation {
            let platt = PlattCalibrator(margins: calibIdx.map { score[$0] }, labels: labels(calibIdx))
            return ModelEvaluation(key: key, name: name, probabilities: testIdx.map { platt.probability(margin: score[$0]) }, labels: yTest)
        }
        // Logistic regression: L2-regularised (scikit-learn's C = 1) on the imputed one-hot
        // features standardised with the training patients' means and deviations, fitted on the
        // fit patients (see LogisticRegression for why it is hand-written).
        progress("logistic regression")
        let standardization = LogisticRegression.standardization(of: imputed, rows: trainIdx)
        let linear = LogisticRegression(matrix: imputed, rows: fitIdx, labels: labels(fitIdx), center: standardization.center,
                                        scale: standardization.scale, l2: 1, threads: options.threads)
        let linearMargin = linear.margins(imputed)
        evaluations.append(calibrated("logistic_regression", "Logistic regression (L2, standardised one-hot features)", linearMargin))
        if let laceScore = LACEScore(definition: spec.lace, schema: schema) {
            var lace = [Double](repeating: 0, count: x.rows)
            x.values.withUnsafeBufferPointer { b in
                guard let base = b.baseAddress else { return }
                for r in 0..<x.rows { lace[r] = laceScore.score(base + r * x.columns) }
            }
            evaluations.append(calibrated("lace", "LACE-like index", lace))
        }
        evaluations.append(calibrated("isolation_forest", "Isolation Forest alone", forestScores))
        evaluations.append(calibrated("histogram_detector", "Per-feature histogram detector alone", detectorScores))
        stage("references")

        let interval = BinaryMetrics.bootstrapAUC(scores: risk, labels: yTest, patients: testIdx.map { cohort.patients[$0] },
                                                  replicates: options.quick ? 50 : options.bootstrapReplicates, seed: options.seed)
        let firstIdx = testIdx.indices.filter { cohort.isFirstEncounter[testIdx[$0]] }
        let firstMetrics = BinaryMetrics(scores: firstIdx.map { risk[$0] }, labels: firstIdx.map { yTest[$0] }, probabilities: true)

        // Global importance: mean |SHAP| per feature over (up to 4,000) test rows, computed with
        // all training threads (the served model's booster is single-threaded).
        let sample = Array(testIdx.prefix(4000))
        try booster.setThreads(options.threads)
        let shap = try booster.predictViaDMatrix(boosterInput.selecting(rows: sample), kind: .contributions)
        try booster.setThreads(1)
        let k = schema.count
        var total = [Double](repeating: 0, count: k)
        for r in 0..<sample.count { for j in 0..<k { total[j] += abs(shap[r * (width + 1) + j]) } }
        let importance = (0..<k).map { (schema.features[$0].name, total[$0] / Double(max(sample.count, 1))) }.sorted { $0.1 > $1.1 }

        // Missing share of each feature in the cohort, and the charted distributions (the
        // spec's list, else the six most important features).
        var missing = [Int](repeating: 0, count: schema.count)
        for r in 0..<x.rows { for j in 0..<schema.count where x.values[r * x.columns + j].isNaN { missing[j] += 1 } }
        let missingness = schema.features.indices.map { (schema.features[$0].name, missing[$0]) }
        let charted = spec.reportDistributions.isEmpty ? importance.prefix(6).map(\.0) : spec.reportDistributions
        let distributions = charted.compactMap { name in schema.index(of: name).map { distribution(of: $0, schema: schema, x: xTrain, y: labels(trainIdx)) } }
        stage("evaluation")

        let trainPatients = Set(trainIdx.map { cohort.patients[$0] }), testPatients = Set(testIdx.map { cohort.patients[$0] })
        let summaryCounts = CohortSummary(
            dataset: spec.name, rows: data.records.count, patients: Set(data.records.patientKeys).count, excluded: cohort.excludedCount,
            exclusions: cohort.exclusions, notFirstEncounter: cohort.notFirstEncounter, leftOutBySplit: cohort.leftOutBySplit,
            patientsOnBothSides: cohort.patientsOnBothSides, splitDescription: Self.describeSplit(spec.split),
            trainEncounters: trainIdx.count, testEncounters: testIdx.count, trainPatients: trainPatients.count, testPatients: testPatients.count,
            trainPositives: labels(trainIdx).filter { $0 }.count, testPositives: yTest.filter { $0 }.count,
            testFirstEncounters: firstIdx.count, fitRows: refitIdx.count, validationRows: validIdx.count, calibrationRows: calibIdx.count)
        return TrainingResult(modelFile: modelFile, cohort: summaryCounts, evaluations: evaluations, riskModelAUCInterval: interval,
                              firstEncounterMetrics: firstMetrics, trials: trials,
                              missingness: missingness.map { ($0.0, Double($0.1) / Double(cohort.rows.count)) }.filter { $0.1 > 0 }.sorted { $0.1 > $1.1 },
                              importance: importance, distributions: distributions, testLabels: yTest, stageSeconds: stages)
    }

    /// The split rule in words, for the console and the report.
    public static func describeSplit(_ split: SplitRule) -> String {
        switch split {
        case .patientHash: return "by patient: test when splitmix64(patient id) % 5 == 0"
        case .column(let name, let test, _): return "by the column \(name) (test: \(test.joined(separator: ", ")))"
        case .date(let date): return "by date: trained on stays that ended before \(date), tested on stays that began on or after it"
        }
    }

    /// Runs `first` and `second` at the same time (two iterations of `concurrentPerform`: the
    /// calling thread and one of GCD's); returns both results, or throws `first`'s error if it
    /// failed, else `second`'s.
    static func concurrently<A: Sendable, B: Sendable, E1: Error, E2: Error>(
        _ first: @Sendable () throws(E1) -> A, _ second: @Sendable () throws(E2) -> B
    ) throws -> (A, B) {
        nonisolated(unsafe) var a: Result<A, E1>?
        nonisolated(unsafe) var b: Result<B, E2>?
        DispatchQueue.concurrentPerform(iterations: 2) { k in
            if k == 0 { a = Result { () throws(E1) in try first() } } else { b = Result { () throws(E2) in try second() } }
        }
        guard let a, let b else { preconditionFailure("concurrentPerform ran every iteration") }
        return (try a.get(), try b.get())
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

/// A value written by one task and read after waiting for it.
final class ResultBox<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value?
    /// The value, once set.
    var value: Value? {
        get { lock.lock(); defer { lock.unlock() }; return stored }
        set { lock.lock(); stored = newValue; lock.unlock() }
    }
}

/// The current time (or `seconds` since 1970) as ISO 8601 UTC (`2026-11-25T12:00:00Z`, as `ISO8601DateFormatter` writes
/// it), formatted by hand: the formatter's first use loads ICU data, about 10 ms.
public func utcTimestamp(_ seconds: Int = Int(Date().timeIntervalSince1970)) -> String {
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
    let secondOfDay = seconds - days * 86_400
    let z = days + 719_468
    let era = (z >= 0 ? z : z - 146_096) / 146_097
    let dayOfEra = z - era * 146_097
    let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
    let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
    let mp = (5 * dayOfYear + 2) / 153
    let day = dayOfYear - (153 * mp + 2) / 5 + 1
    let month = mp < 10 ? mp + 3 : mp - 9
    let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
    func two(_ v: Int) -> String { v < 10 ? "0\(v)" : String(v) }
    return "\(year)-\(two(month))-\(two(day))T\(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60))Z"
}
