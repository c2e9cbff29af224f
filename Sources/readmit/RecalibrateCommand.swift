import ArgumentParser
import Foundation
import ReadmitCore

extension Recalibration.Method: ExpressibleByArgument {}
extension Recalibration.Tiers: ExpressibleByArgument {}
extension RecalibrationError: DataErrorDescribing { var cliDescription: String { description } }

/// `readmit recalibrate`: a saved model's calibration refitted on another hospital's outcomes.
struct RecalibrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recalibrate",
        abstract: "Refit a saved model's calibration on another hospital's labelled tables, and write it as a new model file.",
        discussion: """
            A model moved to another hospital usually ranks its patients as well as it did, but its \
            risks are too high or too low there. The tables are read through the model's own dataset \
            spec (exclusions, label, history) and split as the spec splits patients: the calibrator, \
            the risk intervals and (with --tiers local) the tier thresholds are refitted on the training \
            side, and the original and recalibrated models are compared on the test side. The trees, \
            the isolation forest and the atypicality reference are kept. The new file records what was \
            done (its model card and INFO say so); readmitd serves it like any other (RELOAD). \
            README.md, "Recalibrating for another hospital".
            """
    )

    @Option(name: .long, help: "Model file written by `readmit train` (or an earlier recalibration).")
    var model: String

    @Option(name: .long, help: "Labelled encounters table of the hospital (CSV or CSV.gz).")
    var data: String

    @Option(name: .customLong("data-dir"), help: "Folder of the spec's other tables (default: the folder of --data).")
    var dataDirectory: String?

    @Option(name: .long, help: "intercept: refit the calibration intercept only (the risks' spread kept; fewer events needed); logistic: refit slope and intercept, as training does.")
    var method: Recalibration.Method = .logistic

    @Option(name: .long, help: "local: recompute the tier thresholds by the model's rule (70th and 90th risk percentiles) on this hospital's patients; kept: keep the model's thresholds.")
    var tiers: Recalibration.Tiers = .local

    @Option(name: .long, help: "Patient-bootstrap replicates behind the check figures' intervals.")
    var replicates = 1000

    @Option(name: .long, help: "The recalibrated model file to write (only a regular file is ever replaced).")
    var out: String

    @Option(name: .long, help: "Also write the before and after figures as JSON to this file.")
    var json: String?

    @OptionGroup var global: GlobalOptions

    func validate() throws {
        guard (1...100_000).contains(replicates) else {
            throw ValidationError("--replicates must be between 1 and 100000, not \(replicates)")
        }
        guard out != "-" else { throw ValidationError("--out must name a file: a model file is not written to standard output") }
        try OutputFile.refuseInputs(("--out", out), [("--model", model), ("--data", data)])
        if let json {
            try OutputFile.refuseInputs(("--json", json), [("--model", model), ("--data", data), ("--out", out)])
            if json == out { throw ValidationError("--json and --out name the same file \(out)") }
        }
    }

    func run() throws {
        try runReportingErrors {
            let loaded = try ReadmitModel.load(path: model)
            let folder = dataDirectory ?? URL(fileURLWithPath: data).deletingLastPathComponent().path
            let tables = try DatasetTables(spec: loaded.parameters.dataset, folders: [folder], encountersFile: data)
            let result = try LocalRecalibration(model: loaded, tables: tables, method: method, tiers: tiers, replicates: replicates)
            try ModelFile.write(result.encoded, to: out)
            let r = result.record
            let newID = result.encoded.parameters.metadata.modelID
            print("Model \(loaded.modelID) recalibrated (\(method.rawValue)) on \(data): update \(Format.int(r.update.encounters)) encounters, "
                  + "\(Format.int(r.update.patients)) patients, \(Format.int(r.update.events)) readmitted; "
                  + "check \(Format.int(r.check.encounters)) encounters, \(Format.int(r.check.patients)) patients, \(Format.int(r.check.events)) readmitted")
            func row(_ name: String, _ f: LocalRecalibration.Figures) -> [String] {
                let fit = f.clinical.calibration["risk_model"]
                let (i, s) = (f.clinical.interceptInterval, f.clinical.slopeInterval)
                return [name, Format.f(f.meanRisk, 3), Format.f(fit?.intercept ?? .nan) + " (\(Format.f(i.low)) to \(Format.f(i.high)))",
                        Format.f(fit?.slope ?? .nan) + " (\(Format.f(s.low)) to \(Format.f(s.high)))",
                        Format.f(f.metrics.brier ?? .nan), Format.f(f.metrics.ece ?? .nan), Format.f(f.metrics.rocAUC)]
            }
            print("On the check patients (readmitted \(Format.f(Double(r.check.events) / Double(max(r.check.encounters, 1)), 3))):")
            print(TextTable.render(header: ["model", "mean risk", "intercept (95% CI; ideal 0)", "slope (95% CI; ideal 1)", "Brier", "ECE", "ROC AUC"],
                                   rows: [row("before", result.before), row("after", result.after)]))
            let tiers = result.encoded.parameters.tiers
            print("tiers (\(r.tiers.rawValue)): " + zip(r.previousTiers, tiers).dropFirst().map { old, new in
                "\(new.name) from \(Format.f(old.minRisk, 4)) -> \(Format.f(new.minRisk, 4))"
            }.joined(separator: ", "))
            for t in result.after.clinical.atTiers {
                print("net benefit acting on \(t.tier) and above (risk >= \(Format.f(t.threshold, 3))): \(Format.f(t.model, 4)); treat all \(Format.f(t.treatAll, 4))")
            }
            for note in result.notes { print("note: \(note)") }
            print("wrote \(out): model \(newID), recalibrated from \(loaded.modelID)")
            if let json {
                func figures(_ f: LocalRecalibration.Figures) -> [String: Any] {
                    var m = MetricsJSON.metrics(f.metrics).merging(MetricsJSON.calibration(f.clinical)) { a, _ in a }
                    m["mean_risk"] = f.meanRisk
                    m["decision_curve"] = MetricsJSON.decisionCurve(f.clinical)
                    return m
                }
                func counts(_ c: Recalibration.Counts) -> [String: Any] { ["encounters": c.encounters, "patients": c.patients, "events": c.events] }
                let object: [String: Any] = [
                    "model_id": newID, "from_model_id": loaded.modelID, "data": data, "method": method.rawValue, "tiers": r.tiers.rawValue,
                    "update": counts(r.update), "check": counts(r.check),
                    "before": figures(result.before), "after": figures(result.after),
                    "calibrator": ["a": result.encoded.parameters.calibrator.a, "b": result.encoded.parameters.calibrator.b],
                    "previous_calibrator": ["a": r.previousCalibrator.a, "b": r.previousCalibrator.b],
                    "tier_thresholds": tiers.map { ["name": $0.name, "min_risk": $0.minRisk] as [String: Any] },
                    "previous_tier_thresholds": r.previousTiers.map { ["name": $0.name, "min_risk": $0.minRisk] as [String: Any] },
                    "notes": result.notes,
                ]
                let bytes = try JSONSerialization.data(withJSONObject: MetricsJSON.sanitized(object), options: [.prettyPrinted, .sortedKeys])
                try OutputFile.write(bytes: Array(bytes), to: json)
            }
        }
    }
}
