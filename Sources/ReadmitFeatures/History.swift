import ReadmitSpec
import ReadmitTables

/// History features: what the patient's earlier encounters say, known at discharge.
///
/// "Earlier" is an encounter of the same patient that ended before this one began: with dates,
/// discharged at or before this admission; without, a lower `order` value. Later encounters,
/// and encounters that overlap this one, never feed its features: they would leak the outcome.
/// Every row of the encounter table counts as history, excluded ones included (a stay ending in
/// hospice is still a stay). A first encounter has count 0, sum 0 and count_positive 0; previous
/// and days since the last discharge are missing. A count with `equals` counts the earlier stays
/// whose `of` is one of them, and is unknown when one of those stays has `of` missing.
enum History {
    static func compute(_ f: FeatureDefinition, key: String, tables: DatasetTables, records: EncounterRecords, labels: [Bool?],
                        computed: [RawFeature?], strict: Bool, errors: inout RowErrors) throws(DataError) -> [Double] {
        let n = records.count
        guard let kind = f.history else { return Array(repeating: .nan, count: n) }
        // The value `of` names: a feature computed already, else a column of the encounter table.
        var numbers: [Double]?
        var matches: [Bool?]?
        if let of = f.of {
            let source: RawFeature
            if let j = tables.spec.features.firstIndex(where: { $0.name == of }), let raw = computed[j] {
                source = raw
            } else if !f.equals.isEmpty, tables.spec.labelColumn == of, !tables.encounters.has(of) {
                // The label column of earlier stays is optional where history is derived for
                // scoring (as for count_positive): without it the feature is unknown, not 0.
                source = .numbers(Array(repeating: .nan, count: tables.encounters.rowCount))
            } else if !f.equals.isEmpty {
                source = .texts(try tables.encounters.texts(of, key: key + ".of"))
            } else {
                source = .numbers(try tables.encounters.numbers(of, key: key + ".of", strict: strict, errors: &errors))
            }
            switch source {
            case .numbers(let v):
                if f.equals.isEmpty { numbers = v } else { let set = Set(f.equals.compactMap(Double.init)); matches = v.map { $0.isNaN ? nil : set.contains($0) } }
            case .texts(let t), .codes(let t, _):
                let set = Set(f.equals)
                guard !set.isEmpty else {
                    throw DataError(code: .badValue, file: tables.encounters.file, column: of,
                                    message: "history \(kind.rawValue) of the text column '\(of)' needs 'equals' (spec key \(key).equals)")
                }
                let byValue: [Bool?] = t.interned.values.enumerated().map { t.isMissing[$0.offset] ? nil : set.contains($0.element) }
                matches = t.interned.codes.map { byValue[Int($0)] }
            }
        }
        let window = f.windowDays.map { Double($0) * 86_400 }
        var out = [Double](repeating: .nan, count: n)
        for sorted in records.patientGroups {
            for (i, r) in sorted.enumerated() {
                // Earlier encounters of the patient: sorted by start, only those before position
                // i can have ended before r began (unless they overlap it). The window, when
                // declared, limits count, sum and count_positive; previous and days since the
                // last discharge look at the last stay whatever its age.
                var count = 0.0, sum = 0.0, positives = 0.0, labelKnown = true, matchesKnown = true
                var previous = -1
                for p in sorted[..<i] where records.endedBefore(p, r) {
                    if previous < 0 || Self.endsLater(p, than: previous, records) { previous = p }
                    if let window, let d = records.discharged, let a = records.admitted, a[r] - d[p] > window { continue }
                    if let matches {
                        // count with `equals`: only the earlier stays whose value matches.
                        if let m = matches[p] { count += m ? 1 : 0 } else { matchesKnown = false }
                    } else {
                        count += 1
                    }
                    if let numbers, !numbers[p].isNaN { sum += numbers[p] }
                    if let label = labels[p] { positives += label ? 1 : 0 } else { labelKnown = false }
                }
                switch kind {
                case .count: out[r] = matchesKnown ? count : .nan
                case .sum: out[r] = sum
                case .countPositive: out[r] = labelKnown ? positives : .nan
                case .previous:
                    guard previous >= 0 else { continue }
                    if let matches { out[r] = matches[previous].map { $0 ? 1 : 0 } ?? .nan } else { out[r] = numbers?[previous] ?? .nan }
                case .daysSinceLastDischarge:
                    guard previous >= 0, let d = records.discharged, let a = records.admitted else { continue }
                    out[r] = (a[r] - d[previous]) / 86_400
                }
            }
        }
        return out
    }

    /// Whether `a` ended after `b` (discharge time, or order; ties by file order).
    static func endsLater(_ a: Int, than b: Int, _ records: EncounterRecords) -> Bool {
        let ka = records.discharged?[a] ?? records.order?[a] ?? Double(a)
        let kb = records.discharged?[b] ?? records.order?[b] ?? Double(b)
        return ka != kb ? ka > kb : a > b
    }
}

/// Encounters with their history fields derived from the patient's other encounters: what
/// training computes, what `readmit history` writes and what the daemon's `HISTORY` replies.
/// One implementation for all three (``History/compute``, through ``RawFeatures``).
public struct DerivedHistory: Sendable {
    /// One history field: its name (the spec feature's) and its value per row (NaN unknown).
    public struct Field: Sendable, Equatable {
        /// The field's name.
        public var name: String
        /// Its value per row; NaN is unknown.
        public var values: [Double]
    }

    /// The encounters' roles (patient, dates or order).
    public let records: EncounterRecords
    /// Every spec feature's raw values, history included.
    public let raw: RawFeatures
    /// The history fields, in spec order.
    public let fields: [Field]

    /// Derives the history of every row of `tables`: an encounters table (with its patients
    /// and events tables), or raw records of one patient file (``DatasetTables/init(spec:historyRecords:)``).
    /// Lenient: a bad value is recorded in `errors` for its row.
    public init(tables: DatasetTables, errors: inout RowErrors) throws(DataError) {
        records = try EncounterRecords(tables: tables, strict: false, errors: &errors)
        let labels = try Labels.compute(tables: tables, records: records, required: false, strict: false, errors: &errors)
        raw = try RawFeatures(tables: tables, records: records, labels: labels, strict: false, errors: &errors)
        var fields: [Field] = []
        for (j, f) in tables.spec.features.enumerated() where f.kind == .history {
            guard case .numbers(let values) = raw.features[j] else { continue }
            fields.append(Field(name: f.name, values: values))
        }
        self.fields = fields
    }
}
