import ReadmitSpec
import ReadmitTables

/// One declared feature's raw values for every encounter row, before encoding: numbers, texts
/// (categories) or diagnosis codes with their ICD revision.
public enum RawFeature: Sendable {
    /// Numbers, NaN for missing.
    case numbers([Double])
    /// Category texts.
    case texts(TextColumn)
    /// Diagnosis codes; `systems` gives the revision of each distinct text.
    case codes(TextColumn, systems: [CodeSystem])
}

/// Computes the raw value of every feature the spec declares, for every encounter row: columns
/// read (and joined from the patients table), fields derived from dates, aggregations of the
/// events tables, then history over each patient's earlier encounters.
public struct RawFeatures: Sendable {
    /// One per spec feature, in spec order.
    public let features: [RawFeature]
    /// Events whose encounter id is missing or matches no encounter, per events table.
    public let unmatchedEvents: [Int]
    /// Events timed after their stay's discharge, left out (not known at discharge), per events table.
    public let eventsAfterDischarge: [Int]
    /// Per events table, the events a value aggregate reads whose value is not a number (a
    /// lab's `<5`, `NEG`, `___`): left out of `first`/`last`/`min`/`max`/`mean`, still counted
    /// by `count` and `any`. `first` is the earliest row's error, for its place.
    public let eventValuesNotNumbers: [(count: Int, first: DataError?)]

