import Foundation
import ReadmitCore

/// Writes `metrics.json`: each model under its own key (`risk_model` is the served one) with
/// `roc_auc`, `pr_auc`, `brier`, `ece`, `precision_at_10pct`, `recall_at_10pct`, plus the cohort,
/// the hyperparameter search and stage times.
enum MetricsJSON {
    static func metrics(_ m: BinaryMetrics) -> [String: Any] {
        var d: [String: Any] = ["roc_auc": m.rocAUC, "pr_auc": m.prAUC, "precision_at_10pct": m.precisionAt10,
                                "recall_at_10pct": m.recallAt10, "n": m.count, "positives": m.positives]
        d["brier"] = m.brier ?? NSNull()
        d["ece"] = m.ece ?? NSNull()
        return d
    }

    static func object(_ r: TrainingResult, stages: [(String, Double)]) -> [String: Any] {
        var root: [String: Any] = [:]
        for e in r.evaluations {
            var m = metrics(e.metrics)
            m["name"] = e.name
            if e.key == "risk_model" { m["roc_auc_ci95"] = [r.riskModelAUCInterval.low, r.riskModelAUCInterval.high] }
            if let fit = r.clinical.calibration[e.key] {
                m["calibration_intercept"] = fit.intercept
                m["calibration_slope"] = fit.slope
            }
            if e.key == "risk_model" {
                m["calibration_intercept_ci95"] = [r.clinical.interceptInterval.low, r.clinical.interceptInterval.high]
                m["calibration_slope_ci95"] = [r.clinical.slopeInterval.low, r.clinical.slopeInterval.high]
                m["reliability"] = e.calibration.map { b in
                    ["mean_predicted": b.meanPredicted, "observed": b.observedRate, "n": b.count,
                     "observed_ci95": [b.observedLow, b.observedHigh]] as [String: Any]
                }
            }
            root[e.key] = m
        }
        root["decision_curve"] = decisionCurve(r.clinical)
        root["atypicality_validation"] = atypicality(r.clinical)
        if let v = intervalValidation(r.clinical) { root["interval_validation"] = v }
        root["subgroups"] = subgroups(r.subgroups)
        if !r.ablation.isEmpty {
            root["ablation"] = [
                "description": "the booster retrained without each group (its columns missing in every row; hyperparameters, rounds and seed fixed), Platt-calibrated on the calibration patients, on the test split",
                "groups": r.ablation.map {
                    ["group": $0.group, "features": $0.features, "roc_auc": $0.rocAUC, "brier": $0.brier,
                     "roc_auc_added": $0.aucAdded, "brier_reduced": $0.brierReduced] as [String: Any]
                },
            ] as [String: Any]
        }
        let c = r.cohort
        root["first_encounter"] = ["risk_model": metrics(r.firstEncounterMetrics), "description": "test patients' first encounter only"]
        root["cohort"] = [
            "dataset": c.dataset, "split": c.splitDescription,
            "rows": c.rows, "patients": c.patients, "excluded": c.excluded,
            "exclusions": c.exclusions.map { ["reason": $0.reason, "count": $0.count] as [String: Any] },
            "not_first_encounter": c.notFirstEncounter, "left_out_by_split": c.leftOutBySplit, "patients_on_both_sides": c.patientsOnBothSides,
            "train_encounters": c.trainEncounters, "test_encounters": c.testEncounters,
            "train_patients": c.trainPatients, "test_patients": c.testPatients,
            "train_positives": c.trainPositives, "test_positives": c.testPositives,
            "test_prevalence": Double(c.testPositives) / Double(max(c.testEncounters, 1)),
            "test_first_encounters": c.testFirstEncounters,
            "fit_rows": c.fitRows, "validation_rows": c.validationRows, "calibration_rows": c.calibrationRows,
        ] as [String: Any]
        root["hyperparameter_search"] = r.trials.map {
            ["parameters": $0.description, "validation_logloss": $0.validationLogLoss, "validation_roc_auc": $0.validationAUC, "rounds": $0.rounds] as [String: Any]
        }
        root["model"] = ["model_id": r.parameters.metadata.modelID, "created_at": r.parameters.metadata.createdAt,
                         "training_data_sha256": r.parameters.metadata.trainingDataSHA256,
                         "tiers": r.parameters.tiers.map { ["name": $0.name, "min_risk": $0.minRisk] as [String: Any] },
                         "training_summary": r.parameters.trainingSummary] as [String: Any]
        root["top_risk_factors"] = r.importance.prefix(15).map { ["feature": $0.feature, "mean_abs_contribution": $0.meanAbsContribution] as [String: Any] }
        root["stage_seconds"] = Dictionary(stages.map { ($0.0, $0.1) }, uniquingKeysWith: { a, _ in a })
        return root
    }

    /// Net benefit per threshold of each model, treat-all and treat-none, and at the tier thresholds.
    /// The served model's calibration intercept and slope with their patient-bootstrap
    /// intervals, as `evaluate` and `recalibrate` write them beside ``metrics(_:)``'s keys.
    static func calibration(_ c: ClinicalEvaluation) -> [String: Any] {
        guard let fit = c.calibration["risk_model"] else { return [:] }
        return ["calibration_intercept": fit.intercept, "calibration_slope": fit.slope,
                "calibration_intercept_ci95": [c.interceptInterval.low, c.interceptInterval.high],
                "calibration_slope_ci95": [c.slopeInterval.low, c.slopeInterval.high]]
    }

