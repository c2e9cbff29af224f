import Foundation
import ReadmitCore
import ReadmitReport

/// Maps a training result onto the report's input model.
enum ReportBuilder {
    static func input(_ r: TrainingResult) -> ReportInput {
        let c = r.cohort
        let meta = r.parameters.metadata
        let prevalence = Double(c.testPositives) / Double(max(c.testEncounters, 1))
        let models = r.evaluations.map { e -> ModelCurves in
            let m = e.metrics
            let interval = e.key == "risk_model" ? ConfidenceInterval(lower: r.riskModelAUCInterval.low, upper: r.riskModelAUCInterval.high) : nil
            var histogram: ScoreHistogram?
            if e.key == "risk_model" {
                let edges = (0...20).map { Double($0) * 0.025 } + [1.0]
                var pos = [Int](repeating: 0, count: edges.count - 1), neg = pos
                for (i, p) in e.probabilities.enumerated() {
                    let b = min(edges.count - 2, edges.lastIndex(where: { $0 <= p }) ?? 0)
                    if r.testLabels[i] { pos[b] += 1 } else { neg[b] += 1 }
                }
                histogram = ScoreHistogram(binEdges: edges, positiveCounts: pos, negativeCounts: neg)
            }
            return ModelCurves(
                key: e.key, displayName: shortName(e.key),
                roc: e.roc.map { CurvePoint($0.fpr, $0.tpr) },
                precisionRecall: e.precisionRecall.map { CurvePoint($0.recall, $0.precision) },
                reliability: e.calibration.map { b in
                    let lower = (b.meanPredicted * 10).rounded(.down) / 10
                    return ReliabilityBin(lower: lower, upper: lower + 0.1, meanPredicted: b.meanPredicted, observedRate: b.observedRate, count: b.count,
                                          observedInterval: e.key == "risk_model" ? ConfidenceInterval(lower: b.observedLow, upper: b.observedHigh) : nil)
                },
                cumulativeGain: e.gain.map { CurvePoint($0.share, $0.gain) },
                scoreHistogram: histogram,
                metrics: ModelMetrics(rocAUC: m.rocAUC, rocAUCInterval: interval, prAUC: m.prAUC, brier: m.brier, ece: m.ece,
                                      precisionAt10Pct: m.precisionAt10, recallAt10Pct: m.recallAt10))
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

    /// The clinical section: calibration fits, decision curve, atypicality by third.
    static func clinical(_ r: TrainingResult) -> ClinicalInput {
        let c = r.clinical
        func interval(_ i: (low: Double, high: Double)) -> ConfidenceInterval? {
            i.low.isFinite && i.high.isFinite ? ConfidenceInterval(lower: i.low, upper: i.high) : nil
        }
        let rows = r.evaluations.compactMap { e -> CalibrationRow? in
            guard let fit = c.calibration[e.key] else { return nil }
            let served = e.key == "risk_model"
            return CalibrationRow(modelKey: e.key, intercept: fit.intercept, interceptInterval: served ? interval(c.interceptInterval) : nil,
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
            subgroups: r.subgroups.map { s in
                SubgroupTable(feature: s.name, columnTable: s.isColumn ? (s.table ?? .encounters).rawValue : nil, groups: s.groups.map { g in
                    SubgroupRow(name: g.name, count: g.count, events: g.events, patients: g.patients, observedRate: g.observedRate, observedInterval: interval(g.observedInterval),
                                meanPredicted: g.meanPredicted, rocAUC: g.rocAUC, rocAUCInterval: interval(g.rocAUCInterval),
                                intercept: g.intercept, interceptInterval: interval(g.interceptInterval))
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
            ablation: r.ablation.map {
                AblationRow(group: $0.group, features: $0.features, rocAUC: $0.rocAUC, brier: $0.brier, aucAdded: $0.aucAdded, brierReduced: $0.brierReduced)
            })
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
