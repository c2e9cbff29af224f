import Foundation
import ReadmitFeatures
import ReadmitModelFile
import ReadmitModels
import ReadmitSpec
import ReadmitTables

/// Why a model could not be recalibrated on the data given.
public struct RecalibrationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kind of problem.
    public enum Code: String, Sendable {
        /// The data are the model's own training data (their training patients' margins are optimistic).
        case trainingData = "training_data"
        /// A side of the spec's split has too few encounters, patients or readmissions.
        case tooFew = "too_few"
        /// Refitted, the calibrator would rank readmissions the wrong way round (slope <= 0).
        case wrongDirection = "wrong_direction"
        /// The tier thresholds cannot be recomputed (the model's tiers are not the three of its
        /// rule, or the local risks are too alike to separate them).
        case tiers
    }

    /// The kind of problem.
    public var code: Code
    /// What was wrong, for people.
    public var message: String

    /// Creates an error.
    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "recalibration: \(message)" }
}

/// A saved model recalibrated on another hospital's labelled encounters (`readmit recalibrate`).
///
/// A model moved to another hospital ranks patients about as well as it did, but its risks are
/// often too high or too low there: the readmission rate, coding and follow-up differ. Refitting
/// its calibration on local outcomes (Steyerberg, *Clinical Prediction Models*, ch. 20; Van
/// Calster et al. 2019) fixes the level without touching what was learned from the training
/// cohort. The local encounters are read through the model's own spec (exclusions, label,
/// history), and split as the spec splits patients: the calibrator, the Venn-Abers intervals and
/// (with ``Recalibration/Tiers/local``) the tier thresholds are refitted on the training side
/// and the result checked, before and after, on the test side, so the figures are not measured
/// on the patients they were fitted to. The trees, the isolation forest, the histogram detector
/// and the atypicality reference are the original model's.
public struct LocalRecalibration: Sendable {
    /// Figures of one calibration on the check patients.
    public struct Figures: Sendable {
        /// ROC AUC, PR AUC, Brier score, ECE, precision and recall in the top 10%.
        public var metrics: BinaryMetrics
        /// The mean risk (calibration-in-the-large compares it with the readmitted share).
        public var meanRisk: Double
        /// Calibration intercept and slope with patient-bootstrap intervals, net benefit at the tiers.
        public var clinical: ClinicalEvaluation
    }

    /// The recalibrated model file (model id set, model card extended).
    public let encoded: EncodedModel
    /// What was done, as the file records it.
    public let record: Recalibration
    /// The original model on the check patients.
    public let before: Figures
    /// The recalibrated model on the check patients.
    public let after: Figures
    /// Warnings worth printing (few readmissions to refit on).
    public let notes: [String]

    /// Fewest readmissions on each side of the split: below this, a refitted intercept (and a
    /// check of it) rests on too little to be worth writing.
    public static let minimumEvents = 10
    /// Readmissions below which a note suggests ``Recalibration/Method/intercept`` (one
    /// parameter) over two (Steyerberg's rule of thumb for updating: about 100 events).
    public static let suggestedEvents = 100