    static func decisionCurve(_ c: ClinicalEvaluation) -> [String: Any] {
        [
            "description": "net benefit (true positives per patient, a false positive weighing t/(1-t)) of treating the evaluated patients (training: the test patients) with risk >= t",
            "thresholds": c.thresholds, "treat_all": c.treatAll, "treat_none": c.thresholds.map { _ in 0.0 },
            "models": c.netBenefit,
            "at_tiers": c.atTiers.map { ["tier": $0.tier, "threshold": $0.threshold, "risk_model": $0.model, "treat_all": $0.treatAll,
                                         "treat_none": 0.0] as [String: Any] },
        ]
    }

    /// Performance by atypicality third and the verdict.
    static func atypicality(_ c: ClinicalEvaluation) -> [String: Any] {
        let a = c.atypicality
        return [
            "groups": a.groups.map { g in
                ["name": g.name, "atypicality_range": [g.lowest, g.highest], "n": g.count, "events": g.events,
                 "observed": g.observedRate, "mean_predicted": g.meanPredicted, "roc_auc": g.rocAUC, "brier": g.brier, "scaled_brier": g.scaledBrier,
                 "calibration_error": g.calibrationError] as [String: Any]
            },
            "scaled_brier_difference_highest_minus_lowest": a.scaledBrierDifference,
            "scaled_brier_difference_ci95": [a.scaledBrierDifferenceInterval.low, a.scaledBrierDifferenceInterval.high],
            "roc_auc_difference_highest_minus_lowest": a.aucDifference,
            "roc_auc_difference_ci95": [a.aucDifferenceInterval.low, a.aucDifferenceInterval.high],
            "larger_error_with_higher_atypicality": a.largerErrorWithHigherAtypicality,
            "verdict": a.verdict, "bootstrap_replicates": c.replicates,
        ]
    }

    /// Performance and calibration per subgroup the spec declares.
    static func subgroups(_ all: [SubgroupEvaluation]) -> [[String: Any]] {
        all.map { s in
            [s.isColumn ? "column" : "feature": s.name, "groups": s.groups.map { g in
                ["name": g.name, "n": g.count, "patients": g.patients, "events": g.events, "observed": g.observedRate, "observed_ci95": [g.observedInterval.low, g.observedInterval.high],
                 "mean_predicted": g.meanPredicted, "roc_auc": g.rocAUC, "roc_auc_ci95": [g.rocAUCInterval.low, g.rocAUCInterval.high],
                 "calibration_intercept": g.intercept, "calibration_intercept_ci95": [g.interceptInterval.low, g.interceptInterval.high],
                 "at_tiers": g.atTiers.map { f in
                     ["tier": f.tier, "threshold": f.threshold, "flagged": f.flagged, "flagged_share": f.flaggedShare,
                      "sensitivity": f.sensitivity, "sensitivity_ci95": [f.sensitivityInterval.low, f.sensitivityInterval.high],
                      "ppv": f.ppv, "ppv_ci95": [f.ppvInterval.low, f.ppvInterval.high]] as [String: Any]
                 }] as [String: Any]
            }].merging(s.isColumn ? ["table": (s.table ?? .encounters).rawValue] : [:]) { a, _ in a }
        }
    }

    /// Coverage and width against error of the risk intervals (nil: the model has none).
    static func intervalValidation(_ c: ClinicalEvaluation) -> [String: Any]? {
        guard let v = c.interval else { return nil }
        return [
            "method": "venn_abers",
            "coverage": v.coverage, "risk_tenths_inside_mean_interval": v.binsInside, "median_width": v.medianWidth, "tenth_observed_rate_sampling_error": v.sampling, "risk_inside_interval": v.riskInside,
            "risk_tenths": v.bins.map { b in
                ["n": b.count, "events": b.events, "observed": b.observedRate, "mean_predicted": b.meanPredicted,
                 "mean_low": b.meanLow, "mean_high": b.meanHigh, "coverage": b.coverage] as [String: Any]
            },
            "width_thirds": v.widthGroups.map { g in
                ["name": g.name, "width_range": [g.narrowest, g.widest], "mean_width": g.meanWidth, "n": g.count, "events": g.events,
                 "observed": g.observedRate, "mean_predicted": g.meanPredicted, "calibration_error": g.calibrationError, "brier": g.brier] as [String: Any]
            },
            "verdict": v.verdict,
        ]
    }

    /// JSON has no NaN or infinity: such values become null.
    static func sanitized(_ value: Any) -> Any {
        switch value {
        case let d as Double: return d.isFinite ? d : NSNull()
        case let a as [Any]: return a.map(sanitized)
        case let o as [String: Any]: return o.mapValues(sanitized)
        default: return value
        }
    }

    static func write(_ r: TrainingResult, stages: [(String, Double)], to url: URL) throws {
        let data = try JSONSerialization.data(withJSONObject: sanitized(object(r, stages: stages)), options: [.prettyPrinted, .sortedKeys])
        try OutputFile.write(bytes: Array(data), to: url.path)
    }
}
