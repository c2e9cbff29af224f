import Foundation
import ReadmitCore
import ReadmitReport

/// Maps a training result onto the report's input model.
enum ReportBuilder {
    static func input(_ r: TrainingResult) -> ReportInput {
        let c = r.cohort
        let meta = r.parameters.metadata
        let prevalence = Double(c.testPositives) / Double(max(c.testEncounters, 1))
        let models = r.evaluations.map { e in
            curves(e, labels: r.testLabels, aucInterval: e.key == "risk_model" ? r.riskModelAUCInterval : nil, histogram: e.key == "risk_model")
        }
        let cohort = [
            SummaryRow("Encounters in file", Format.int(c.rows)),
            SummaryRow("Patients in file", Format.int(c.patients)),
        ] + c.exclusions.map { SummaryRow("Excluded: \($0.reason)", Format.int($0.count)) }
          + Summary.leftOut(c).map { SummaryRow($0[0].prefix(1).uppercased() + $0[0].dropFirst(), $0[1]) } + [
            SummaryRow("Split", c.splitDescription),
            SummaryRow("Training encounters / patients", "\(Format.int(c.trainEncounters)) / \(Format.int(c.trainPatients))"),
            SummaryRow("Test encounters / patients", "\(Format.int(c.testEncounters)) / \(Format.int(c.testPatients))"),
            SummaryRow("Readmitted (test)", "\(Format.int(c.testPositives)) (\(Format.pct(prevalence)))"),
            SummaryRow("Test first encounters only: risk model ROC AUC", "\(Format.f(r.firstEncounterMetrics.rocAUC)) on \(Format.int(r.firstEncounterMetrics.count)) encounters"),
            SummaryRow("Fit / validation / calibration rows", "\(Format.int(c.fitRows)) / \(Format.int(c.validationRows)) / \(Format.int(c.calibrationRows))"),
        ] + r.trials.map { SummaryRow("Validation: \($0.description)", "log loss \(Format.f($0.validationLogLoss, 5)), AUC \(Format.f($0.validationAUC)), \($0.rounds) rounds") }
        let modelInfo = [
            SummaryRow("Model id", meta.modelID),
            SummaryRow("Created", meta.createdAt),
            SummaryRow("Training data", "\(meta.trainingDataFile) (SHA-256 \(meta.trainingDataSHA256.prefix(16))...)"),
            SummaryRow("Seed", String(meta.seed)),
            SummaryRow("Input features", String(r.parameters.schema.count)),
            SummaryRow("Tiers", r.parameters.tiers.map { "\($0.name) >= \(Format.f($0.minRisk, 3))" }.joined(separator: ", ")),
        ] + r.parameters.trainingSummary.sorted { $0.key < $1.key }.map { SummaryRow($0.key, $0.value) }
        return ReportInput(
            title: "30-day readmission risk: training report",
            generatedAt: meta.createdAt,
            datasetDescription: "\(r.parameters.dataset.name): \(r.parameters.dataset.description) Data: \(meta.trainingDataFile). Test split: \(c.splitDescription).",
            cohortSummary: cohort,
            prevalence: prevalence,
            missingness: r.missingness.map { MissingnessRow(feature: $0.column, fraction: $0.fraction) },
            featureDistributions: r.distributions.map { .categorical($0.feature, levels: $0.bins, positiveCounts: $0.positive, negativeCounts: $0.negative) },
            models: models,
            topRiskFactors: r.importance.prefix(15).map { RiskFactor(feature: $0.feature, importance: $0.meanAbsContribution) },
            notes: (c.testEncounters < 1000 ? ["Only \(c.testEncounters) test encounters (\(c.testPositives) readmitted): every metric here is uncertain; read the 95% interval of the ROC AUC, not the point estimate."] : []) + [
                "Every hyperparameter was chosen on validation patients drawn from the training split; the test patients were used once, for the figures here.",
                "References (logistic regression, LACE-like index, isolation forest, histogram detector) are Platt-calibrated on the calibration patients so that Brier score and ECE compare.",
                "Anomaly scores alone are close to chance for readmission; they are served as atypicality (how unlike the training cohort a record is), not as risk.",
                "History features come from the patient's earlier encounters only (those that ended before the admission, as the dataset spec orders them); nothing from later encounters is used.",
            ] + (r.evaluations.contains { $0.key == "lace" } ? ["The LACE-like index lacks the Charlson comorbidity index and uses the comorbidity features the spec declares instead; it is a simple reference, not a validated LACE score."] : []),
            modelFileInfo: modelInfo,
            clinical: clinical(r),
            modelCard: r.parameters.modelCard?.sections.map { ModelCardSection(title: $0.title, items: $0.items) })
    }

