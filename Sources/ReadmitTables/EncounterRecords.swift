import ReadmitSpec

/// The roles of the encounter table's rows: who the patient is, when the stay was, and the
/// patient-table row it joins to.
public struct EncounterRecords: Sendable {
    /// Number of encounter rows.
    public let count: Int
    /// The encounter id text per row (nil when missing).
    public var encounterIDs: TextColumn {
        switch ids {
        case .read(let column): return column
        case .deferred(let table, let name): return Self.optionalIDs(table, name, count: count)
        }
    }
    /// Raw records read their ids only when asked: scoring never needs them, and interning a
    /// column of 100,000 distinct texts was an eighth of a large RECORDS request's time.
    private let ids: IDs
    private enum IDs: Sendable {
        case read(TextColumn)
        case deferred(SourceTable, String)
    }
    /// A key per patient: the id itself when it is an integer, else the FNV-1a hash of its text.
    public let patientKeys: [Int]
    /// The ordering value per row (data without dates), NaN when missing.
    public let order: [Double]?
    /// Admission and discharge, seconds on the data's clock, NaN when missing.
    public let admitted: [Double]?, discharged: [Double]?
    /// Per row, the joined patient-table row, or -1.
    public let patientRow: [Int]?
    /// Rows whose patient id has no row in the patients table.
    public let unmatchedPatients: Int
    /// Each patient's rows, by admission time or order (then file order). Stand-alone raw
    /// records are each their own patient, built only when asked: scoring never reads them,
    /// and grouping 100,000 rows by a dictionary was 3% of a large RECORDS request.
    public var patientGroups: [[Int]] { groups ?? (0..<count).map { [$0] } }
    private let groups: [[Int]]?

    /// Reads the roles. Strict: the first bad value throws; lenient: recorded in `errors`.
    public init(tables: borrowing DatasetTables, strict: Bool, errors: inout RowErrors) throws(DataError) {
        // The spec read in place (`tables.spec.`), not bound: a copy of it retains and
        // releases each of its strings and arrays, which a one-row request noticed.
        let table = tables.encounters
        count = table.rowCount
        if tables.rowsStandAlone {
            // Raw records: each row stands alone (history is an input), so ids are optional and
            // every row is its own patient.
            ids = .deferred(table, tables.spec.encounters.encounterID)
            patientKeys = Array(0..<count)
        } else if tables.isRecords {
            // Raw records of one patient file (HISTORY): the patient id links the rows; the
            // encounter id is not needed to derive history.
            ids = .deferred(table, tables.spec.encounters.encounterID)
            let patientIDs = try table.texts(tables.spec.encounters.patientID, key: "encounters.patient_id")
            for r in 0..<count where patientIDs.text(r) == nil {
                let e = table.error(.badValue, row: r, column: tables.spec.encounters.patientID, message: "the patient id is missing")
                if strict { throw e }
                errors.record(row: r, e)
            }
            let keyOfText = patientIDs.interned.values.map(Self.patientKey)
            patientKeys = patientIDs.interned.codes.map { keyOfText[Int($0)] }
        } else {
            let encounterIDs = try table.texts(tables.spec.encounters.encounterID, key: "encounters.encounter_id")
            ids = .read(encounterIDs)
            let patientIDs = try table.texts(tables.spec.encounters.patientID, key: "encounters.patient_id")
            for r in 0..<count {
                for (column, name) in [(encounterIDs, tables.spec.encounters.encounterID), (patientIDs, tables.spec.encounters.patientID)] where column.text(r) == nil {
                    let e = table.error(.badValue, row: r, column: name, message: "the id is missing")
                    if strict { throw e }
                    errors.record(row: r, e)
                }
            }
            let keyOfText = patientIDs.interned.values.map(Self.patientKey)
            patientKeys = patientIDs.interned.codes.map { keyOfText[Int($0)] }
        }
        if let o = tables.spec.encounters.order, !tables.rowsStandAlone {
            let order = try table.numbers(o, key: "encounters.order", strict: strict, errors: &errors)
            if tables.linksPatients {
                // A row of a patient file without its place in the patient's sequence would
                // silently count as nobody's earlier or later stay.
                for r in 0..<count where order[r].isNaN {
                    let e = table.error(.badValue, row: r, column: o, message: "the order value is missing")
                    if strict { throw e }
                    errors.record(row: r, e)
                }
            }
            self.order = order
        } else { order = nil }
        if let a = tables.spec.encounters.admitted, let d = tables.spec.encounters.discharged, !tables.isRecords || (table.has(a.column) && table.has(d.column)) {
            let admitted = try Self.timestamps(table, a, key: "encounters.admitted", strict: strict, errors: &errors)
            let discharged = try Self.timestamps(table, d, key: "encounters.discharged", strict: strict, errors: &errors)
            for r in 0..<count where discharged[r] < admitted[r] {
                let e = table.error(.badTimestamp, row: r, column: d.column, message: "discharge is before admission")
                if strict { throw e }
                errors.record(row: r, e)
            }
            self.admitted = admitted
            self.discharged = discharged
        } else {
            admitted = nil
            discharged = nil
        }
        if let p = tables.patients, let source = tables.spec.patients, !tables.isRecords {
            let ids = try p.texts(source.patientID, key: "patients.patient_id")
            var rowOfKey: [Int: Int] = [:]
            for r in 0..<p.rowCount {
                guard let t = ids.text(r) else { continue }
                // Two rows of one patient: which one holds the patient's age and sex would be a
                // guess (the last one was taken, silently).
                if let first = rowOfKey.updateValue(r, forKey: Self.patientKey(t)) {
                    throw p.error(.badValue, row: r, column: source.patientID,
                                  message: "patient id '\(t)' is on more than one row of the patients table (also \(p.place(ofRow: first)))")
                }
            }
            let rows = patientKeys.map { rowOfKey[$0] ?? -1 }
            patientRow = rows
            unmatchedPatients = rows.filter { $0 < 0 }.count
            if !rows.isEmpty && unmatchedPatients == rows.count {
                throw DataError(code: .badValue, file: p.file, column: source.patientID,
                                message: "no patient id of this table matches an encounter's \(tables.spec.encounters.patientID)")
            }
        } else {
            patientRow = nil
            unmatchedPatients = 0
        }
        groups = tables.rowsStandAlone ? nil : Self.groups(patientKeys: patientKeys, admitted: admitted, order: order)
        if strict || !tables.isRecords {
            try Self.refuseRepeatedIDs(encounterIDs, table: table, column: tables.spec.encounters.encounterID, strict: strict, errors: &errors)
        }
    }