    /// Computes the raw features. Strict: the first bad value throws; lenient: encounter-table
    /// problems are recorded per row in `errors` (the other tables are always strict).
    public init(tables: DatasetTables, records: EncounterRecords, labels: [Bool?], strict: Bool, errors: inout RowErrors) throws(DataError) {
        // The spec read in place (`tables.spec.`), not bound: see EncounterRecords.init.
        var out: [RawFeature?] = Array(repeating: nil, count: tables.spec.features.count)
        let events = try tables.events.enumerated().map { (i, t) throws(DataError) in
            try EventIndex(table: t, source: tables.spec.events[i], key: "events[\(i)]", records: records)
        }
        unmatchedEvents = events.map(\.unmatched)
        eventsAfterDischarge = events.map(\.afterDischarge)
        // Per events table, its rows whose value is not a number, over every feature reading it.
        var notNumbers = [EventTexts](repeating: EventTexts(), count: events.count)
        // `count_of`s computed with an earlier one over the same columns (countedTogether).
        var counted: [(feature: Int, values: [Double])] = []
        // By index through the buffer, not `enumerated()`: a feature definition is a dozen
        // strings and arrays, and each one bound or passed on was copied (a retain and a release
        // of each), which showed in a one-row request's profile. The fields are read where they
        // lie, and the functions below take the fields they use, not the definition.
        try tables.spec.features.withUnsafeBufferPointer { (definitions) throws(DataError) in
            for i in definitions.indices where definitions[i].kind != .history {
                // Spec keys name a bad column in errors only: built on that path (a one-row request
                // would otherwise format one per feature).
                func key() -> String { "features[\(i)]" }
                let kind = definitions[i].kind
                if kind == .numeric || kind == .categorical || kind == .ordinal {
                    // The column and table only: passing the whole definition copied it (a retain
                    // and a release of each of its strings and arrays) for every feature.
                    let column = definitions[i].column ?? definitions[i].name, table = definitions[i].table
                    out[i] = kind == .numeric
                        ? .numbers(try Self.numbers(tables, records, column: column, table: table, key: key() + ".column", strict: strict, errors: &errors))
                        : .texts(try Self.texts(tables, records, column: column, table: table, key: key() + ".column"))
                    continue
                }
                switch kind {
                case .numeric, .categorical, .ordinal:
                    break
                case .diagnosis:
                    if let name = definitions[i].events, let index = events.first(where: { $0.source.name == name }) {
                        out[i] = try index.principal(records: records)
                    } else if tables.isRecords, let name = definitions[i].events {
                        out[i] = try Self.recordCodes(tables, name: definitions[i].name, source: tables.spec.eventSource(named: name), key: key(),
                                                      strict: strict, errors: &errors)
                    } else {
                        // The fields it reads, not the definition: see the loop's comment.
                        let column = try Self.texts(tables, records, column: definitions[i].column ?? definitions[i].name, table: definitions[i].table,
                                                    key: key() + ".column")
                        out[i] = .codes(column, systems: Array(repeating: definitions[i].system ?? .icd9, count: column.interned.values.count))
                    }
                case .derived where definitions[i].derive == .countOf || definitions[i].derive == .sumOf:
                    let sum = definitions[i].derive == .sumOf
                    if !sum, let at = counted.firstIndex(where: { $0.feature == i }) {
                        out[i] = .numbers(counted.remove(at: at).values)
                        continue
                    }
                    if !sum, let group = try Self.countedTogether(definitions, from: i, tables, records, key: key()) {
                        out[i] = .numbers(group[0].values)
                        counted += group.dropFirst()
                        continue
                    }
                    var values = try Self.combined(tables, records, columns: definitions[i].columns ?? [], values: definitions[i].values ?? [],
                                                   sum: sum, table: definitions[i].table, key: key(), strict: strict, errors: &errors)
                    if sum {
                        try Self.requireFinite(&values, tables.encounters, name: definitions[i].name, key: key(),
                                               what: "the sum of \((definitions[i].columns ?? []).joined(separator: ", "))", strict: strict, errors: &errors)
                    }
                    out[i] = .numbers(values)
                case .derived:
                    var values = try Self.derived(tables, records, derive: definitions[i].derive, ageColumn: definitions[i].ageColumn,
                                                  yearColumn: definitions[i].yearColumn, key: key(), strict: strict, errors: &errors)
                    try Self.requireFinite(&values, tables.encounters, name: definitions[i].name, key: key(), what: "the derived value",
                                           strict: strict, errors: &errors)
                    out[i] = .numbers(values)
                case .event:
                    if tables.isRecords {
                        // Raw records carry the caller's aggregate, named after the feature.
                        out[i] = .numbers(try tables.encounters.numbers(definitions[i].name, key: key(), strict: strict, errors: &errors))
                        continue
                    }
                    guard let name = definitions[i].events, let t = events.firstIndex(where: { $0.source.name == name }) else { continue }
                    var values = try events[t].aggregate(definitions[i], key: key(), records: records, notNumbers: &notNumbers[t])
                    try Self.requireFinite(&values, tables.encounters, name: definitions[i].name, key: key(),
                                           what: "the \(definitions[i].aggregate?.rawValue ?? "aggregate") of its events", strict: strict, errors: &errors)
                    out[i] = .numbers(values)
                case .history:
                    break
                }
            }
            for i in definitions.indices where definitions[i].kind == .history {
                if tables.rowsStandAlone {
                    // History is an input of raw records, never derived from the other rows (a
                    // HISTORY request, whose rows are one patient file, derives it below).
                    out[i] = .numbers(try tables.encounters.numbers(definitions[i].name, key: "features[\(i)]", strict: strict, errors: &errors))
                    continue
                }
                var values = try History.compute(definitions[i], key: "features[\(i)]", tables: tables, records: records, labels: labels,
                                                 computed: out, strict: strict, errors: &errors)
                try Self.requireFinite(&values, tables.encounters, name: definitions[i].name, key: "features[\(i)]",
                                       what: "the history value", strict: strict, errors: &errors)
                out[i] = .numbers(values)
            }
        }
        eventValuesNotNumbers = notNumbers.map { ($0.count, $0.first?.error) }
        // Each feature moved out of `out` (`take()`), not copied: `map` retained and released
        // each one's arrays.
        var all: [RawFeature] = []
        all.reserveCapacity(out.count)
        for i in out.indices { all.append(out[i].take() ?? .numbers(Array(repeating: .nan, count: records.count))) }
        features = all
    }