    /// A model's curves and metrics for the report; the served model's with the interval of its
    /// ROC AUC, its reliability bins' intervals and (`histogram`) its risk distribution by outcome.
    static func curves(_ e: ModelEvaluation, labels: [Bool], aucInterval: (low: Double, high: Double)?, histogram withHistogram: Bool,
                       displayName: String? = nil) -> ModelCurves {
        let m = e.metrics
        let served = aucInterval != nil
        var histogram: ScoreHistogram?
        if withHistogram {
            let edges = (0...20).map { Double($0) * 0.025 } + [1.0]
            var pos = [Int](repeating: 0, count: edges.count - 1), neg = pos
            for (i, p) in e.probabilities.enumerated() {
                let b = min(edges.count - 2, edges.lastIndex(where: { $0 <= p }) ?? 0)
                if labels[i] { pos[b] += 1 } else { neg[b] += 1 }
            }
            histogram = ScoreHistogram(binEdges: edges, positiveCounts: pos, negativeCounts: neg)
        }
        return ModelCurves(
            key: e.key, displayName: displayName ?? shortName(e.key),
            roc: e.roc.map { CurvePoint($0.fpr, $0.tpr) },
            precisionRecall: e.precisionRecall.map { CurvePoint($0.recall, $0.precision) },
            reliability: e.calibration.map { b in
                let lower = (b.meanPredicted * 10).rounded(.down) / 10
                return ReliabilityBin(lower: lower, upper: lower + 0.1, meanPredicted: b.meanPredicted, observedRate: b.observedRate, count: b.count,
                                      observedInterval: served ? ConfidenceInterval(lower: b.observedLow, upper: b.observedHigh) : nil)
            },
            cumulativeGain: e.gain.map { CurvePoint($0.share, $0.gain) },
            scoreHistogram: histogram,
            metrics: ModelMetrics(rocAUC: m.rocAUC, rocAUCInterval: aucInterval.map { ConfidenceInterval(lower: $0.low, upper: $0.high) }, prAUC: m.prAUC,
                                  brier: m.brier, ece: m.ece, precisionAt10Pct: m.precisionAt10, recallAt10Pct: m.recallAt10))
    }

    /// The clinical section: calibration fits, decision curve, atypicality by third.
    static func clinical(_ r: TrainingResult) -> ClinicalInput {
        clinical(r.clinical, keys: r.evaluations.map(\.key), subgroups: r.subgroups, ablation: r.ablation.map {
            AblationRow(group: $0.group, features: $0.features, rocAUC: $0.rocAUC, brier: $0.brier, aucAdded: $0.aucAdded, brierReduced: $0.brierReduced)
        })
    }

    /// The clinical section of models `keys` (the served one, `risk_model`, with intervals).
    static func clinical(_ c: ClinicalEvaluation, keys: [String], subgroups: [SubgroupEvaluation], ablation: [AblationRow]) -> ClinicalInput {
        func interval(_ i: (low: Double, high: Double)) -> ConfidenceInterval? {
            i.low.isFinite && i.high.isFinite ? ConfidenceInterval(lower: i.low, upper: i.high) : nil
        }
        let rows = keys.compactMap { key -> CalibrationRow? in
            guard let fit = c.calibration[key] else { return nil }
            let served = key == "risk_model"
            return CalibrationRow(modelKey: key, intercept: fit.intercept, interceptInterval: served ? interval(c.interceptInterval) : nil,
                                  slope: fit.slope, slopeInterval: served ? interval(c.slopeInterval) : nil)
        }
        return ClinicalInput(
            calibration: rows, thresholds: c.thresholds, netBenefit: c.netBenefit, treatAll: c.treatAll,
            atTiers: c.atTiers.map { TierNetBenefit(tier: $0.tier, threshold: $0.threshold, model: $0.model, treatAll: $0.treatAll) },
            atypicalityGroups: c.atypicality.groups.map {
                AtypicalityGroupRow(name: $0.name, lowest: $0.lowest, highest: $0.highest, count: $0.count, events: $0.events, observedRate: $0.observedRate,
                                    meanPredicted: $0.meanPredicted, rocAUC: $0.rocAUC, brier: $0.brier, scaledBrier: $0.scaledBrier, calibrationError: $0.calibrationError)
            },
            atypicalityVerdict: c.atypicality.verdict,
            subgroups: subgroups.map { s in
                SubgroupTable(feature: s.name, columnTable: s.isColumn ? (s.table ?? .encounters).rawValue : nil, groups: s.groups.map { g in
                    SubgroupRow(name: g.name, count: g.count, events: g.events, patients: g.patients, observedRate: g.observedRate, observedInterval: interval(g.observedInterval),
                                meanPredicted: g.meanPredicted, rocAUC: g.rocAUC, rocAUCInterval: interval(g.rocAUCInterval),
                                intercept: g.intercept, interceptInterval: interval(g.interceptInterval),
                                atTiers: g.atTiers.map { f in
                                    SubgroupTierRow(tier: f.tier, threshold: f.threshold, flagged: f.flagged, flaggedShare: f.flaggedShare,
                                                    sensitivity: f.sensitivity, sensitivityInterval: interval(f.sensitivityInterval),
                                                    ppv: f.ppv, ppvInterval: interval(f.ppvInterval))
                                })
                })
            },
            interval: c.interval.map { v in
                IntervalInput(coverage: v.coverage,
                              bins: v.bins.map { IntervalInput.RiskBin(count: $0.count, events: $0.events, observedRate: $0.observedRate, meanPredicted: $0.meanPredicted,
                                                                       meanLow: $0.meanLow, meanHigh: $0.meanHigh, coverage: $0.coverage) },
                              widthGroups: v.widthGroups.map { IntervalInput.WidthGroup(name: $0.name, narrowest: $0.narrowest, widest: $0.widest, meanWidth: $0.meanWidth,
                                                                                        count: $0.count, events: $0.events, observedRate: $0.observedRate,
                                                                                        meanPredicted: $0.meanPredicted, calibrationError: $0.calibrationError, brier: $0.brier) },
                              verdict: v.verdict)
            },
            ablation: ablation)
    }

