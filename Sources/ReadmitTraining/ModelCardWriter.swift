import Foundation
import ReadmitModelFile
import ReadmitModels
import ReadmitSpec

/// Writes a model's card from what the spec's author stated (`model_card` in the spec) and what
/// training did and measured. Every figure comes from this run; a part the spec does not state
/// says so, rather than being left out.
enum ModelCardWriter {
    /// Below this many readmissions a subgroup's figures are too uncertain to summarise.
    static let smallGroupEvents = SubgroupEvaluation.smallGroupEvents

    /// What the card is written from.
    struct Facts {
        var spec: DatasetSpec
        var cohort: CohortSummary
        var schemaCount: Int
        var search: BoosterSearch
        var refit: BoosterRefit
        var evaluations: [ModelEvaluation]
        var aucInterval: (low: Double, high: Double)
        var firstEncounter: BinaryMetrics
        var clinical: ClinicalEvaluation
        var subgroups: [SubgroupEvaluation]
        var trainingDataFile: String
        var trainingDataSHA256: String
    }

    static func card(_ f: Facts) -> ModelCard {
        let stated = f.spec.modelCard ?? ModelCardStatement()
        let notStated = "not stated in the dataset spec (`model_card` in docs/DATASET_SPEC.md)"
        var sections: [ModelCard.Section] = []

        var use = [stated.intendedUse ?? "Intended use \(notStated)."]
        use.append("Output: for each encounter at discharge, a calibrated probability of the outcome (\(outcome(f.spec.label))), a tier (low, medium, high), an atypicality percentile (how unlike the training cohort the record is) and, on request, the features that moved the risk most.")
        if let out = stated.outOfScope { use.append("Out of scope: \(out)") }
        sections.append(.init(title: "Intended use", items: use))

        let c = f.cohort
        var cohort = ["\(f.spec.name): \(f.spec.description.isEmpty ? "no description in the spec" : f.spec.description)",
                      "Outcome (label): \(outcome(f.spec.label)).",
                      "\(count(c.rows)) encounter rows of \(count(c.patients)) patients read; \(count(c.excluded)) excluded" + (c.exclusions.isEmpty ? "." : ": " + c.exclusions.map { "\($0.reason) \(count($0.count))" }.joined(separator: ", ") + ".")]
        if f.spec.firstEncounterOnly { cohort.append("Only each patient's first eligible encounter is kept (\(c.notFirstEncounter) later ones left out).") }
        cohort.append("Split \(c.splitDescription): \(count(c.trainEncounters)) training encounters (\(count(c.trainPatients)) patients, \(percent(c.trainPositives, c.trainEncounters)) positive), \(count(c.testEncounters)) test encounters (\(count(c.testPatients)) patients, \(percent(c.testPositives, c.testEncounters)) positive).")
        if c.leftOutBySplit > 0 { cohort.append("\(c.leftOutBySplit) encounters left out by the split rule.") }
        sections.append(.init(title: "Cohort and exclusions", items: cohort))

        sections.append(.init(title: "Data source and dates", items: [
            stated.dataSource ?? "Data source \(notStated).",
            "Period: " + (stated.period ?? notStated) + ".",
            "Trained from \(f.trainingDataFile) (SHA-256 \(f.trainingDataSHA256.prefix(16))...).",
        ]))

        var kinds: [String: Int] = [:]
        for feature in f.spec.features { kinds[feature.kind.rawValue, default: 0] += 1 }
        let history = f.spec.features.filter { $0.kind == .history }.map(\.name)
        var features = ["\(f.spec.features.count) declared features (" + kinds.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ") + "), \(f.schemaCount) model inputs; each is described in the model's INFO and in the report."]
        if !history.isEmpty {
            features.append("History features (\(history.joined(separator: ", "))) are inputs the caller sends from the patient's earlier encounters; a caller that does not send them gets the model's unknown-history state, never \"first encounter\".")
        }
        sections.append(.init(title: "Features", items: features))

        sections.append(.init(title: "Training and evaluation design", items: [
            "Training patients are divided by patient into fit (\(count(c.fitRows - c.validationRows)) encounters), validation (\(count(c.validationRows))) and calibration (\(count(c.calibrationRows))) sets; no patient is in two of them, and no test patient is in any.",
            "Gradient-boosted trees (XGBoost): \(f.search.setting.description.replacingOccurrences(of: "=", with: " ")) and the round count chosen on the validation patients' log loss; refitted on fit and validation patients with \(f.refit.rounds) rounds.",
            "Platt scaling and the tier thresholds (medium from the 70th, high from the 90th percentile of held-out risk) fitted on the calibration patients only.",
            "Evaluated once on the test patients, never used for a choice; intervals are 95% patient-bootstrap intervals (\(f.clinical.replicates) replicates).",
        ]))

        var figures: [String] = []
        if let m = f.evaluations.first {
            figures.append("ROC AUC \(fixed(m.metrics.rocAUC, 3)) (\(fixed(f.aucInterval.low, 3))-\(fixed(f.aucInterval.high, 3))), PR AUC \(fixed(m.metrics.prAUC, 3)), Brier \(fixed(m.metrics.brier ?? .nan, 4)), expected calibration error \(fixed(m.metrics.ece ?? .nan, 4)).")
        }
        if let fit = f.clinical.calibration["risk_model"] {
            figures.append("Calibration intercept \(fixed(fit.intercept, 3)) (\(fixed(f.clinical.interceptInterval.low, 3)) to \(fixed(f.clinical.interceptInterval.high, 3)); ideal 0), slope \(fixed(fit.slope, 3)) (\(fixed(f.clinical.slopeInterval.low, 3)) to \(fixed(f.clinical.slopeInterval.high, 3)); ideal 1).")
        }
        if let withheld = f.evaluations.first(where: { $0.key == "risk_model_history_unknown" }) {
            figures.append("History withheld (a caller that does not send it): ROC AUC \(fixed(withheld.metrics.rocAUC, 3)), Brier \(fixed(withheld.metrics.brier ?? .nan, 4)).")
        }
        figures.append("Each test patient's first encounter only: ROC AUC \(fixed(f.firstEncounter.rocAUC, 3)).")
        let references = f.evaluations.dropFirst().filter { $0.key != "risk_model_history_unknown" }
        if !references.isEmpty {
            figures.append("References: " + references.map { "\($0.name) ROC AUC \(fixed($0.metrics.rocAUC, 3))" }.joined(separator: "; ") + ".")
        }
        for t in f.clinical.atTiers {
            figures.append("Net benefit of acting on tier \(t.tier) and above (risk >= \(fixed(t.threshold, 3))): \(fixed(t.model, 4)) against \(fixed(t.treatAll, 4)) for treating everyone and 0 for no one.")
        }
        for s in f.subgroups {
            // The range over groups large enough to say something; the report lists them all.
            let rated = s.groups.filter { $0.rocAUC.isFinite && $0.events >= Self.smallGroupEvents }
            guard let low = rated.min(by: { $0.rocAUC < $1.rocAUC }), let high = rated.max(by: { $0.rocAUC < $1.rocAUC }) else { continue }
            figures.append("By \(s.name), over the \(rated.count) of \(s.groups.count) groups with at least \(Self.smallGroupEvents) readmissions: ROC AUC from \(fixed(low.rocAUC, 3)) (\(low.name), n \(count(low.count))) to \(fixed(high.rocAUC, 3)) (\(high.name), n \(count(high.count))).")
            // Who has their readmissions caught by the top tier's flag, over the same groups.
            if let tier = rated.first?.atTiers.last,
               let missed = rated.min(by: { ($0.atTiers.last?.sensitivity ?? .nan) < ($1.atTiers.last?.sensitivity ?? .nan) }),
               let caught = rated.max(by: { ($0.atTiers.last?.sensitivity ?? .nan) < ($1.atTiers.last?.sensitivity ?? .nan) }),
               let lowFlag = missed.atTiers.last, let highFlag = caught.atTiers.last {
                figures.append("Share of readmissions flagged at tier \(tier.tier) (risk >= \(fixed(tier.threshold, 3))), by \(s.name), over the same groups: from \(fixed(lowFlag.sensitivity, 3)) (\(missed.name)) to \(fixed(highFlag.sensitivity, 3)) (\(caught.name)).")
            }
        }
        sections.append(.init(title: "Performance on the test patients", items: figures))

        if let interval = f.clinical.interval { figures.append("Risk intervals (Venn-Abers): " + interval.verdict) }

        var limits = stated.limitations
        limits.append(f.clinical.atypicality.verdict)
        let small = f.subgroups.flatMap { s in s.groups.filter { $0.events < Self.smallGroupEvents }.map { "\(s.name) \($0.name)" } }
        if !small.isEmpty {
            limits.append("Subgroups with fewer than \(Self.smallGroupEvents) readmissions have wide intervals and say little: \(small.joined(separator: ", ")).")
        }
        limits.append("The figures hold for patients like the cohort above; before use on another population or period, evaluate the model there (`readmit evaluate`) and, if its calibration differs, recalibrate it on local outcomes (`readmit recalibrate`).")
        sections.append(.init(title: "Known limits", items: limits))
        return ModelCard(sections: sections)
    }

    static func outcome(_ label: LabelRule) -> String {
        switch label {
        case .column(let name, let positive, _): return "\(name) in {\(positive.joined(separator: ", "))}"
        case .readmissionWithinDays(let days): return "a readmission of the same patient within \(days) days of discharge"
        }
    }

    /// A count with thousands separators (1,234,567), independent of the locale.
    static func count(_ n: Int) -> String {
        let digits = String(n.magnitude)
        var out = ""
        for (i, ch) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(ch)
        }
        return (n < 0 ? "-" : "") + out
    }

    static func percent(_ part: Int, _ whole: Int) -> String {
        whole > 0 ? String(format: "%.2f%%", 100 * Double(part) / Double(whole)) : "n/a"
    }

    static func fixed(_ x: Double, _ digits: Int) -> String {
        x.isFinite ? String(format: "%.\(digits)f", x) : "n/a"
    }
}
