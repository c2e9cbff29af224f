import ArgumentParser
import Foundation
import ReadmitCore

/// `readmit evaluate --compare`: a second model read through its own spec from the same
/// tables, scored on the encounters eligible for both, and compared pair by pair.
struct ModelComparison {
    /// A failure while reading or scoring the second model, named as its.
    struct Failure: Error, DataErrorDescribing {
        let path: String, underlying: Error
        var cliDescription: String {
            "--compare \(path): " + ((underlying as? DataErrorDescribing)?.cliDescription ?? String(describing: underlying))
        }
    }

    let path: String
    let modelID: String
    /// Encounters and patients eligible for both models.
    let encounters: Int, patients: Int
    /// Eligible encounters of the first model that the second's cohort leaves out.
    let leftOut: Int
    /// Each model's figures on the shared encounters.
    let first: BinaryMetrics, second: BinaryMetrics
    let firstFit: CalibrationFit, secondFit: CalibrationFit
    let difference: PairedComparison
    /// The second model's risks of the shared encounters, in the first model's row order.
    let secondRisk: [Double]
    /// Tier names of each model, and the shared encounters counted by (first's tier, second's tier).
    let firstTiers: [String], secondTiers: [String]
    let tierCounts: [[Int]]

    /// - Parameters:
    ///   - cohort, rows: the first model's cohort and the indices into it that were evaluated.
    ///   - firstRisk: the first model's risk of each of `rows`.
    init(path: String, dataPath: String, folder: String, testSplit: Bool, first model: ReadmitModel, cohort: Cohort, rows: [Int],
         firstRisk: [Double], replicates: Int) throws {
        let other: ReadmitModel, encoded: EncodedRows, otherCohort: Cohort
        do {
            other = try ReadmitModel.load(path: path)
            let tables = try DatasetTables(spec: other.parameters.dataset, folders: [folder], encountersFile: dataPath)
            encoded = try EncodedRows(tables: tables, schema: other.schema, requireLabel: true, strict: true)
            otherCohort = try Cohort(tables: tables, records: encoded.records, labels: encoded.labels)
        } catch {
            throw Failure(path: path, underlying: error)
        }
        // The same encounters-table row is the same stay for both (one file, read once each).
        var position: [Int: Int] = [:]
        for (i, r) in otherCohort.rows.enumerated() where !testSplit || otherCohort.isTest[i] { position[r] = i }
        var shared: [Int] = [], otherIndex: [Int] = []
        for (k, i) in rows.enumerated() {
            if let j = position[cohort.rows[i]] { shared.append(k); otherIndex.append(j) }
        }
        guard !shared.isEmpty else {
            throw ValidationError("no encounter of \(dataPath) is eligible for both models\(testSplit ? " among the test patients of both splits" : ""): their specs' cohorts do not meet")
        }
        let labels = shared.map { cohort.labels[rows[$0]] }
        let disagree = zip(labels, otherIndex.map { otherCohort.labels[$0] }).filter { $0 != $1 }.count
        guard disagree == 0 else {
            throw ValidationError("the two models' specs label \(disagree) of the \(shared.count) shared encounters differently: a comparison needs one outcome")
        }
        let second = try other.score(encoded.matrix.selecting(rows: otherIndex.map { otherCohort.rows[$0] }), interval: false).risk
        secondRisk = second
        let firstShared = shared.map { firstRisk[$0] }
        let patientsShared = shared.map { cohort.patients[rows[$0]] }
        self.path = path
        modelID = other.modelID
        encounters = shared.count
        patients = Set(patientsShared).count
        leftOut = rows.count - shared.count
        first = BinaryMetrics(scores: firstShared, labels: labels, probabilities: true)
        self.second = BinaryMetrics(scores: second, labels: labels, probabilities: true)
        firstFit = CalibrationFit(probabilities: firstShared, labels: labels)
        secondFit = CalibrationFit(probabilities: second, labels: labels)
        difference = PairedComparison(first: firstShared, second: second, labels: labels, patients: patientsShared, replicates: replicates, seed: 44)
        // What a switch would change for the people acting on the tiers.
        firstTiers = model.tierNames
        secondTiers = other.tierNames
        var counts = [[Int]](repeating: [Int](repeating: 0, count: other.tierNames.count), count: model.tierNames.count)
        for (a, b) in zip(firstShared, second) { counts[model.tier(ofRisk: a)][other.tier(ofRisk: b)] += 1 }
        tierCounts = counts
    }