    /// A derived value that is not finite (a `sum_of` of 1e308 and 1e308 overflows) is a bad
    /// value of its row, as an infinite number sent is (`not_finite`): an error of the row, or
    /// missing with a warning under bad_values_missing; strict reading throws. Infinity is no
    /// feature value (SCORE refuses it): left in, one such row failed a whole request's scoring.
    /// The table, name, key and text are taken only for an error (a one-row request checks a few).
    static func requireFinite(_ values: inout [Double], _ table: @autoclosure () -> SourceTable, name: @autoclosure () -> String, key: @autoclosure () -> String,
                              what: @autoclosure () -> String, strict: Bool, errors: inout RowErrors) throws(DataError) {
        guard values.contains(where: { $0.isInfinite }) else { return }
        for r in values.indices where values[r].isInfinite {
            let error = table().error(.notFinite, row: r, column: name(),
                                    message: "\(what()) is \(values[r]), not a finite number (spec key \(key()))")
            if strict { throw error }
            errors.report(error, row: r)
            values[r] = .nan
        }
    }

    /// The texts of `column` of the encounters, or of the patients joined to them.
    static func texts(_ tables: DatasetTables, _ records: EncounterRecords, column: String, table: TableRole,
                      key: @autoclosure () -> String) throws(DataError) -> TextColumn {
        if table == .patients, let p = tables.patients, let rows = records.patientRow {
            return try p.texts(column, key: key()).joined(rows)
        }
        return try tables.encounters.texts(column, key: key())
    }

    /// The numbers of `column` of the encounters, or of the patients joined to them.
    static func numbers(_ tables: DatasetTables, _ records: EncounterRecords, column: String, table: TableRole,
                        key: @autoclosure () -> String, strict: Bool, errors: inout RowErrors) throws(DataError) -> [Double] {
        if table == .patients, let p = tables.patients, let rows = records.patientRow {
            var ignored = RowErrors()
            let values = try p.numbers(column, key: key(), strict: true, errors: &ignored)
            return rows.map { $0 >= 0 ? values[$0] : .nan }
        }
        return try tables.encounters.numbers(column, key: key(), strict: strict, errors: &errors)
    }

    /// `count_of` and `sum_of`: one value per row from several columns of the row. A `count_of`
    /// counts the columns holding one of `values` (a missing value counts as no match) and is
    /// missing only when every column is; a `sum_of` is missing when any term is (an unknown
    /// term makes the total unknown, not smaller).
    static func combined(_ tables: DatasetTables, _ records: EncounterRecords, columns: [String], values wanted: [String], sum: Bool,
                         table: TableRole, key: @autoclosure () -> String, strict: Bool, errors: inout RowErrors) throws(DataError) -> [Double] {
        // Each column is read by name: copying the definition per column showed in a one-row
        // request's profile (a count over 23 medications, twice).
        if sum {
            var total = [Double](repeating: 0, count: records.count)
            for (c, name) in columns.enumerated() {
                let values = try numbers(tables, records, column: name, table: table, key: key() + ".columns[\(c)]", strict: strict, errors: &errors)
                for r in 0..<records.count { total[r] += values[r] }
            }
            return total
        }
        let joined = table == .patients && tables.patients != nil && records.patientRow != nil
        if !joined, let counted = try tables.encounters.countOf(columns, in: wanted, key: { key() + ".columns[\($0)]" }) {
            return counted
        }
        var count = [Double](repeating: 0, count: records.count)
        var seen = [Bool](repeating: false, count: records.count)
        for (c, name) in columns.enumerated() {
            if table == .patients, let p = tables.patients, let rows = records.patientRow {
                try p.texts(name, key: key() + ".columns[\(c)]").joined(rows).countMatches(in: wanted, count: &count, seen: &seen)
            } else {
                try tables.encounters.countMatches(name, in: wanted, key: key() + ".columns[\(c)]", count: &count, seen: &seen)
            }
        }
        return (0..<records.count).map { seen[$0] ? count[$0] : .nan }
    }

