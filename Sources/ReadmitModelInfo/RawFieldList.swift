import ReadmitCore

/// INFO's `raw_fields`: the fields of one encounter in a `RECORDS` request, from the model's
/// spec (``RecordFields``, the one place that says what a client sends).
enum RawFieldList {
    static func fields(dataset spec: DatasetSpec, schema: FeatureSchema) -> [[String: Any]] {
        RecordFields.fields(spec: spec, schema: schema).map { f in
            var d: [String: Any] = ["name": f.name, "type": f.type.rawValue, "required": f.required, "history": f.history, "table": f.table]
            if let feature = f.feature { d["feature"] = feature }
            if let levels = f.levels { d["levels"] = levels }
            if let format = f.format { d["format"] = format }
            if let system = f.system { d["system"] = system }
            return d
        }
    }

    /// INFO's `history_inputs`: what a `HISTORY` request needs besides the raw fields it reads
    /// (`required`: the patient id, the order or date columns, the fields history features
    /// read; `label`: the label column, when a `count_positive` feature reads it).
    static func historyInputs(dataset spec: DatasetSpec, schema: FeatureSchema) -> [String: Any] {
        let inputs = RecordBatch.historyInputs(spec: spec, schema: schema)
        var d: [String: Any] = ["required": inputs.required]
        if let label = inputs.label { d["label"] = label }
        return d
    }
}