    /// Recalibrates `model` on `tables` (read through the model's spec; `tables` must hold
    /// labels). `replicates` patient-bootstrap replicates give the check figures' intervals.
    public init(model: ReadmitModel, tables: DatasetTables, method: Recalibration.Method, tiers tierChoice: Recalibration.Tiers,
                replicates: Int, createdAt: String = utcTimestamp()) throws {
        let p = model.parameters
        let dataSHA = tables.sha256Hex()
        guard dataSHA != p.metadata.trainingDataSHA256 else {
            throw RecalibrationError(code: .trainingData, message: "the data in \(tables.fileNames) are those model \(model.modelID) was trained on "
                                        + "(the same SHA-256): its training patients' risks are optimistic there; recalibrate on another hospital's or a later extract")
        }
        let rows = try EncodedRows(tables: tables, schema: model.schema, requireLabel: true, strict: true)
        let cohort = try Cohort(tables: tables, records: rows.records, labels: rows.labels)
        let x = rows.matrix.selecting(rows: cohort.rows)
        let margins = try model.margins(x)
        let update = cohort.rows.indices.filter { !cohort.isTest[$0] }, check = cohort.rows.indices.filter { cohort.isTest[$0] }
        func counts(_ part: [Int]) -> Recalibration.Counts {
            .init(encounters: part.count, patients: Set(part.map { cohort.patients[$0] }).count, events: part.filter { cohort.labels[$0] }.count)
        }
        let updateCounts = counts(update), checkCounts = counts(check)
        for (name, side, c) in [("update", "training", updateCounts), ("check", "test", checkCounts)] {
            guard c.events >= Self.minimumEvents, c.encounters - c.events >= Self.minimumEvents else {
                throw RecalibrationError(code: .tooFew, message: "the \(side) side of the spec's split (the \(name) patients) holds \(c.encounters) eligible encounters "
                                            + "of \(c.patients) patients with \(c.events) readmissions; at least \(Self.minimumEvents) readmitted and \(Self.minimumEvents) not are needed "
                                            + "(the spec splits \(TrainingPipeline.describeSplit(p.dataset.split)))")
            }
        }
        let updateMargins = update.map { margins[$0] }, updateLabels = update.map { cohort.labels[$0] }
        let calibrator: PlattCalibrator
        switch method {
        case .intercept: calibrator = p.calibrator.refittingIntercept(margins: updateMargins, labels: updateLabels)
        case .logistic: calibrator = PlattCalibrator(margins: updateMargins, labels: updateLabels)
        }
        guard calibrator.a > 0, calibrator.a.isFinite, calibrator.b.isFinite else {
            throw RecalibrationError(code: .wrongDirection, message: "refitted on the update patients, the calibrator's slope on the margin is \(calibrator.a): "
                                        + "the model does not rank these patients' readmissions the right way round, and recalibration cannot fix that; retrain on these data")
        }
        let tiers: [RiskTier]
        switch tierChoice {
        case .kept:
            tiers = p.tiers
        case .local:
            // The model's own rule (BoosterRefit): medium from the 70th, high from the 90th
            // percentile of held-out risk; here the update patients' recalibrated risks.
            guard p.tiers.count == 3 else {
                throw RecalibrationError(code: .tiers, message: "the model has \(p.tiers.count) tiers, not the three its 70th/90th-percentile rule makes; keep them (--tiers kept)")
            }
            let risk = updateMargins.map { calibrator.probability(margin: $0) }.sorted()
            func quantile(_ q: Double) -> Double { risk[min(risk.count - 1, Int(Double(risk.count) * q))] }
            let (medium, high) = (quantile(0.70), quantile(0.90))
            guard medium > 0, medium < high else {
                throw RecalibrationError(code: .tiers, message: "the update patients' 70th and 90th risk percentiles (\(medium), \(high)) do not separate three tiers; keep the model's (--tiers kept)")
            }
            tiers = [RiskTier(name: p.tiers[0].name, minRisk: 0), RiskTier(name: p.tiers[1].name, minRisk: medium), RiskTier(name: p.tiers[2].name, minRisk: high)]
        }
        let record = Recalibration(fromModelID: model.modelID, previousCalibrator: p.calibrator, previousTiers: p.tiers, method: method, tiers: tierChoice,
                                   dataFile: tables.fileNames, dataSHA256: dataSHA, update: updateCounts, check: checkCounts)

        // The check patients, before and after.
        let checkMargins = check.map { margins[$0] }, checkLabels = check.map { cohort.labels[$0] }
        let checkPatients = check.map { cohort.patients[$0] }
        let atypicality = try model.score(x.selecting(rows: check), interval: false).atypicality
        let vennAbers = VennAbersCalibrator(margins: updateMargins, labels: updateLabels)
        func figures(_ c: PlattCalibrator, _ va: VennAbersCalibrator?, _ tiers: [RiskTier], seed: UInt64) -> Figures {
            let risk = checkMargins.map { c.probability(margin: $0) }
            let interval = va.map { va in
                let ranges = checkMargins.map { va.interval(margin: $0) }
                return (ranges.map(\.low), ranges.map(\.high))
            }
            return Figures(metrics: BinaryMetrics(scores: risk, labels: checkLabels, probabilities: true),
                           meanRisk: risk.reduce(0, +) / Double(max(risk.count, 1)),
                           clinical: ClinicalEvaluation(models: [("risk_model", risk)], labels: checkLabels, atypicality: atypicality, patients: checkPatients,
                                                        tiers: tiers.map { ($0.name, $0.minRisk) }, replicates: replicates, seed: seed, interval: interval))
        }
        let before = figures(p.calibrator, p.vennAbers, p.tiers, seed: 42)
        let after = figures(calibrator, vennAbers, tiers, seed: 42)

        var parameters = p
        parameters.calibrator = calibrator
        parameters.vennAbers = vennAbers
        parameters.tiers = tiers
        parameters.recalibration = record
        parameters.metadata.createdAt = createdAt
        parameters.metadata.readmitVersion = TrainingPipeline.readmitVersion
        parameters.modelCard = nil
        let unnamed = try EncodedModel(parameters)
        let named = unnamed.withModelID(try unnamed.modelID())
        let card = Self.card(previous: p.modelCard, record: record, previousRecord: p.recalibration, newID: named.parameters.metadata.modelID,
                             tiers: tiers, before: before, after: after)
        encoded = try named.withModelCard(card)
        self.record = record
        self.before = before
        self.after = after
        var notes: [String] = []
        if method == .logistic && updateCounts.events < Self.suggestedEvents {
            notes.append("the update patients hold \(updateCounts.events) readmissions: two calibration parameters rest on few events; --method intercept refits one")
        }
        if let fit = before.clinical.calibration["risk_model"], let refit = after.clinical.calibration["risk_model"],
           abs(refit.intercept) > abs(fit.intercept) {
            notes.append("on the check patients the calibration intercept moved away from 0 (\(Self.f(fit.intercept)) -> \(Self.f(refit.intercept))): the two sides of the split differ; consider keeping the original model")
        }
        self.notes = notes
    }