    static func shortName(_ key: String) -> String {
        switch key {
        case "risk_model": return "Risk model (served)"
        case "risk_model_history_unknown": return "Risk model, history unknown"
        case "logistic_regression": return "Logistic regression"
        case "lace": return "LACE-like index"
        case "isolation_forest": return "Isolation Forest"
        case "histogram_detector": return "Histogram detector"
        default: return key
        }
    }
}

extension ReportBuilder {
    /// The report of `readmit evaluate --report`: the model (and a compared one scored on the
    /// same encounters) on a labelled extract, with the sections training's report has on its
    /// test patients, except what needs training (references, ablation, feature distributions).
    static func evaluation(model: ReadmitModel, dataPath: String, dataSHA256: String, testSplit: Bool, cohort: Cohort, encounterCount: Int, patientCount: Int,
                           rows: [Int], x: FeatureMatrix, risk: [Double], labels: [Bool], first: BinaryMetrics, clinical: ClinicalEvaluation,
                           subgroups: [SubgroupEvaluation], comparison: ModelComparison?, replicates: Int) throws -> ReportInput {
        let p = model.parameters, meta = p.metadata
        let patients = rows.map { cohort.patients[$0] }
        let positives = labels.filter { $0 }.count
        let prevalence = Double(positives) / Double(max(labels.count, 1))
        let scope = testSplit ? "evaluated test patients" : "evaluated encounters"
        let aucInterval = BinaryMetrics.bootstrapAUC(scores: risk, labels: labels, patients: patients, replicates: replicates, seed: 42)
        var models = [curves(ModelEvaluation(key: "risk_model", name: "", probabilities: risk, labels: labels, patients: patients), labels: labels,
                             aucInterval: aucInterval, histogram: true, displayName: "--model \(meta.modelID.prefix(8))")]
        var notes = [
            "External validation: model \(meta.modelID) was trained on \(meta.trainingDataFile); these figures are measured on \(URL(fileURLWithPath: dataPath).lastPathComponent), read through the model's own dataset spec (exclusions, label, history), and nothing about the model was chosen on them.",
            "Intervals are 95% patient-bootstrap intervals (\(replicates) replicates; a patient's encounters are drawn together), as in training's report.",
            "Atypicality is measured against the training cohort; the feature distributions by outcome are in training's report.",
        ]
        notes.append("Top risk factors: mean absolute contribution (SHAP, log-odds) over the first \(min(x.rows, 1000)) evaluated encounters.")
        if dataSHA256 == meta.trainingDataSHA256, !testSplit {
            notes.insert("These are the data the model was trained on, and not only its test patients: most of these encounters were fitted, so the figures flatter the model. Evaluate with --test-split.", at: 0)
        }
        if labels.count < 1000 {
            notes.append("Only \(labels.count) encounters (\(positives) readmitted): every figure here is uncertain; read the intervals, not the point estimates.")
        }
        if let c = comparison {
            if c.leftOut == 0 {
                models.append(curves(ModelEvaluation(key: "compare", name: "", probabilities: c.secondRisk, labels: labels), labels: labels,
                                     aucInterval: nil, histogram: false, displayName: "--compare \(c.modelID.prefix(8))"))
            }
            let d = c.difference
            notes.append("Compared with model \(c.modelID) on the \(c.encounters) encounters eligible for both\(c.leftOut > 0 ? " (its curves are not drawn: \(c.leftOut) of these encounters are not in its cohort)" : ""): paired differences (--compare minus --model) ROC AUC \(Format.f(d.rocAUC.value)) (95% CI \(Format.f(d.rocAUC.interval.low)) to \(Format.f(d.rocAUC.interval.high))), Brier \(Format.f(d.brier.value)) (\(Format.f(d.brier.interval.low)) to \(Format.f(d.brier.interval.high))); \(c.verdict).")
        }
        // Missing values per feature of the evaluated encounters (what the model was sent).
        var missing = [Int](repeating: 0, count: x.columns)
        for r in 0..<x.rows { for j in 0..<x.columns where x.values[r * x.columns + j].isNaN { missing[j] += 1 } }
        let missingness = zip(p.schema.features, missing).filter { $0.1 > 0 }.sorted { $0.1 > $1.1 }
            .map { MissingnessRow(feature: $0.0.name, fraction: Double($0.1) / Double(max(x.rows, 1))) }
        // The risk factors of these encounters: mean |SHAP| per feature over the first (up to)
        // 1,000 of them, as training ranks its test patients' (over 4,000 with all its threads;
        // the served booster is single-threaded, about 4 ms a row for 574 trees).
        let sample = min(x.rows, 1000), m = x.columns
        var index = [Int32](repeating: -1, count: sample * m), contribution = [Double](repeating: 0, count: sample * m)
        try x.values.withUnsafeBufferPointer { f in
            try index.withUnsafeMutableBufferPointer { i in
                try contribution.withUnsafeMutableBufferPointer { c in
                    try model.explain(UnsafeBufferPointer(rebasing: f[0..<(sample * m)]), rows: sample, k: m, featureIndex: i, contribution: c)
                }
            }
        }
        var total = [Double](repeating: 0, count: m)
        for (j, c) in zip(index, contribution) where j >= 0 { total[Int(j)] += abs(c) }
        let factors = (0..<m).map { RiskFactor(feature: p.schema.features[$0].name, importance: total[$0] / Double(max(sample, 1))) }
            .sorted { $0.importance > $1.importance }.prefix(15)
        let excluded = cohort.exclusions.map { SummaryRow("Excluded: \($0.reason)", Format.int($0.count)) }
        let summary = [
            SummaryRow("Encounters in file", Format.int(encounterCount)),
            SummaryRow("Patients in file", Format.int(patientCount)),
        ] + excluded + [
            SummaryRow("Evaluated", testSplit ? "the test patients of the spec's split (\(TrainingPipeline.describeSplit(p.dataset.split)))" : "every eligible encounter"),
            SummaryRow("Evaluated encounters / patients", "\(Format.int(labels.count)) / \(Format.int(Set(patients).count))"),
            SummaryRow("Readmitted", "\(Format.int(positives)) (\(Format.pct(prevalence)))"),
            SummaryRow("First encounters only: ROC AUC", "\(Format.f(first.rocAUC)) on \(Format.int(first.count)) encounters"),
        ]
        var info = [
            SummaryRow("Model id", meta.modelID),
            SummaryRow("Created", meta.createdAt),
            SummaryRow("Training data", "\(meta.trainingDataFile) (SHA-256 \(meta.trainingDataSHA256.prefix(16))...)"),
            SummaryRow("Tiers", p.tiers.map { "\($0.name) >= \(Format.f($0.minRisk, 3))" }.joined(separator: ", ")),
        ]
        if let r = p.recalibration {
            info.append(SummaryRow("Recalibrated", "from model \(r.fromModelID) (\(r.method.rawValue)) on \(r.dataFile)"))
        }
        if let c = comparison { info.append(SummaryRow("Compared model", "\(c.modelID) (\(c.path))")) }
        return ReportInput(
            title: "30-day readmission risk: evaluation of model \(meta.modelID)",
            generatedAt: utcTimestamp(),
            datasetDescription: "\(p.dataset.name): \(p.dataset.description) Data evaluated: \(dataPath).",
            cohortSummary: summary,
            prevalence: prevalence,
            missingness: missingness,
            featureDistributions: [],
            models: models,
            topRiskFactors: Array(factors),
            notes: notes,
            modelFileInfo: info,
            clinical: self.clinical(clinical, keys: models.map(\.key), subgroups: subgroups, ablation: []),
            modelCard: p.modelCard?.sections.map { ModelCardSection(title: $0.title, items: $0.items) },
            evaluatedOn: scope)
    }
}
