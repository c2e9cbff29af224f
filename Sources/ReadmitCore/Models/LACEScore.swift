/// A LACE-like readmission index from the fields this data set has (van Walraven et al. 2010).
///
/// L: length of stay points (0 for under a day ... 7 for 14+ days); A: 3 points for an emergency
/// admission (`admission_type_id` 1); C: the Charlson index is not available, so 1 point per
/// comorbidity-bearing diagnosis chapter among diag_1..3 (circulatory, respiratory, neoplasms,
/// diabetes, genitourinary), at most 5; E: emergency visits in the previous year, at most 4.
/// A simple clinical reference, not a validated LACE.
public enum LACEScore {
    /// The score of one schema row (NaN fields count 0 points).
    public static func score(_ row: UnsafePointer<Double>, schema: FeatureSchema) -> Double {
        func value(_ name: String) -> Double {
            guard let j = schema.index(of: name) else { return .nan }
            return row[j]
        }
        let los = value("time_in_hospital")
        var l = 0.0
        if !los.isNaN {
            switch los {
            case ..<1: l = 0
            case ..<2: l = 1
            case ..<3: l = 2
            case ..<4: l = 3
            case ..<7: l = 4
            case ..<14: l = 5
            default: l = 7
            }
        }
        var a = 0.0
        if let j = schema.index(of: "admission_type_id"), !row[j].isNaN, schema.features[j].levels[Int(row[j])] == "1" { a = 3 }
        var c = 0.0
        let comorbid: Set<String> = ["circulatory", "respiratory", "neoplasms", "diabetes", "genitourinary"]
        for d in ["diag_1_chapter", "diag_2_chapter", "diag_3_chapter"] {
            if let j = schema.index(of: d), !row[j].isNaN, comorbid.contains(schema.features[j].levels[Int(row[j])]) { c += 1 }
        }
        let ed = value("number_emergency")
        let e = ed.isNaN ? 0 : min(ed, 4)
        return l + a + min(c, 5) + e
    }
}
