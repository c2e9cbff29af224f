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
}
