import ReadmitSpec

/// The outcome of each encounter row, by the spec's label rule.
public enum Labels {
    /// Per row: true (positive), false (negative), nil (unknown: no label column in a scoring file,
    /// or a bad value in lenient mode).
    ///
    /// A label column's value must be one of the declared positive or negative values (an
    /// error naming file, line and column otherwise). A label from dates is positive when the
    /// patient's next admission starting strictly after this discharge starts within N days;
    /// admissions that start at or before this discharge (overlapping stays, transfers at the same
    /// minute) are not readmissions of this stay.
    public static func compute(tables: DatasetTables, records: EncounterRecords, required: Bool, strict: Bool,
                               errors: inout RowErrors) throws(DataError) -> [Bool?] {
        let table = tables.encounters
        switch tables.spec.label {
        case .column(let name, let positive, let negative):
            guard table.has(name) || required else { return Array(repeating: nil, count: records.count) }
            let column = try table.texts(name, key: "label.column")
            let pos = Set(positive), neg = Set(negative)
            let known: [Bool?] = column.interned.values.map { pos.contains($0) ? true : (neg.contains($0) ? false : nil) }
            var out = [Bool?](repeating: nil, count: records.count)
            for r in 0..<records.count {
                let c = Int(column.interned.codes[r])
                if let v = known[c] { out[r] = v; continue }
                let e = table.error(.badValue, row: r, column: name,
                                    message: "label value '\(column.interned.values[c])' is neither positive (\(positive.joined(separator: ", "))) nor negative (\(negative.joined(separator: ", "))) (spec key label)")
                if strict && required { throw e }
                if required { errors.record(row: r, e) }
            }
            return out
        case .readmissionWithinDays(let days):
            guard !tables.rowsStandAlone, let admitted = records.admitted, let discharged = records.discharged else { return Array(repeating: nil, count: records.count) }
            var byPatient: [Int: [Int]] = [:]
            for r in 0..<records.count where !admitted[r].isNaN { byPatient[records.patientKeys[r], default: []].append(r) }
            var out = [Bool?](repeating: nil, count: records.count)
            let window = Double(days) * 86_400
            for (_, rows) in byPatient {
                let sorted = rows.sorted { admitted[$0] != admitted[$1] ? admitted[$0] < admitted[$1] : $0 < $1 }
                for r in sorted where !discharged[r].isNaN {
                    // The first admission that starts strictly after this discharge: a binary
                    // search of the admissions in order (a scan from the first was O(k^2) for a
                    // patient's k stays).
                    var low = 0, high = sorted.count
                    while low < high {
                        let mid = low + (high - low) / 2
                        if admitted[sorted[mid]] > discharged[r] { high = mid } else { low = mid + 1 }
                    }
                    out[r] = low < sorted.count ? admitted[sorted[low]] - discharged[r] <= window : false
                }
            }
            return out
        }
    }
}