    /// The `count_of` at `first` and every later one over the same columns of the same
    /// encounters table, counted in one pass (``SourceTable/countsOf(_:in:key:)``), by feature
    /// index in spec order; nil when no later one shares its columns or the table cannot count
    /// them at once (then each is counted alone, by ``combined(_:_:columns:values:sum:table:key:strict:errors:)``).
    /// A column the request lacks throws naming `first`'s key, as counting it alone would.
    static func countedTogether(_ definitions: UnsafeBufferPointer<FeatureDefinition>, from first: Int, _ tables: DatasetTables,
                                _ records: EncounterRecords, key: @autoclosure () -> String) throws(DataError) -> [(feature: Int, values: [Double])]? {
        let table = definitions[first].table
        if table == .patients && tables.patients != nil && records.patientRow != nil { return nil }  // joined: counted alone
        guard let columns = definitions[first].columns else { return nil }
        var members: [Int] = [], wanted: [[String]] = []
        for j in first..<definitions.count
        where definitions[j].kind == .derived && definitions[j].derive == .countOf && definitions[j].table == table
            && (j == first || definitions[j].columns == columns) {
            members.append(j)
            wanted.append(definitions[j].values ?? [])
        }
        guard members.count > 1,
              let values = try tables.encounters.countsOf(columns, in: wanted, key: { key() + ".columns[\($0)]" }) else { return nil }
        var out: [(feature: Int, values: [Double])] = []
        out.reserveCapacity(members.count)
        for (m, feature) in members.enumerated() { out.append((feature, values[m])) }
        return out
    }

    static func derived(_ tables: DatasetTables, _ records: EncounterRecords, derive: FeatureDefinition.Derivation?, ageColumn: String?,
                        yearColumn: String?, key: @autoclosure () -> String, strict: Bool, errors: inout RowErrors) throws(DataError) -> [Double] {
        guard let admitted = records.admitted, let discharged = records.discharged else { return Array(repeating: .nan, count: records.count) }
        switch derive {
        case .countOf, .sumOf:
            return Array(repeating: .nan, count: records.count)  // computed by combined(...)
        case .lengthOfStayDays, .none:
            return (0..<records.count).map { (discharged[$0] - admitted[$0]) / 86_400 }
        case .ageAtAdmission where tables.isRecords:
            // Raw records carry the patient's fields inline, read by the one policy for bad
            // values (a text that is not a number is its row's error, or missing with a warning):
            // they were read into a scratch list, so a bad age made the feature missing unsaid.
            guard let ageColumn, let yearColumn else { return Array(repeating: .nan, count: records.count) }
            let age = try tables.encounters.numbers(ageColumn, key: key() + ".age", strict: strict, errors: &errors)
            let year = try tables.encounters.numbers(yearColumn, key: key() + ".year", strict: strict, errors: &errors)
            return (0..<records.count).map { r in
                admitted[r].isNaN ? .nan : age[r] + Double(TimestampFormat.year(ofSeconds: Int64(admitted[r]))) - year[r]
            }
        case .ageAtAdmission:
            guard let p = tables.patients, let rows = records.patientRow, let ageColumn, let yearColumn else {
                return Array(repeating: .nan, count: records.count)
            }
            var ignored = RowErrors()
            let age = try p.numbers(ageColumn, key: key() + ".age", strict: true, errors: &ignored)
            let year = try p.numbers(yearColumn, key: key() + ".year", strict: true, errors: &ignored)
            return (0..<records.count).map { r in
                let row = rows[r]
                guard row >= 0, !admitted[r].isNaN else { return .nan }
                return age[row] + Double(TimestampFormat.year(ofSeconds: Int64(admitted[r]))) - year[row]
            }
        }
    }
}

