import ReadmitCore
import ReadmitSpec

/// The raw fields a client may send for one encounter, as the model's spec reads them: the
/// `raw_fields` member of INFO (`docs/PROTOCOL.md`).
enum RawFieldList {
    static func fields(dataset spec: DatasetSpec, schema: FeatureSchema) -> [[String: Any]] {
        var out: [[String: Any]] = []
        var seen = Set<String>()
        func add(_ name: String, _ type: String, table: String, _ extra: [String: Any] = [:]) {
            guard seen.insert("\(table).\(name)").inserted else { return }
            var d: [String: Any] = ["name": name, "type": type, "table": table, "history": false]
            for (k, v) in extra { d[k] = v }
            out.append(d)
        }
        add(spec.encounters.encounterID, "text", table: "encounters", ["role": "encounter_id"])
        add(spec.encounters.patientID, "text", table: "encounters", ["role": "patient_id"])
        if let a = spec.encounters.admitted { add(a.column, "timestamp", table: "encounters", ["role": "admitted", "format": a.format]) }
        if let d = spec.encounters.discharged { add(d.column, "timestamp", table: "encounters", ["role": "discharged", "format": d.format]) }
        if let o = spec.encounters.order { add(o, "number", table: "encounters", ["role": "order"]) }
        for (j, f) in spec.features.enumerated() {
            let table = f.table.rawValue
            switch f.kind {
            case .numeric: add(f.column ?? f.name, "number", table: table, ["feature": f.name])
            case .categorical, .ordinal:
                add(f.column ?? f.name, "text", table: table, ["feature": f.name, "levels": j < schema.count ? schema.features[j].levels : []])
            case .diagnosis:
                if let events = f.events { add(events, "events", table: events, ["feature": f.name]) } else {
                    add(f.column ?? f.name, "diagnosis_code", table: table, ["feature": f.name, "system": f.system?.rawValue ?? ""])
                }
            case .derived:
                if f.derive == .ageAtAdmission {
                    add(f.ageColumn ?? "", "number", table: "patients", ["feature": f.name])
                    add(f.yearColumn ?? "", "number", table: "patients", ["feature": f.name])
                }
            case .event: add(f.events ?? "", "events", table: f.events ?? "", ["feature": f.name])
            case .history: add(f.name, "number", table: "history", ["feature": f.name, "history": true])
            }
        }
        return out
    }
}
