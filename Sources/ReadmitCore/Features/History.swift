/// The `history` features: what the patient's earlier encounters say, known at discharge.
///
/// "Earlier" is a lower `encounter_id` of the same `patient_nbr` (chronological in this data
/// set). Later encounters are never used: they would leak the outcome.
public enum History {
    /// History feature names, in schema order.
    public static let names = [
        "prior_encounters", "prior_days_in_hospital", "prev_number_inpatient",
        "prev_time_in_hospital", "prev_discharged_home", "prior_readmitted_within_30",
    ]

    /// Computes the history features of every row; `[row][feature]` in ``names`` order.
    /// All are NaN when the table has no `patient_nbr` or `encounter_id`.
    public static func compute(table: EncounterTable) -> [[Double]] {
        let nanRow = [Double](repeating: .nan, count: names.count)
        guard let patients = table.patientNbr, let ids = table.encounterID else {
            return Array(repeating: nanRow, count: table.count)
        }
        let los = table.numeric["time_in_hospital"] ?? []
        let inpatient = table.numeric["number_inpatient"] ?? []
        let disposition = table.categorical["discharge_disposition_id"] ?? .empty
        let labels = table.readmitted

        var byPatient: [Int: [Int]] = [:]
        for r in 0..<table.count { byPatient[patients[r], default: []].append(r) }
        var out = Array(repeating: nanRow, count: table.count)
        for (_, rows) in byPatient {
            let ordered = rows.count == 1 ? rows : rows.sorted { ids[$0] < ids[$1] }
            var days = 0.0
            var readmits: Double = labels == nil ? .nan : 0
            for (i, r) in ordered.enumerated() {
                var h = nanRow
                h[0] = Double(i)
                h[1] = days
                if i > 0 {
                    let p = ordered[i - 1]
                    h[2] = inpatient[p]
                    h[3] = los[p]
                    h[4] = disposition[p] == "1" ? 1 : 0
                }
                h[5] = readmits
                out[r] = h
                days += los[r].isNaN ? 0 : los[r]
                if let labels, labels[r] == .within30 { readmits += 1 }
            }
        }
        return out
    }
}