extension RawFeatures {
    /// The principal diagnosis of raw records: the code in a field named after the feature, its
    /// ICD revision in `<feature>_system` (`icd9`/`icd10`, or the events table's own texts for
    /// them), unless the events table declares one revision for every code.
    static func recordCodes(_ tables: DatasetTables, name: String, source: EventSource?, key: @autoclosure () -> String, strict: Bool,
                            errors: inout RowErrors) throws(DataError) -> RawFeature {
        let table = tables.encounters
        let codes = try table.texts(name, key: key())
        if let fixed = source?.codeSystem {
            return .codes(codes, systems: Array(repeating: fixed, count: codes.interned.values.count))
        }
        let systemField = name + "_system"
        let systemColumn = try table.texts(systemField, key: key())
        let nine = Set(["icd9"] + (source?.icd9Values ?? [])), ten = Set(["icd10"] + (source?.icd10Values ?? []))
        // Interned by (system, code), as the events path does.
        var valueOf: [String: Int32] = [:]
        var values: [String] = [], systems: [CodeSystem] = []
        var rowCodes = [Int32](repeating: -1, count: table.rowCount)
        for r in 0..<table.rowCount {
            guard let code = codes.text(r) else { continue }
            let text = systemColumn.text(r)
            let system: CodeSystem? = text.map { nine.contains($0) ? .icd9 : (ten.contains($0) ? .icd10 : nil) } ?? nil
            guard let system else {
                let e = table.error(.badValue, row: r, column: systemField,
                                    message: "the ICD revision of '\(code)' is \(text.map { "'\($0)'" } ?? "missing"): expected icd9 or icd10")
                if strict { throw e }
                errors.report(e, row: r)
                continue
            }
            let k = "\(system.rawValue)|\(code)"
            if let c = valueOf[k] { rowCodes[r] = c; continue }
            let c = Int32(values.count)
            valueOf[k] = c; values.append(code); systems.append(system)
            rowCodes[r] = c
        }
        let absent = Int32(values.count)
        let column = TextColumn(InternedColumn(values: values + [""], codes: rowCodes.map { $0 < 0 ? absent : $0 }),
                                isMissing: Array(repeating: false, count: values.count) + [true])
        return .codes(column, systems: systems + [.icd9])
    }
}

/// The events of one table whose value is not a number, over every feature that reads them:
/// marked per event row (a table of lab results can hold millions; one error each did not scale),
/// with the earliest one's error for its place.
struct EventTexts {
    /// Per event row, whether it was counted (sized on the first one).
    var marked: [Bool] = []
    /// Rows marked.
    var count = 0
    /// The earliest row marked, with its error.
    var first: (row: Int, error: DataError)?

    /// Counts event row `row` of `rows` once, `error` describing it if it is the earliest.
    mutating func mark(_ row: Int, of rows: Int, _ error: @autoclosure () -> DataError) {
        if marked.isEmpty { marked = [Bool](repeating: false, count: rows) }
        guard !marked[row] else { return }
        marked[row] = true
        count += 1
        if first.map({ row < $0.row }) ?? true { first = (row, error()) }
    }
}

/// An events table indexed by encounter: which encounter row each event belongs to.
struct EventIndex {
    let table: SourceTable
    let source: EventSource
    let key: String
    /// Per event row, the encounter row, or -1.
    let encounterRow: [Int]
    /// Events whose encounter id is missing or unknown.
    let unmatched: Int
    /// Events of a known encounter timed after its discharge: left out (see init).
    let afterDischarge: Int

