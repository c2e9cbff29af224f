import Foundation
import ReadmitFeatures
import ReadmitModelFile
import ReadmitModels
import ReadmitParallel
import ReadmitSpec
import ReadmitTables

/// The training job: data -> cohort -> features -> anomaly detectors -> booster -> calibration
/// -> evaluation on the test patients, one type per stage. Pure: it reports progress through a
/// callback and never prints.
public enum TrainingPipeline {
    /// The readmit release written into model files.
    public static let readmitVersion = "0.1.0"

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

        // The data hash is needed only in the model file: it runs in the background until the
        // model is assembled.
        let hashing = DispatchGroup(), dataHashBox = Locked<String?>(nil)
        DispatchQueue.global().async(group: hashing) { let hash = tables.sha256Hex(); dataHashBox.withLock { $0 = hash } }
        let data = try PreparedData(tables: tables)
        try data.requireTrainable()
        stage("read")
        let split = TrainingSplit(cohort: data.cohort)
        let features = FeatureStage(data: data, split: split)
        stage("features")
        let anomalies = AnomalyStage(features: features, split: split, options: options)
        stage("anomaly detectors")
        let search = try BoosterSearch(features: features, anomalies: anomalies, split: split, options: options, progress: progress)
        stage("booster search")
        let refit = try BoosterRefit(search: search, split: split, options: options, progress: progress)
        stage("booster refit and calibration")
        hashing.wait()
        guard let dataHash = dataHashBox.current else {
            throw DataError(code: .unreadable, file: tables.encounters.file, message: "cannot hash the data")
        }
        let assembly = try ModelAssembly(spec: tables.spec, tables: tables, dataHash: dataHash, features: features, anomalies: anomalies,
                                         search: search, refit: refit, split: split, options: options)
        stage("model assembly")
        let xTest = features.x.selecting(rows: split.test)
        let served = try assembly.model.score(xTest)
        let risk = served.risk
        // The same test encounters with their history withheld: what a caller that does not
        // send history gets.
        let withholding = HistoryWithholding(schema: features.schema)
        let riskWithheld = withholding.columns.isEmpty ? nil : try assembly.model.score(withholding.withheld(xTest), interval: false).risk
        let references = EvaluationStage.references(data: data, features: features, anomalies: anomalies, split: split,
                                                    options: options, progress: progress)
        stage("references")
        let evaluation = try EvaluationStage(data: data, features: features, search: search, refit: refit, split: split,
                                             risk: risk, atypicality: served.atypicality,
                                             riskInterval: assembly.model.hasInterval ? (served.intervalLow, served.intervalHigh) : nil,
                                             riskWithheld: riskWithheld, references: references,
                                             options: options)
        stage("evaluation")
        let ablation = options.ablation
            ? try FeatureAblation.run(groups: tables.spec.ablationGroups, schema: features.schema, search: search, refit: refit, split: split,
                                      served: evaluation.evaluations[0].metrics, options: options, progress: progress)
            : []
        if options.ablation { stage("ablation") }

        let cohort = data.cohort, spec = tables.spec
        let patients = { (idx: [Int]) in Set(idx.map { cohort.patients[$0] }).count }
        let counts = CohortSummary(
            dataset: spec.name, rows: data.records.count, patients: Set(data.records.patientKeys).count, excluded: cohort.excludedCount,
            exclusions: cohort.exclusions, notFirstEncounter: cohort.notFirstEncounter, leftOutBySplit: cohort.leftOutBySplit,
            patientsOnBothSides: cohort.patientsOnBothSides, splitDescription: describeSplit(spec.split),
            trainEncounters: split.train.count, testEncounters: split.test.count, trainPatients: patients(split.train), testPatients: patients(split.test),
            trainPositives: split.labels(split.train).filter { $0 }.count, testPositives: split.labels(split.test).filter { $0 }.count,
            testFirstEncounters: evaluation.firstEncounters.count, fitRows: refit.rows.count, validationRows: split.validation.count,
            calibrationRows: split.calibration.count)
        let card = ModelCardWriter.card(.init(
            spec: spec, cohort: counts, schemaCount: features.schema.count, search: search, refit: refit,
            evaluations: evaluation.evaluations, aucInterval: evaluation.interval, firstEncounter: evaluation.firstMetrics,
            clinical: evaluation.clinical, subgroups: evaluation.subgroups,
            trainingDataFile: tables.fileNames, trainingDataSHA256: dataHash))
        return TrainingResult(modelFile: try assembly.modelFile.withModelCard(card), cohort: counts, evaluations: evaluation.evaluations,
                              riskModelAUCInterval: evaluation.interval, clinical: evaluation.clinical, subgroups: evaluation.subgroups, firstEncounterMetrics: evaluation.firstMetrics, trials: search.trials,
                              ablation: ablation, missingness: evaluation.missingness, importance: evaluation.importance, distributions: evaluation.distributions,
                              testLabels: split.labels(split.test), stageSeconds: stages)
    }

    /// The split rule in words, for the console and the report.
    public static func describeSplit(_ split: SplitRule) -> String {
        switch split {
        case .patientHash: return "by patient: test when splitmix64(patient id) % 5 == 0"
        case .column(let name, let test, _): return "by the column \(name) (test: \(test.joined(separator: ", ")))"
        case .date(let date): return "by date: trained on stays that ended before \(date), tested on stays that began on or after it"
        }
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
