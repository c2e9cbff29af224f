import Foundation
import ReadmitCore
import ReadmitSpec
import ReadmitWire

/// The `INFO` reply: rendered here from the model's plain parameters (the core knows nothing of
/// the wire protocol), for the daemon's `INFO` and for `readmit inspect`, so both say the same.
extension ReadmitModel {
    /// The `INFO` JSON of `docs/PROTOCOL.md`: metadata, the feature schema, the raw fields the
    /// model's dataset spec reads, and the model card.
    public func infoJSON() -> String {
        let meta = parameters.metadata
        var features: [[String: Any]] = []
        for (i, f) in schema.features.enumerated() {
            var d: [String: Any] = ["index": i, "name": f.name, "kind": f.kind.rawValue, "source": f.source,
                                    "transform": f.transform.rawValue, "missing": f.missing, "description": f.description]
            if f.kind == .categorical { d["levels"] = f.levels; d["ordinal"] = f.ordinal }
            // A feature derived from several raw fields names them (and what it counts).
            if let definition = parameters.dataset.feature(named: f.name), let derive = definition.derive, let columns = definition.columns {
                d["derive"] = derive.rawValue
                d["columns"] = columns
                if let values = definition.values { d["values"] = values }
            }
            features.append(d)
        }
        let dataset = parameters.dataset
        var info: [String: Any] = [
            "protocol_version": Int(WireFormat.version),
            "model_id": meta.modelID,
            "model_version": meta.modelID,
            "format_version": ModelFile.formatVersion,
            "created_at": meta.createdAt,
            "training_data_sha256": meta.trainingDataSHA256,
            "training_data_file": meta.trainingDataFile,
            "readmit_version": meta.readmitVersion,
            "seed": meta.seed,
            "tiers": parameters.tiers.map { ["name": $0.name, "min_risk": $0.minRisk] as [String: Any] },
            "atypicality": "isolation-forest score as a percentile of the training cohort (0..1, higher is more unusual)",
            "n_features": schema.count,
            "features": features,
            "dataset": ["name": dataset.name, "description": dataset.description,
                        // Raw records holding one of these values are not scored (`excluded`).
                        "exclusions": dataset.exclusions.map { ["reason": $0.reason, "column": $0.column, "values": $0.values] as [String: Any] }] as [String: Any],
            "raw_fields": RawFieldList.fields(dataset: dataset, schema: schema),
            "history_inputs": RawFieldList.historyInputs(dataset: dataset, schema: schema),
        ]
        // A recalibrated model (`readmit recalibrate`) says from which model, how and on what.
        info["recalibration"] = parameters.recalibration.map { r -> [String: Any] in
            func counts(_ c: Recalibration.Counts) -> [String: Any] { ["encounters": c.encounters, "patients": c.patients, "events": c.events] }
            return ["from_model_id": r.fromModelID, "method": r.method.rawValue, "tiers": r.tiers.rawValue, "data_file": r.dataFile,
                    "data_sha256": r.dataSHA256, "update": counts(r.update), "check": counts(r.check)]
        } ?? NSNull()
        // The intervals come from the calibration patients, or a recalibration's update patients.
        let calibrationEncounters = parameters.recalibration?.update.encounters ?? Int(parameters.trainingSummary["calibration_rows"] ?? "") ?? 0
        info["interval"] = parameters.vennAbers.map { va -> [String: Any] in
            ["method": "venn_abers", "calibration_encounters": calibrationEncounters,
             "calibration_margins": va.margins.count,
             "description": "inductive Venn-Abers interval of the probability of the outcome, from the calibration patients (SCORE flag bit 1, RECORDS option bit 2; docs/PROTOCOL.md)"]
        } ?? NSNull()
        // How this process walks the trees (every walk gives the same bits; READMIT_TREE_WALK).
        info["tree_walk"] = TreeWalk.selected.rawValue
        // The card as Markdown text (null for a model file written before model cards existed).
        info["model_card"] = parameters.modelCard.map { $0.markdown(title: "Model card: \(dataset.name) model \(meta.modelID)") } ?? NSNull()
        guard let data = try? JSONSerialization.data(withJSONObject: info, options: [.sortedKeys]) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}