    init(table: SourceTable, source: EventSource, key: String, records: EncounterRecords) throws(DataError) {
        self.table = table
        self.source = source
        self.key = key
        var rowOfID: [String: Int] = [:]
        let encounterIDs = records.encounterIDs  // read once: raw records read their ids on demand
        for r in 0..<records.count { if let id = encounterIDs.text(r) { rowOfID[id] = r } }
        let ids = try table.texts(source.encounterID, key: key + ".encounter_id")
        let rowOfText = ids.interned.values.enumerated().map { ids.isMissing[$0.offset] ? -1 : (rowOfID[$0.element] ?? -1) }
        var rows = ids.interned.codes.map { rowOfText[Int($0)] }
        unmatched = rows.filter { $0 < 0 }.count
        if table.rowCount > 0 && unmatched == table.rowCount {
            throw DataError(code: .badValue, file: table.file, column: source.encounterID,
                            message: "no id in this events table (spec key \(key).encounter_id) matches an encounter id")
        }
        // A risk is given at discharge: an event charted after it (MIMIC-IV's demo has labs up
        // to 7 hours after) is not known then, and counting it would teach the model from the
        // future. An event or a stay without a time is kept: nothing says it came later.
        var late = 0
        if let time = source.time, let discharged = records.discharged {
            let t = try EncounterRecords.eventTimes(table, time, key: key + ".time")
            for e in rows.indices where rows[e] >= 0 && t[e] > discharged[rows[e]] {
                rows[e] = -1
                late += 1
            }
        }
        encounterRow = rows
        afterDischarge = late
    }

    /// The ICD revision of each event row.
    func systems() throws(DataError) -> [CodeSystem?] {
        if let fixed = source.codeSystem { return Array(repeating: fixed, count: table.rowCount) }
        guard let name = source.codeSystemColumn else { return Array(repeating: nil, count: table.rowCount) }
        let column = try table.texts(name, key: key + ".code_system.column")
        let nine = Set(source.icd9Values), ten = Set(source.icd10Values)
        let byValue: [CodeSystem?] = column.interned.values.map { nine.contains($0) ? .icd9 : (ten.contains($0) ? .icd10 : nil) }
        return column.interned.codes.map { byValue[Int($0)] }
    }

    /// Event rows in the order first/last use: by time (then file order), else file order. NaN
    /// for an event without a time: it cannot be placed, so first/last pass it by (any event
    /// without a time failed the whole table before, whatever its code).
    func ordering() throws(DataError) -> [Double] {
        guard let t = source.time else { return (0..<table.rowCount).map(Double.init) }
        return try EncounterRecords.eventTimes(table, t, key: key + ".time")
    }

    /// The principal diagnosis per encounter: the code with the lowest sequence (file order without one).
    func principal(records: EncounterRecords) throws(DataError) -> RawFeature {
        let codes = try table.texts(source.code, key: key + ".code")
        let systems = try systems()
        var ignored = RowErrors()
        let sequence = try source.sequence.map { s throws(DataError) in try table.numbers(s, key: key + ".sequence", strict: true, errors: &ignored) }
        var best = [Int](repeating: -1, count: records.count)
        for e in 0..<table.rowCount {
            let r = encounterRow[e]
            guard r >= 0, codes.text(e) != nil, systems[e] != nil else { continue }
            if best[r] < 0 { best[r] = e; continue }
            if let sequence, sequence[e] < sequence[best[r]] { best[r] = e }
        }
        // Interned by (system, code): a code text can mean different things in ICD-9 and ICD-10.
        var valueOf: [String: Int32] = [:]
        var values: [String] = [], valueSystems: [CodeSystem] = []
        var rowCodes = [Int32](repeating: 0, count: records.count)
        for r in 0..<records.count {
            guard best[r] >= 0, let text = codes.text(best[r]), let system = systems[best[r]] else { rowCodes[r] = -1; continue }
            let k = "\(system.rawValue)|\(text)"
            if let c = valueOf[k] { rowCodes[r] = c; continue }
            let c = Int32(values.count)
            valueOf[k] = c; values.append(text); valueSystems.append(system)
            rowCodes[r] = c
        }
        let absent = Int32(values.count)
        let column = TextColumn(InternedColumn(values: values + [""], codes: rowCodes.map { $0 < 0 ? absent : $0 }),
                                isMissing: Array(repeating: false, count: values.count) + [true])
        return .codes(column, systems: valueSystems + [.icd9])
    }