    /// An encounter id on two rows of the encounters table: training stops at it; lenient
    /// readers (`check`, `score --data`, `history`) give every row of the id a row error naming
    /// another. Why every row: an events table joins by this id, and which stay its diagnoses
    /// and labs belong to is unknown (they went to the last row, and the other stays were read
    /// as stays without any, silently). Raw records are not checked: each row stands alone.
    static func refuseRepeatedIDs(_ ids: TextColumn, table: SourceTable, column: String, strict: Bool,
                                  errors: inout RowErrors) throws(DataError) {
        // One code per text, in case a column's distinct values are not distinct.
        var codeOfText: [String: Int] = [:]
        for (c, text) in ids.interned.values.enumerated() where codeOfText[text] == nil { codeOfText[text] = c }
        let canonical = ids.interned.values.map { codeOfText[$0] ?? 0 }
        var firstRow = [Int](repeating: -1, count: ids.interned.values.count)
        var repeated: [Int] = []  // codes seen on more than one row
        for (r, code) in ids.interned.codes.enumerated() where !ids.isMissing[Int(code)] {
            let c = canonical[Int(code)]
            if firstRow[c] < 0 { firstRow[c] = r; continue }
            let message = "encounter id '\(ids.interned.values[c])' appears on more than one row (also \(table.place(ofRow: firstRow[c])))"
            if strict { throw table.error(.badValue, row: r, column: column, message: message) }
            errors.record(row: r, table.error(.badValue, row: r, column: column, message: message))
            repeated.append(c)
        }
        guard !repeated.isEmpty else { return }
        // The first row of each repeated id, named by its second.
        var secondRow = [Int](repeating: -1, count: ids.interned.values.count)
        for (r, code) in ids.interned.codes.enumerated() where !ids.isMissing[Int(code)] {
            let c = canonical[Int(code)]
            if firstRow[c] != r && secondRow[c] < 0 { secondRow[c] = r }
        }
        for c in Set(repeated) {
            let r = firstRow[c]
            errors.record(row: r, table.error(.badValue, row: r, column: column,
                                              message: "encounter id '\(ids.interned.values[c])' appears on more than one row (also \(table.place(ofRow: secondRow[c])))"))
        }
    }

    /// The encounter ids of raw records, all missing when the column is absent.
    static func optionalIDs(_ table: SourceTable, _ name: String, count: Int) -> TextColumn {
        guard table.has(name), let ids = try? table.texts(name, key: "encounters.encounter_id") else {
            return TextColumn(InternedColumn(values: [""], codes: [Int32](repeating: 0, count: count)), isMissing: [true])
        }
        return ids
    }

