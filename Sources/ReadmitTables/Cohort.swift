import ReadmitSpec

/// The study cohort: which encounters are eligible, their label, and the patient-level split,
/// all as the dataset spec declares.
public struct Cohort: Sendable {
    /// Whether the patient with key `patientKey` belongs to the test split of the default
    /// `patient_hash` rule (`splitmix64(key) % 5 == 0`).
    @inline(__always)
    public static func isTestPatient(_ patientKey: Int) -> Bool {
        SplitMix64.mix(UInt64(bitPattern: Int64(patientKey))) % 5 == 0
    }

    /// Encounter-table row indices of eligible encounters (in file order).
    public let rows: [Int]
    /// Label per eligible encounter (parallel to ``rows``).
    public let labels: [Bool]
    /// Whether each eligible encounter is in the test split (parallel to ``rows``).
    public let isTest: [Bool]
    /// Whether each eligible encounter is its patient's first eligible one.
    public let isFirstEncounter: [Bool]
    /// Patient key per eligible encounter (parallel to ``rows``).
    public let patients: [Int]
    /// Rows excluded, per reason, in spec order (a row counts under its first matching reason).
    public let exclusions: [(reason: String, count: Int)]
    /// Eligible rows left out by the cohort filter (first encounter only).
    public let notFirstEncounter: Int
    /// Rows left out by a date split (the stay straddles the date), or by a split column value
    /// that is neither train nor test.
    public let leftOutBySplit: Int
    /// Patients with encounters on both sides of a declared (column or date) split.
    public let patientsOnBothSides: Int

    /// Rows excluded in all.
    public var excludedCount: Int { exclusions.reduce(0) { $0 + $1.count } }

    /// Builds the cohort. `labels` comes from ``Labels/compute``; a row without a label is not eligible.
    public init(tables: DatasetTables, records: EncounterRecords, labels rowLabels: [Bool?]) throws(DataError) {
        let spec = tables.spec
        let n = records.count
        var excludedReason = try Self.exclusions(tables: tables, patientRow: records.patientRow, rows: n, requireColumns: true)
        // Stays whose label window runs past the end of the extract's follow-up: a readmission
        // there is not in the extract, so their "not readmitted" would be a guess (and keeping
        // only those readmitted early would bias the other way). Counted as the last reason.
        let followUp = Self.followUpEnd(spec, records)
        if let followUp {
            for r in 0..<n where excludedReason[r] < 0 && rowLabels[r] != nil && !(followUp.discharged[r] + followUp.window <= followUp.end) {
                excludedReason[r] = spec.exclusions.count
            }
        }
        var counts = [Int](repeating: 0, count: spec.exclusions.count + 1)
        for k in excludedReason where k >= 0 { counts[k] += 1 }
        var eligible: [Int] = []
        eligible.reserveCapacity(n)
        for r in 0..<n where excludedReason[r] < 0 && rowLabels[r] != nil { eligible.append(r) }
        // Each patient's first eligible encounter (lowest admission time or order, then file order).
        var firstByPatient: [Int: Int] = [:]
        for r in eligible {
            let p = records.patientKeys[r]
            if let f = firstByPatient[p], (records.sortKey(f), f) <= (records.sortKey(r), r) { continue }
            firstByPatient[p] = r
        }
        var rows = eligible
        var notFirst = 0
        if spec.firstEncounterOnly {
            rows = eligible.filter { firstByPatient[records.patientKeys[$0]] == $0 }
            notFirst = eligible.count - rows.count
        }
        // The split.
        var side: [Bool?] = rows.map { _ in nil }
        switch spec.split {
        case .patientHash:
            for (i, r) in rows.enumerated() { side[i] = Self.isTestPatient(records.patientKeys[r]) }
        case .column(let name, let test, let train):
            let column = try tables.encounters.texts(name, key: "split.column")
            let t = Set(test), f = Set(train)
            for (i, r) in rows.enumerated() {
                guard let text = column.text(r) else { continue }
                if t.contains(text) { side[i] = true } else if f.isEmpty || f.contains(text) { side[i] = false }
            }
        case .date(let text):
            let cut = Double(TimestampFormat.parse(text, format: "%Y-%m-%d") ?? 0)
            if let a = records.admitted, let d = records.discharged {
                for (i, r) in rows.enumerated() {
                    if d[r] < cut { side[i] = false } else if a[r] >= cut { side[i] = true }
                }
            }
        }
        var kept: [Int] = [], isTest: [Bool] = []
        for (i, r) in rows.enumerated() { if let s = side[i] { kept.append(r); isTest.append(s) } }
        leftOutBySplit = rows.count - kept.count
        var sides: [Int: UInt8] = [:]
        for (i, r) in kept.enumerated() { sides[records.patientKeys[r], default: 0] |= isTest[i] ? 2 : 1 }
        patientsOnBothSides = sides.values.filter { $0 == 3 }.count
        self.rows = kept
        self.isTest = isTest
        labels = kept.map { rowLabels[$0] ?? false }
        isFirstEncounter = kept.map { firstByPatient[records.patientKeys[$0]] == $0 }
        patients = kept.map { records.patientKeys[$0] }
        // One count per reason (a spec may list several rules under one reason).
        var byReason: [(reason: String, count: Int)] = []
        for (k, x) in spec.exclusions.enumerated() {
            if let i = byReason.firstIndex(where: { $0.reason == x.reason }) { byReason[i].count += counts[k] } else { byReason.append((x.reason, counts[k])) }
        }
        if let followUp { byReason.append((followUp.reason, counts[spec.exclusions.count])) }
        exclusions = byReason
        notFirstEncounter = notFirst
    }