    /// One aggregation of the events per encounter. An event it reads whose value is not a
    /// number is marked in `notNumbers` and left out; only when none of the events it reads has
    /// a number is that an error (the spec's `value` names a text column, not a lab whose
    /// results are sometimes texts).
    func aggregate(_ f: FeatureDefinition, key featureKey: String, records: EncounterRecords,
                   notNumbers: inout EventTexts) throws(DataError) -> [Double] {
        let n = records.count
        let codes = try table.texts(source.code, key: key + ".code")
        let wanted = Set(f.codes)
        let keep = codes.interned.values.enumerated().map { !codes.isMissing[$0.offset] && (wanted.isEmpty || wanted.contains($0.element)) }
        if !f.codes.isEmpty && !keep.contains(true) {
            throw DataError(code: .badValue, file: table.file, column: source.code,
                            message: "none of the codes \(f.codes.joined(separator: ", ")) (spec key \(featureKey).codes) occurs in this table")
        }
        var groupHit: [Bool]?
        if let group = f.group, let chapter = ICDChapters.names.firstIndex(of: group) {
            let systems = try systems()
            groupHit = (0..<table.rowCount).map { e in
                guard let s = systems[e], let text = codes.text(e) else { return false }
                return ICDChapters.chapter(of: text, system: s) == chapter
            }
        }
        switch f.aggregate {
        case .count, .any:
            var count = [Double](repeating: 0, count: n)
            for e in 0..<table.rowCount {
                let r = encounterRow[e]
                guard r >= 0, keep[Int(codes.interned.codes[e])], groupHit?[e] ?? true else { continue }
                count[r] += 1
            }
            return f.aggregate == .any ? count.map { $0 > 0 ? 1 : 0 } : count
        default:
            guard let valueColumn = source.value else { return Array(repeating: .nan, count: n) }
            // Lenient: a lab result is sometimes a text (`<5`, `NEG`, MIMIC-IV's redacted `___`),
            // and the first one anywhere in the table, even of a lab no feature reads, stopped
            // every read of it. Such values are missing here and counted for `check`.
            let column = try table.texts(valueColumn, key: key + ".value")
            let (values, notNumber) = column.numbersLeavingTexts()
            let order = (f.aggregate == .first || f.aggregate == .last) ? try ordering() : []
            var out = [Double](repeating: .nan, count: n), at = [Double](repeating: .nan, count: n), seen = [Double](repeating: 0, count: n)
            var numbersRead = 0, firstText = -1
            for e in 0..<table.rowCount {
                let r = encounterRow[e]
                let v = values[e]
                guard r >= 0, keep[Int(codes.interned.codes[e])] else { continue }
                if v.isNaN {
                    let c = Int(column.interned.codes[e])
                    if notNumber[c] {
                        notNumbers.mark(e, of: table.rowCount, table.badNumber(column.interned.values[c], row: e, column: valueColumn))
                        if firstText < 0 { firstText = e }
                    }
                    continue
                }
                numbersRead += 1
                switch f.aggregate {
                case .first: if !order[e].isNaN && (at[r].isNaN || order[e] < at[r]) { at[r] = order[e]; out[r] = v }
                case .last: if !order[e].isNaN && (at[r].isNaN || order[e] >= at[r]) { at[r] = order[e]; out[r] = v }
                case .min: out[r] = out[r].isNaN ? v : Swift.min(out[r], v)
                case .max: out[r] = out[r].isNaN ? v : Swift.max(out[r], v)
                default: out[r] = (out[r].isNaN ? 0 : out[r]) + v; seen[r] += 1
                }
            }
            if numbersRead == 0, firstText >= 0 {
                var error = table.badNumber(column.interned[firstText], row: firstText, column: valueColumn)
                error.message += "; no event that feature '\(f.name)' (\(featureKey)) reads has a number in this column (spec key \(key).value)"
                throw error
            }
            if f.aggregate == .mean { for r in 0..<n where seen[r] > 0 { out[r] /= seen[r] } }
            return out
        }
    }
}