    func print(firstID: String) {
        Swift.print("Compared with model \(modelID) (\(path)) on the \(Format.int(encounters)) encounters of \(Format.int(patients)) patients eligible for both"
                    + (leftOut > 0 ? " (\(Format.int(leftOut)) of the first model's left out by the second's cohort)" : "") + ":")
        func row(_ name: String, _ m: BinaryMetrics, _ fit: CalibrationFit) -> [String] {
            [name, Format.f(m.rocAUC), Format.f(m.brier ?? .nan), Format.f(m.ece ?? .nan), Format.f(fit.intercept), Format.f(fit.slope)]
        }
        func change(_ d: PairedComparison.Difference) -> String {
            "\(d.value >= 0 ? "+" : "")\(Format.f(d.value)) (\(Format.f(d.interval.low)) to \(Format.f(d.interval.high)))"
        }
        Swift.print(TextTable.render(header: ["model", "ROC AUC", "Brier", "ECE", "cal. intercept", "cal. slope"],
                                     rows: [row("\(firstID) (--model)", first, firstFit), row("\(modelID) (--compare)", second, secondFit)]))
        Swift.print("difference (--compare minus --model, 95% patient-bootstrap CI): ROC AUC \(change(difference.rocAUC)), "
                    + "Brier \(change(difference.brier)), mean risk \(change(difference.meanRisk))")
        Swift.print("verdict: " + verdict)
        Swift.print("tiers (rows: --model's; columns: --compare's):")
        Swift.print(TextTable.render(header: [""] + secondTiers, rows: zip(firstTiers, tierCounts).map { [$0] + $1.map(Format.int) }))
        let changed = encounters - tierCounts.indices.reduce(0) { $0 + ($1 < secondTiers.count && firstTiers[$1] == secondTiers[$1] ? tierCounts[$1][$1] : 0) }
        Swift.print("encounters whose tier would change: \(Format.int(changed)) of \(Format.int(encounters)) (\(Format.pct(Double(changed) / Double(max(encounters, 1)))))")
    }

    /// What the intervals allow one to say, in words.
    var verdict: String {
        let auc = difference.rocAUC.interval, brier = difference.brier.interval
        let none = "no difference these encounters can show"
        let ranking = auc.low > 0 ? "the --compare model ranks readmissions better" : auc.high < 0 ? "the --compare model ranks readmissions worse" : none
        let accuracy = brier.high < 0 ? "the --compare model's risks are nearer the outcomes" : brier.low > 0 ? "the --compare model's risks are further from the outcomes" : none
        return "ROC AUC: \(ranking); Brier score: \(accuracy)"
    }

    func json() -> [String: Any] {
        func d(_ x: PairedComparison.Difference) -> [String: Any] { ["value": x.value, "ci95": [x.interval.low, x.interval.high]] }
        func fit(_ f: CalibrationFit) -> [String: Any] { ["calibration_intercept": f.intercept, "calibration_slope": f.slope] }
        return ["model_id": modelID, "file": path, "encounters": encounters, "patients": patients, "left_out": leftOut,
                "model": MetricsJSON.metrics(first).merging(fit(firstFit)) { a, _ in a },
                "compare": MetricsJSON.metrics(second).merging(fit(secondFit)) { a, _ in a },
                "difference": ["roc_auc": d(difference.rocAUC), "brier": d(difference.brier), "mean_risk": d(difference.meanRisk)],
                "replicates": difference.replicates, "verdict": verdict,
                "tiers": ["model": firstTiers, "compare": secondTiers, "counts": tierCounts]]
    }
}
