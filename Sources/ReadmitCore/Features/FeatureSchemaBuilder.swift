/// Builds the ``FeatureSchema`` from training rows only (category vocabularies never see test patients).
public enum FeatureSchemaBuilder {
    /// Age brackets in order; the level index doubles as an ordinal.
    public static let ageLevels = (0..<10).map { "[\($0 * 10)-\($0 * 10 + 10))" }
    /// How many medical specialties keep their own level; the rest become `Other`.
    public static let topSpecialties = 20

    /// Builds the schema from the training rows `trainingRows` of `table`.
    public static func build(table: EncounterTable, trainingRows: [Int]) -> FeatureSchema {
        var features: [FeatureSpec] = []
        let numericDescriptions = [
            "time_in_hospital": "length of stay in days",
            "num_lab_procedures": "lab tests during the encounter",
            "num_procedures": "procedures other than lab tests",
            "num_medications": "distinct generic medications administered",
            "number_outpatient": "outpatient visits in the year before the encounter",
            "number_emergency": "emergency visits in the year before the encounter",
            "number_inpatient": "inpatient visits in the year before the encounter",
            "number_diagnoses": "diagnoses entered",
        ]
        for name in EncounterTable.numericColumns {
            features.append(FeatureSpec(name: name, kind: .numeric, source: name, transform: .number,
                                        missing: "NaN: median of training rows for the anomaly detectors and the linear model; the booster learns a default branch",
                                        description: numericDescriptions[name] ?? name))
        }
        features.append(FeatureSpec(name: "age", kind: .categorical, levels: ageLevels, source: "age", transform: .level,
                                    missing: "NaN: median bracket of training rows; the level index is used as an ordinal",
                                    description: "age bracket (ordered levels)"))
        let vocabularyColumns = ["race", "gender", "admission_type_id", "discharge_disposition_id", "admission_source_id",
                                 "payer_code", "max_glu_serum", "A1Cresult", "change", "diabetesMed"] + EncounterTable.medicationColumns
        for name in vocabularyColumns {
            let counts = presentCounts(table.categorical[name] ?? .empty, rows: trainingRows)
            features.append(FeatureSpec(name: name, kind: .categorical, levels: sortedLevels(Array(counts.keys)), source: name,
                                        transform: .level, missing: "NaN ('?' or a level unseen in training): no level indicator set",
                                        description: EncounterTable.medicationColumns.contains(name) ? "medication \(name): No / Steady / Up / Down" : name))
        }
        // medical_specialty: the most frequent training specialties, then Other.
        let specialtyCounts = presentCounts(table.categorical["medical_specialty"] ?? .empty, rows: trainingRows)
        let top = specialtyCounts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
            .prefix(topSpecialties).map(\.key)
        features.append(FeatureSpec(name: "medical_specialty", kind: .categorical, levels: top + ["Other"], source: "medical_specialty",
                                    transform: .levelOrOther, missing: "NaN ('?', 49% of rows): no level indicator set",
                                    description: "admitting physician's specialty: the \(topSpecialties) most frequent in training, then Other"))
        for d in ["diag_1", "diag_2", "diag_3"] {
            features.append(FeatureSpec(name: "\(d)_chapter", kind: .categorical, levels: ICD9.chapters, source: d, transform: .icd9Chapter,
                                        missing: "NaN ('?'): no level indicator set",
                                        description: "ICD-9 chapter of \(d) (docs/FEATURES.md)"))
        }
        let historyDescriptions = [
            "number of the patient's earlier encounters",
            "sum of time_in_hospital over earlier encounters",
            "number_inpatient of the previous encounter",
            "time_in_hospital of the previous encounter",
            "1 if the previous encounter was discharged home",
            "earlier encounters followed by a readmission within 30 days",
        ]
        for (i, name) in History.names.enumerated() {
            features.append(FeatureSpec(name: name, kind: .numeric, source: name, transform: .history,
                                        missing: "NaN when unknown (no previous encounter, or no patient_nbr): median for the anomaly detectors, default branch in the booster",
                                        description: historyDescriptions[i]))
        }
        return FeatureSchema(features: features)
    }

    /// How many of `rows` hold each present (not `?`, not empty) text of `column`.
    static func presentCounts(_ column: InternedColumn, rows: [Int]) -> [String: Int] {
        var byCode = [Int](repeating: 0, count: column.values.count)
        for r in rows { byCode[Int(column.codes[r])] += 1 }
        var counts: [String: Int] = [:]
        for (code, text) in column.values.enumerated() where byCode[code] > 0 && isPresent(text) { counts[text, default: 0] += byCode[code] }
        return counts
    }

    static func isPresent(_ text: String) -> Bool { !text.isEmpty && text != "?" }

    /// Integer codes in numeric order, other text in lexicographic order: deterministic and readable.
    static func sortedLevels(_ levels: [String]) -> [String] {
        levels.sorted { a, b in
            if let x = Int(a), let y = Int(b) { return x < y }
            return a < b
        }
    }
}
