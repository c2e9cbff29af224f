import ReadmitCore

/// The console summary of a training run: cohort, key distributions by outcome, metrics.
enum Summary {
    static func render(_ r: TrainingResult) -> String {
        let c = r.cohort
        var out: [String] = []
        out.append("Cohort")
        out.append(TextTable.render(header: ["", "value"], rows: [
            ["dataset", c.dataset],
            ["encounters in file", Format.int(c.rows)],
            ["patients in file", Format.int(c.patients)],
        ] + c.exclusions.map { ["excluded: \($0.reason)", Format.int($0.count)] } + Summary.leftOut(c) + [
            ["split", c.splitDescription],
            ["training encounters / patients", "\(Format.int(c.trainEncounters)) / \(Format.int(c.trainPatients))"],
            ["test encounters / patients", "\(Format.int(c.testEncounters)) / \(Format.int(c.testPatients))"],
            ["prevalence, training", Format.pct(Double(c.trainPositives) / Double(max(c.trainEncounters, 1)))],
            ["prevalence, test", Format.pct(Double(c.testPositives) / Double(max(c.testEncounters, 1)))],
            ["test first encounters", Format.int(c.testFirstEncounters)],
            ["fit / validation / calibration rows", "\(Format.int(c.fitRows)) / \(Format.int(c.validationRows)) / \(Format.int(c.calibrationRows))"],
        ]))
        out.append("")
        out.append("Missing values (share of eligible encounters)")
        out.append(TextTable.render(header: ["feature", "missing"], rows: r.missingness.prefix(8).map { [$0.column, Format.pct($0.fraction, 1)] }))
        out.append("")
        out.append("Key features by outcome (training encounters; numeric: mean, categorical: share in the most common level)")
        var rows: [[String]] = []
        for d in r.distributions {
            let np = max(d.positive.reduce(0, +), 1), nn = max(d.negative.reduce(0, +), 1)
            if let v = d.means {
                rows.append(["\(d.feature) (mean)", Format.f(v.positive, 2), Format.f(v.negative, 2)])
            } else if let top = d.negative.indices.max(by: { d.negative[$0] < d.negative[$1] }) {
                rows.append(["\(d.feature) = \(d.bins[top])", Format.pct(Double(d.positive[top]) / Double(np), 1), Format.pct(Double(d.negative[top]) / Double(nn), 1)])
            }
        }
        out.append(TextTable.render(header: ["feature", "positive", "negative"], rows: rows))
        out.append("")
        out.append("Test-split metrics (\(Format.int(c.testEncounters)) encounters; references calibrated on held-out training patients)")
        out.append(TextTable.render(header: ["model", "ROC AUC", "PR AUC", "Brier", "ECE", "prec@10%", "recall@10%"],
                                    rows: r.evaluations.map { e in
                                        let m = e.metrics
                                        return [e.key, Format.f(m.rocAUC), Format.f(m.prAUC), Format.f(m.brier), Format.f(m.ece),
                                                Format.f(m.precisionAt10), Format.f(m.recallAt10)]
                                    }))
        let ci = r.riskModelAUCInterval
        out.append("risk_model ROC AUC 95% patient-bootstrap interval: \(Format.f(ci.low)) - \(Format.f(ci.high))")
        let clinical = r.clinical
        if let fit = clinical.calibration["risk_model"] {
            let (i, sl) = (clinical.interceptInterval, clinical.slopeInterval)
            out.append("risk_model calibration: intercept \(Format.f(fit.intercept)) (95% CI \(Format.f(i.low)) - \(Format.f(i.high)); ideal 0), slope \(Format.f(fit.slope)) (\(Format.f(sl.low)) - \(Format.f(sl.high)); ideal 1)")
        }
        if !clinical.atTiers.isEmpty {
            out.append("Net benefit of acting on the tiers (treat all / none in brackets): " + clinical.atTiers.map {
                "\($0.tier) and above (risk >= \(Format.f($0.threshold, 3))): \(Format.f($0.model, 4)) (\(Format.f($0.treatAll, 4)) / 0)"
            }.joined(separator: "; "))
        }
        out.append("Atypicality: " + clinical.atypicality.verdict)
        if let interval = clinical.interval { out.append("Risk intervals (Venn-Abers): " + interval.verdict) }
        out.append("risk_model on first encounters only: ROC AUC \(Format.f(r.firstEncounterMetrics.rocAUC)), Brier \(Format.f(r.firstEncounterMetrics.brier)) (\(Format.int(r.firstEncounterMetrics.count)) encounters)")
        if !r.ablation.isEmpty {
            out.append("What each feature group adds (retrained without it; test ROC AUC added, Brier reduced): " + r.ablation.map {
                "\($0.group) \(Format.signed($0.aucAdded)), \(Format.signed($0.brierReduced, 5))"
            }.joined(separator: "; "))
        }
        out.append("Hyperparameters (chosen on validation patients): " + r.trials.map { "\($0.description): logloss \(Format.f($0.validationLogLoss, 5)), AUC \(Format.f($0.validationAUC)), \($0.rounds) rounds" }.joined(separator: "; "))
        if c.testEncounters < 1000 {
            out.append("Note: \(Format.int(c.testEncounters)) test encounters (\(Format.int(c.testPositives)) readmitted): every figure above is uncertain; read the intervals.")
        }
        return out.joined(separator: "\n")
    }

    /// Rows the cohort filter or a declared split left out, and patients on both sides of a split.
    static func leftOut(_ c: CohortSummary) -> [[String]] {
        var rows: [[String]] = []
        if c.notFirstEncounter > 0 { rows.append(["left out: not the patient's first encounter", Format.int(c.notFirstEncounter)]) }
        if c.leftOutBySplit > 0 { rows.append(["left out by the split", Format.int(c.leftOutBySplit)]) }
        if c.patientsOnBothSides > 0 { rows.append(["patients on both sides of the split", Format.int(c.patientsOnBothSides)]) }
        return rows
    }
}