    /// Each patient's rows, sorted by admission time or order, then file order.
    static func groups(patientKeys: [Int], admitted: [Double]?, order: [Double]?) -> [[Int]] {
        var byPatient: [Int: Int] = [:]
        var groups: [[Int]] = []
        for r in patientKeys.indices {
            if let g = byPatient[patientKeys[r]] { groups[g].append(r) } else { byPatient[patientKeys[r]] = groups.count; groups.append([r]) }
        }
        let keys = patientKeys.indices.map { admitted?[$0] ?? order?[$0] ?? Double($0) }
        for g in groups.indices where groups[g].count > 1 {
            sortStays(&groups[g], keys: keys)
        }
        return groups
    }

    /// Sorts one patient's rows by `keys` (admission time or order), then file order; a row
    /// whose key is missing (NaN) goes last. NaN compares neither less nor greater than any
    /// number, so a plain `<` is no ordering: [3, NaN, 1] stayed as it was, and the stay with
    /// order 3 lost its earlier stay 1 (a missing order in a lenient `readmit history`).
    package static func sortStays(_ rows: inout [Int], keys: [Double]) {
        rows.sort { x, y in
            let kx = keys[x], ky = keys[y]
            if kx.isNaN || ky.isNaN { return kx.isNaN == ky.isNaN ? x < y : ky.isNaN }
            return kx != ky ? kx < ky : x < y
        }
    }

    /// Seconds per row of a timestamp column (NaN when missing or, lenient, unparseable).
    package static func timestamps(_ table: SourceTable, _ ts: TimestampColumn, key: String, strict: Bool, errors: inout RowErrors) throws(DataError) -> [Double] {
        try timestamps(table, ts, key: key, strict: strict, missingIsError: true, errors: &errors)
    }

    /// Seconds per row of an events table's time column: NaN when missing (an event without a
    /// time is still an event of its stay); a value that does not match the format throws.
    package static func eventTimes(_ table: SourceTable, _ ts: TimestampColumn, key: String) throws(DataError) -> [Double] {
        var ignored = RowErrors()
        return try timestamps(table, ts, key: key, strict: true, missingIsError: false, errors: &ignored)
    }

    private static func timestamps(_ table: SourceTable, _ ts: TimestampColumn, key: String, strict: Bool, missingIsError: Bool,
                                   errors: inout RowErrors) throws(DataError) -> [Double] {
        let column = try table.texts(ts.column, key: key + ".column")
        var parsed = [Double](repeating: .nan, count: column.interned.values.count)
        var bad = [Bool](repeating: false, count: parsed.count)
        for (c, text) in column.interned.values.enumerated() where !column.isMissing[c] {
            if let s = TimestampFormat.parse(text, format: ts.format) { parsed[c] = Double(s) } else { bad[c] = true }
        }
        var out = [Double](repeating: .nan, count: column.count)
        for r in 0..<column.count {
            let c = Int(column.interned.codes[r])
            if bad[c] {
                let e = table.error(.badTimestamp, row: r, column: ts.column,
                                    message: "'\(column.interned.values[c])' does not match the timestamp format '\(ts.format)' (spec key \(key).format)")
                if strict { throw e }
                errors.report(e, row: r)
            } else if column.isMissing[c] {
                guard missingIsError else { continue }
                let e = table.error(.badTimestamp, row: r, column: ts.column, message: "the timestamp is missing")
                if strict { throw e }
                errors.report(e, row: r)
            } else {
                out[r] = parsed[c]
            }
        }
        return out
    }

    /// The patient key of an id text: the integer itself when the text is one as Swift writes
    /// it (`123`, `-7`), else the 64-bit FNV-1a hash of its UTF-8. `0123` and `+123` are other
    /// ids than `123` (medical record numbers keep their leading zeros): read as the integer,
    /// they were one patient, who shared history and the patients table's row.
    public static func patientKey(_ text: String) -> Int {
        if let v = Int(text), String(v) == text { return v }
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in text.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return Int(bitPattern: UInt(h))
    }

    /// Whether row `a`'s stay ended before row `b`'s began: with dates, `a` was discharged at or
    /// before `b`'s admission; without, `a` has a lower order value.
    @inline(__always)
    package func endedBefore(_ a: Int, _ b: Int) -> Bool {
        if let admitted, let discharged { return discharged[a] <= admitted[b] }
        if let order { return order[a] < order[b] }
        return false
    }

    /// The sort key of a row among its patient's encounters (admission time, or order).
    @inline(__always)
    func sortKey(_ r: Int) -> Double { admitted?[r] ?? order?[r] ?? Double(r) }
}