    static func f(_ x: Double, _ digits: Int = 3) -> String { x.isFinite ? String(format: "%.\(digits)f", x) : "n/a" }

    /// The original card (without an earlier recalibration's section) and a section saying what
    /// was refitted, on whom, and what it changed on the check patients.
    static func card(previous: ModelCard?, record r: Recalibration, previousRecord: Recalibration?, newID: String, tiers: [RiskTier],
                     before: Figures, after: Figures) -> ModelCard {
        let title = "Local recalibration"
        var sections = (previous?.sections ?? []).filter { $0.title != title }
        let what = r.method == .intercept
            ? "the calibrator's intercept refitted (recalibration-in-the-large; slope on the margin kept at \(f(r.previousCalibrator.a, 4)))"
            : "the calibrator's slope and intercept refitted (logistic recalibration)"
        var items = [
            "Model \(newID) is model \(r.fromModelID)\(previousRecord.map { " (itself recalibrated from \($0.fromModelID))" } ?? "") with \(what), and its Venn-Abers intervals refitted, on \(r.dataFile) (SHA-256 \(r.dataSHA256)). Its trees, isolation forest, histogram detector and atypicality reference are unchanged: atypicality is still measured against the training cohort.",
            "Refitted on \(r.update.encounters) eligible encounters of \(r.update.patients) patients (\(r.update.events) readmitted), the training side of the spec's split of those data; checked on the \(r.check.encounters) encounters of \(r.check.patients) patients (\(r.check.events) readmitted) of its test side.",
        ]
        if let b = before.clinical.calibration["risk_model"], let a = after.clinical.calibration["risk_model"] {
            let (bi, ai) = (before.clinical.interceptInterval, after.clinical.interceptInterval)
            let (bs, as_) = (before.clinical.slopeInterval, after.clinical.slopeInterval)
            items.append("On the check patients, before and after: calibration intercept \(f(b.intercept)) (95% CI \(f(bi.low)) to \(f(bi.high))) -> \(f(a.intercept)) (\(f(ai.low)) to \(f(ai.high))); slope \(f(b.slope)) (\(f(bs.low)) to \(f(bs.high))) -> \(f(a.slope)) (\(f(as_.low)) to \(f(as_.high))); Brier \(f(before.metrics.brier ?? .nan, 4)) -> \(f(after.metrics.brier ?? .nan, 4)); mean risk \(f(before.meanRisk)) -> \(f(after.meanRisk)) against \(f(Double(r.check.events) / Double(max(r.check.encounters, 1)))) readmitted; ROC AUC \(f(before.metrics.rocAUC)) -> \(f(after.metrics.rocAUC)) (a recalibration keeps the ranking).")
        }
        let thresholds = tiers.dropFirst().map { "\($0.name) from \(f($0.minRisk, 4))" }.joined(separator: ", ")
        let old = r.previousTiers.dropFirst().map { "\($0.name) from \(f($0.minRisk, 4))" }.joined(separator: ", ")
        items.append(r.tiers == .local
                     ? "Tiers recomputed by the model's rule (70th and 90th percentiles of risk) on the update patients: \(thresholds) (were \(old))."
                     : "Tiers kept: \(thresholds).")
        items.append("The performance figures above were measured at the training site, with the calibration before this one.")
        sections.append(ModelCard.Section(title: title, items: items))
        return ModelCard(sections: sections)
    }
}