    /// The end of follow-up a spec declares for its dated label (``DatasetSpec/labelFollowUpEnd``),
    /// as an instant, with the label's window and the exclusion's reason; nil without one.
    static func followUpEnd(_ spec: DatasetSpec, _ records: EncounterRecords)
        -> (end: Double, window: Double, discharged: [Double], reason: String)? {
        guard let declared = spec.labelFollowUpEnd, case .readmissionWithinDays(let days) = spec.label,
              let admitted = records.admitted, let discharged = records.discharged else { return nil }
        let end: Double, after: String
        if declared == DatasetSpec.followUpEndLatestAdmission {
            end = admitted.reduce(-Double.infinity) { $1.isNaN ? $0 : Swift.max($0, $1) }
            after = "its window runs past the latest admission in the extract"
        } else {
            // The declared day is covered to its end.
            end = Double(TimestampFormat.parse(declared, format: "%Y-%m-%d") ?? 0) + 86_400
            after = "its window runs past the end of follow-up, \(declared)"
        }
        return (end, Double(days) * 86_400, discharged, "follow-up shorter than the label's \(days) days (\(after))")
    }
}

extension Cohort {
    /// Per encounter row, the index of the first spec exclusion that leaves it out of the cohort
    /// (a death, a hospice discharge), or -1: the one reading of `exclusions` that training, table
    /// scoring and raw records share. Raw records carry patient-table columns inline; without
    /// `requireColumns` an exclusion whose column the data lacks is not tested (scoring does not
    /// need it), with it the column's absence is an error (training must apply every rule).
    public static func exclusions(tables: DatasetTables, patientRow: [Int]?, rows n: Int, requireColumns: Bool) throws(DataError) -> [Int] {
        var reason = [Int](repeating: -1, count: n)
        try forEachExcluded(tables: tables, patientRow: patientRow, rows: n, requireColumns: requireColumns) { r, k, _, _ in reason[r] = k }
        return reason
    }

    /// The error of each row the spec's exclusions leave out, for the scoring paths: the model
    /// was not trained on such stays, and a risk of readmission for them would mean nothing.
    /// The message names the column, the value and the reason.
    public static func exclusionErrors(tables: DatasetTables, patientRow: [Int]?, rows n: Int) throws(DataError) -> [(row: Int, error: DataError)] {
        var out: [(row: Int, error: DataError)] = []
        // What the closure reads, taken out first: capturing `tables` copied the whole of it
        // (the spec's strings and arrays, a retain and a release each) on every request.
        let rules = tables.spec.exclusions, isRecords = tables.isRecords
        try forEachExcluded(tables: tables, patientRow: patientRow, rows: n, requireColumns: false) { r, k, text, source in
            let x = rules[k]
            let message = "'\(text)' (\(x.reason)) is excluded from the model's cohort by its dataset spec: the model does not apply to this stay"
            let viaPatients = x.table == .patients && !isRecords
            out.append((r, viaPatients ? DataError(code: .excluded, file: source.file, column: x.column, message: message)
                                       : source.error(.excluded, row: r, column: x.column, message: message)))
        }
        return out
    }

    /// Calls `body(row, exclusion, value, table)` once for each excluded row, with the first
    /// rule that excludes it; each rule's column is read once.
    private static func forEachExcluded(tables: DatasetTables, patientRow: [Int]?, rows n: Int, requireColumns: Bool,
                                        _ body: (Int, Int, String, SourceTable) -> Void) throws(DataError) {
        var done = [Bool](repeating: false, count: n)
        // By index: binding each rule copied its strings and arrays (a one-row request checks
        // every rule).
        let rules = tables.spec.exclusions
        for k in rules.indices {
            let viaPatients = rules[k].table == .patients && !tables.isRecords
            guard let source = viaPatients ? tables.patients : tables.encounters else { continue }
            let name = rules[k].column
            if !requireColumns && !source.has(name) { continue }
            let column = try source.texts(name, key: "exclusions[\(k)].column")
            // Matched once per distinct text, not per row; a rule's few values by a scan (a Set
            // of them hashed every value on every request), a long list through a Set.
            let values = rules[k].values, valueSet = values.count > 16 ? Set(values) : nil
            let hit = column.interned.values.enumerated().map { c, text in
                (valueSet?.contains(text) ?? values.contains(text)) && !column.isMissing[c]
            }
            guard hit.contains(true) else { continue }
            for r in 0..<n where !done[r] {
                let row = viaPatients ? (patientRow?[r] ?? -1) : r
                guard row >= 0 else { continue }
                let code = Int(column.interned.codes[row])
                if hit[code] {
                    done[r] = true
                    body(r, k, column.interned.values[code], source)
                }
            }
        }
    }
}
