import ArgumentParser
import Foundation
import ReadmitCore

/// `readmit evaluate`: metrics of a saved model on a labelled file.
struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Evaluate a saved model on labelled tables, with the cohort rules of its dataset spec (exclusions, label, split).",
        discussion: """
            Prints ROC AUC, PR AUC, Brier score, ECE and precision/recall among the top 10% risk, for all \
            eligible encounters and for each patient's first encounter. With --test-split only the fixed \
            test patients of the spec's split are used (training patients would flatter a model trained on this data).
            """
    )

    @Option(name: .long, help: "Model file written by `readmit train`.")
    var model: String

    @Option(name: .long, help: "Labelled encounters table (CSV or CSV.gz).")
    var data: String

    @Option(name: .customLong("data-dir"), help: "Folder of the spec's other tables (default: the folder of --data).")
    var dataDirectory: String?

    @Flag(name: .long, help: "Use only the test patients of the fixed split.")
    var testSplit = false

    @Option(name: .long, help: "A second model file (a retrained or recalibrated one) evaluated on the same encounters: its figures and the paired differences from --model's, with patient-bootstrap intervals.")
    var compare: String?

    @Option(name: .long, help: "Patient-bootstrap replicates behind the intervals (calibration, atypicality).")
    var replicates = 1000

    @Option(name: .long, help: "Also write the metrics as JSON to this file.")
    var json: String?

    @Option(name: .long, help: "Also write an HTML report of the evaluation (report.html and plots/) in this folder, as training's report shows the test patients.")
    var report: String?

    @OptionGroup var global: GlobalOptions

    func validate() throws {
        guard (1...100_000).contains(replicates) else {
            throw ValidationError("--replicates must be between 1 and 100000, not \(replicates)")
        }
        if let json { try OutputFile.refuseInputs(("--json", json), [("--model", model), ("--data", data), ("--compare", compare)]) }
        if let report {
            try OutputFile.refuseInputs(("--report", report + "/report.html"), [("--model", model), ("--data", data), ("--compare", compare), ("--json", json)])
        }
    }

    func run() throws {
        try runReportingErrors {
            if let report { try EvaluationReport.prepare(folder: report) }
            let loaded = try ReadmitModel.load(path: model)
            let folder = dataDirectory ?? URL(fileURLWithPath: data).deletingLastPathComponent().path
            let tables = try DatasetTables(spec: loaded.parameters.dataset, folders: [folder], encountersFile: data)
            let encoded = try EncodedRows(tables: tables, schema: loaded.schema, requireLabel: true, strict: true)
            let cohort = try Cohort(tables: tables, records: encoded.records, labels: encoded.labels)
            // A column subgroup this extract lacks is left out with a note: it breaks the
            // figures down, it does not decide them.
            let (columns, skipped) = SubgroupColumn.available(tables: tables, patientRow: encoded.records.patientRow)
            let keep = cohort.rows.indices.filter { !testSplit || cohort.isTest[$0] }
            guard !cohort.rows.isEmpty else { throw ValidationError("no eligible encounters to evaluate in \(data)") }
            guard !keep.isEmpty else {
                throw ValidationError("none of the \(cohort.rows.count) eligible encounters in \(data) belongs to a test patient of the spec's split; leave out --test-split to evaluate them all")
            }
            let x = encoded.matrix.selecting(rows: keep.map { cohort.rows[$0] })
            let scores = try loaded.score(x)
            let risk = scores.risk
            let labels = keep.map { cohort.labels[$0] }
            // The second model is read and scored before anything is printed: a file or spec it
            // cannot read fails the command at once, named as the --compare model's.
            let comparison = try compare.map { path in
                try ModelComparison(path: path, dataPath: data, folder: folder, testSplit: testSplit, first: loaded, cohort: cohort,
                                    rows: keep, firstRisk: risk, replicates: replicates)
            }
            // Calibration intercept and slope, net benefit and atypicality on these encounters,
            // as `readmit train` reports them on its test patients (external validation).
            // The compared model joins the calibration and decision-curve figures (and the
            // report's curves) when it was scored on exactly these encounters.
            let compared = comparison.flatMap { $0.leftOut == 0 ? [("compare", $0.secondRisk)] : nil } ?? []
            let clinical = ClinicalEvaluation(models: [("risk_model", risk)] + compared, labels: labels, atypicality: scores.atypicality,
                                              patients: keep.map { cohort.patients[$0] }, tiers: loaded.parameters.tiers.map { ($0.name, $0.minRisk) },
                                              replicates: replicates, seed: 42,
                                              interval: loaded.hasInterval ? (scores.intervalLow, scores.intervalHigh) : nil)
            let all = BinaryMetrics(scores: risk, labels: labels, probabilities: true)
            let firstIdx = keep.indices.filter { cohort.isFirstEncounter[keep[$0]] }
            let first = BinaryMetrics(scores: firstIdx.map { risk[$0] }, labels: firstIdx.map { labels[$0] }, probabilities: true)
            func row(_ name: String, _ m: BinaryMetrics) -> [String] {
                [name, Format.int(m.count), Format.pct(Double(m.positives) / Double(max(m.count, 1))), Format.f(m.rocAUC), Format.f(m.prAUC),
                 Format.f(m.brier), Format.f(m.ece), Format.f(m.precisionAt10), Format.f(m.recallAt10)]
            }
            print("Model \(loaded.modelID) on \(data)\(testSplit ? " (test patients)" : "")")
            print(TextTable.render(header: ["encounters", "n", "prevalence", "ROC AUC", "PR AUC", "Brier", "ECE", "prec@10%", "recall@10%"],
                                   rows: [row("all eligible", all), row("first per patient", first)]))
            if let fit = clinical.calibration["risk_model"] {
                let (i, sl) = (clinical.interceptInterval, clinical.slopeInterval)
                print("calibration: intercept \(Format.f(fit.intercept)) (95% CI \(Format.f(i.low)) - \(Format.f(i.high)); ideal 0), slope \(Format.f(fit.slope)) (\(Format.f(sl.low)) - \(Format.f(sl.high)); ideal 1)")
                // An interval that excludes 0: the risks' level is off on these data, which a
                // recalibration on the hospital's own outcomes fixes without retraining.
                if i.low > 0 || i.high < 0 {
                    let mean = risk.reduce(0, +) / Double(max(risk.count, 1))
                    print("note: the calibration intercept's interval excludes 0: the risks are too \(i.low > 0 ? "low" : "high") on average here "
                          + "(mean risk \(Format.f(mean, 3)), readmitted \(Format.f(Double(all.positives) / Double(max(all.count, 1)), 3))); "
                          + "`readmit recalibrate` refits the calibration on a hospital's own outcomes (README, \"Recalibrating for another hospital\")")
                }
            }
            for t in clinical.atTiers {
                print("net benefit acting on \(t.tier) and above (risk >= \(Format.f(t.threshold, 3))): \(Format.f(t.model, 4)); treat all \(Format.f(t.treatAll, 4)); treat none 0")
            }
            print("atypicality: \(clinical.atypicality.verdict)")
            if let interval = clinical.interval { print("risk intervals: \(interval.verdict)") }
            // By the subgroups the model's spec declares, as the training report shows them.
            let subgroups = SubgroupEvaluation.all(loaded.parameters.dataset.reportSubgroups ?? [], schema: loaded.schema, x: x,
                                                   columns: columns, tableRows: keep.map { cohort.rows[$0] }, risk: risk, labels: labels,
                                                   patients: keep.map { cohort.patients[$0] }, tiers: loaded.parameters.tiers.map { ($0.name, $0.minRisk) },
                                                   replicates: replicates, seed: 43)
            for error in skipped { print("note: no breakdown by this column: \(error)") }
            for s in subgroups {
                print("by \(s.name)\(s.isColumn ? " (column)" : ""): " + s.groups.map { g in
                    "\(g.name) n \(Format.int(g.count)), patients \(Format.int(g.patients)), observed \(Format.f(g.observedRate, 3)), predicted \(Format.f(g.meanPredicted, 3)), ROC AUC \(Format.f(g.rocAUC))"
                }.joined(separator: "; "))
                // What each tier flags in each group: who has their readmissions caught, and what a flag means.
                for (t, first) in (s.groups.first?.atTiers ?? []).enumerated() {
                    print("  flagged at \(first.tier) and above (risk >= \(Format.f(first.threshold, 3))): " + s.groups.map { g in
                        let f = g.atTiers[t]
                        let sensitivity = f.sensitivity.isFinite
                            ? "\(Format.f(f.sensitivity, 3)) (\(Format.f(f.sensitivityInterval.low, 3))-\(Format.f(f.sensitivityInterval.high, 3)))" : "- (no readmission)"
                        return "\(g.name) \(Format.pct(f.flaggedShare, 1)) flagged, sensitivity \(sensitivity), PPV \(f.ppv.isFinite ? Format.f(f.ppv, 3) : "- (none flagged)")"
                    }.joined(separator: "; "))
                }
            }
            comparison?.print(firstID: loaded.modelID)
            if let json {
                let model = MetricsJSON.metrics(all).merging(MetricsJSON.calibration(clinical)) { a, _ in a }
                let object: [String: Any] = ["model_id": loaded.modelID, "data": data, "test_split": testSplit,
                                             "risk_model": model, "first_encounter": ["risk_model": MetricsJSON.metrics(first)],
                                             "decision_curve": MetricsJSON.decisionCurve(clinical), "atypicality_validation": MetricsJSON.atypicality(clinical),
                                             "interval_validation": MetricsJSON.intervalValidation(clinical) ?? NSNull(),
                                             "subgroups": MetricsJSON.subgroups(subgroups),
                                             "subgroups_left_out": skipped.map { ["column": $0.column ?? "", "reason": $0.description] },
                                             "compare": comparison?.json() ?? NSNull()]
                let bytes = try JSONSerialization.data(withJSONObject: MetricsJSON.sanitized(object), options: [.prettyPrinted, .sortedKeys])
                try OutputFile.write(bytes: Array(bytes), to: json)
            }
            if let report {
                let input = try ReportBuilder.evaluation(
                    model: loaded, dataPath: data, dataSHA256: tables.sha256Hex(), testSplit: testSplit, cohort: cohort, encounterCount: encoded.records.count,
                    patientCount: Set(encoded.records.patientKeys).count, rows: keep, x: x, risk: risk, labels: labels,
                    first: first, clinical: clinical, subgroups: subgroups, comparison: comparison, replicates: replicates)
                try EvaluationReport.write(input, to: report)
            }
        }
    }
}
