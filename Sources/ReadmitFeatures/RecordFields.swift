import Foundation
import ReadmitSpec
import ReadmitTables

/// One raw field of a flat record: what a client sends for one encounter in a `RECORDS`
/// request (`docs/PROTOCOL.md`), and what INFO's `raw_fields` lists.
public struct RecordField: Sendable, Equatable {
    /// How the field's values are written.
    public enum FieldType: String, Sendable {
        case number, text, timestamp
        case diagnosisCode = "diagnosis_code"
    }

    /// The field's name (a column of the spec's tables, or a feature's name).
    public var name: String
    /// Its type.
    public var type: FieldType
    /// Whether a request must carry it (history fields are optional: unknown when absent).
    public var required: Bool
    /// Whether the field is a history feature (from the patient's earlier stays).
    public var history: Bool
    /// The feature it feeds, if it is one feature's input.
    public var feature: String?
    /// The levels learned in training (text fields of categorical features).
    public var levels: [String]?
    /// The timestamp format, or the ICD revision of a diagnosis column.
    public var format: String?, system: String?
    /// Which table of the spec it comes from (`encounters`, `patients`, an events table, `history`).
    public var table: String
}

/// The flat-record fields of a model: one place that says what a client sends.
public enum RecordFields {
    /// The fields of one encounter, from the spec and the schema learned in training.
    public static func fields(spec: DatasetSpec, schema: FeatureSchema) -> [RecordField] {
        var out: [RecordField] = []
        var seen = Set<String>()
        func add(_ field: RecordField) {
            if seen.insert(field.name).inserted { out.append(field) }
        }
        func levels(_ j: Int) -> [String]? { j < schema.count ? schema.features[j].levels : nil }
        for (j, f) in spec.features.enumerated() {
            let table = f.table.rawValue
            switch f.kind {
            case .numeric:
                add(RecordField(name: f.column ?? f.name, type: .number, required: true, history: false, feature: f.name, table: table))
            case .categorical, .ordinal:
                add(RecordField(name: f.column ?? f.name, type: .text, required: true, history: false, feature: f.name, levels: levels(j), table: table))
            case .diagnosis:
                if let events = f.events {
                    add(RecordField(name: f.name, type: .diagnosisCode, required: true, history: false, feature: f.name, table: events))
                    if spec.eventSource(named: events)?.codeSystem == nil {
                        add(RecordField(name: f.name + "_system", type: .text, required: true, history: false, feature: f.name,
                                        levels: CodeSystem.allCases.map(\.rawValue), table: events))
                    }
                } else {
                    add(RecordField(name: f.column ?? f.name, type: .diagnosisCode, required: true, history: false, feature: f.name,
                                    system: f.system?.rawValue, table: table))
                }
            case .derived where f.derive == .countOf || f.derive == .sumOf:
                for column in f.columns ?? [] {
                    add(RecordField(name: column, type: f.derive == .sumOf ? .number : .text, required: true, history: false, feature: f.name, table: table))
                }
            case .derived:
                if let a = spec.encounters.admitted {
                    add(RecordField(name: a.column, type: .timestamp, required: true, history: false, format: a.format, table: "encounters"))
                }
                if f.derive == .lengthOfStayDays, let d = spec.encounters.discharged {
                    add(RecordField(name: d.column, type: .timestamp, required: true, history: false, format: d.format, table: "encounters"))
                }
                if f.derive == .ageAtAdmission {
                    for column in [f.ageColumn, f.yearColumn].compactMap({ $0 }) {
                        add(RecordField(name: column, type: .number, required: true, history: false, feature: f.name, table: "patients"))
                    }
                }
            case .event:
                add(RecordField(name: f.name, type: .number, required: true, history: false, feature: f.name, table: f.events ?? "events"))
            case .history:
                add(RecordField(name: f.name, type: .number, required: false, history: true, feature: f.name, table: "history"))
            }
        }
        return out
    }
}

/// A `RECORDS` request made ready for the encoder: absent required fields, unused columns and
/// absent history fields resolved by the documented rules (`docs/PROTOCOL.md`, "Raw records").
public enum RecordBatch {
    /// The options of a request.
    public struct Options: Sendable, Equatable {
        /// A required field absent from the request is missing for every row (with a warning).
        public var missingFieldsOk = false
        /// A value that cannot be read is missing with a warning, not an error for its row.
        public var badValuesMissing = false
        /// Each risk's interval is computed (NaN otherwise: a caller that does not ask for it
        /// does not pay for it).
        public var interval = false
        /// Creates options.
        public init(missingFieldsOk: Bool = false, badValuesMissing: Bool = false, interval: Bool = false) {
            self.missingFieldsOk = missingFieldsOk
            self.badValuesMissing = badValuesMissing
            self.interval = interval
        }
    }

    /// The table the encoder reads: the request's columns plus an all-missing column for each
    /// absent field it may leave out. Throws `missingColumn` for an absent required field.
    public static func table(columns: [(name: String, column: RecordColumn)], rows: Int, spec: DatasetSpec, schema: FeatureSchema,
                             options: Options, warnings: inout RowErrors) throws(DataError) -> SourceTable {
        try table(columns: columns, rows: rows, spec: spec, plan: RecordPlan(spec: spec, schema: schema), options: options, warnings: &warnings)
    }

    /// As ``table(columns:rows:spec:schema:options:warnings:)`` with the model's ``RecordPlan``
    /// prepared once by the caller: each request column is looked up once, and nothing the
    /// request does not change is rebuilt.
    public static func table(columns: consuming [(name: String, column: RecordColumn)], rows: Int, spec: DatasetSpec, plan: RecordPlan,
                             options: Options, warnings: inout RowErrors) throws(DataError) -> SourceTable {
        let fields = plan.fields
        let layout = plan.layout(of: columns)
        for (i, c) in columns.enumerated() where layout.field[i] == RequestLayout.unused {
            warnings.warn(DataWarning(row: nil, field: c.name, code: "unused_field", message: "field '\(c.name)' is not read by this model; ignored"))
        }
        for i in layout.absent where fields[i].history {
            let f = fields[i]
            warnings.warn(DataWarning(row: nil, field: f.name, code: "history_unknown",
                                      message: "history field '\(f.name)' is absent: unknown for every row (not a first encounter's value)"))
        }
        var all: [RecordColumn] = []
        all.reserveCapacity(columns.count + layout.absent.count)
        // Each column moved out of `columns` (consumed), an empty one (no object to count)
        // left in its place: copying retained and released each column's arrays. A buffer
        // shared with another owner is copied first, so the table is the same either way.
        columns.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            for i in 0..<buffer.count {
                all.append((base + i).pointee.column.take())
            }
        }
        for i in layout.absent {
            let f = fields[i]
            if f.required {
                guard options.missingFieldsOk else {
                    throw DataError(code: .missingColumn, file: "request", column: f.name,
                                    message: "required field '\(f.name)' is absent from the request (send it, or set the option to send absent fields as missing)")
                }
                warnings.warn(DataWarning(row: nil, field: f.name, code: "missing_field", message: "required field '\(f.name)' is absent: missing for every row"))
            }
            all.append(f.type == .number
                ? .numbers([Double](repeating: .nan, count: rows))
                : .texts(values: [], codes: [Int32](repeating: -1, count: rows)))
        }
        return SourceTable(columns: all, layout: layout.columns, rows: rows, missing: spec.encounters.missing)
    }
}

/// What a request's column names mean to a model: each column's raw field, the fields it
/// leaves out, and the table's ``ColumnLayout`` (the request's columns, then one all-missing
/// column per absent field). It depends only on the names, so a daemon keeps the last one per
/// model and reuses it while clients send the same columns (they do: one program, one layout),
/// instead of hashing every name into two dictionaries per request.
struct RequestLayout: Sendable {
    /// ``field`` of a request column the model does not read.
    static let unused = -2
    /// The request's column names, in order (what the layout is for).
    let names: [String]
    /// Per request column: its index in ``RecordPlan/fields``, -1 for the encounter and patient
    /// ids and the exclusion columns that are not fields (read but not fields), or ``unused``.
    let field: [Int]
    /// The indices of the fields the request does not send, in field order.
    let absent: [Int]
    /// The table's layout: the request's names, then the absent fields' names.
    let columns: ColumnLayout

    init(names: [String], plan: RecordPlan) {
        self.names = names
        var sent = [Bool](repeating: false, count: plan.fields.count)
        var field: [Int] = []
        field.reserveCapacity(names.count)
        for name in names {
            let index = plan.fieldIndex[name] ?? Self.unused
            if index >= 0 { sent[index] = true }
            field.append(index)
        }
        self.field = field
        absent = plan.fields.indices.filter { !sent[$0] }
        // A field's column is named by the plan's own string (equal to the request's), which
        // the spec's lookups of it share: comparing two strings of one storage is a check of
        // their bits, where two copies of a name longer than 15 bytes were compared byte by byte.
        var header: [String] = []
        header.reserveCapacity(names.count + absent.count)
        for (i, name) in names.enumerated() { header.append(field[i] >= 0 ? plan.fields[field[i]].name : name) }
        for i in absent { header.append(plan.fields[i].name) }
        columns = ColumnLayout(header: header)
    }

    /// Whether this is the layout of `columns` (a plain comparison of the names: no hashing).
    func matches(_ columns: [(name: String, column: RecordColumn)]) -> Bool {
        guard names.count == columns.count else { return false }
        for i in names.indices where names[i] != columns[i].name { return false }
        return true
    }
}

/// The last ``RequestLayout`` a model built, shared by the daemon's workers.
final class RequestLayoutCache: @unchecked Sendable {
    /// Guards ``last``. An `NSLock` (a pthread mutex), not the Synchronization module's `Mutex`,
    /// whose locking ThreadSanitizer does not see (`scripts/tests/55-tsan.sh` reported a value
    /// guarded that way, `ReadmitWire.ColumnNameCache`'s, as a data race).
    private let lock = NSLock()
    private var last: RequestLayout?

    /// The layout of `columns`: the cached one when the names are the same, else a new one,
    /// which replaces it.
    func layout(of columns: [(name: String, column: RecordColumn)], plan: RecordPlan) -> RequestLayout {
        if let cached = lock.withLock({ last }), cached.matches(columns) { return cached }
        let layout = RequestLayout(names: columns.map(\.name), plan: plan)
        lock.withLock { last = layout }
        return layout
    }
}

/// A model's reading of raw records, prepared once from its spec and schema (the daemon keeps
/// one per loaded model): the fields (``RecordFields/fields(spec:schema:)``), each field's
/// position by name, and the level index of each feature. Everything here is derived from the
/// same definitions the unprepared calls use; it only saves a one-row request from rebuilding
/// them.
public struct RecordPlan: Sendable {
    /// The raw fields, as INFO lists them.
    public let fields: [RecordField]
    /// Field name -> index in ``fields``; the encounter and patient ids and the exclusion
    /// columns that are not fields (read but not fields) -> -1.
    let fieldIndex: [String: Int]
    /// The level index of the schema's features.
    public let levels: LevelIndex
    /// The layout of the last request's column names (``RequestLayout``).
    private let layouts = RequestLayoutCache()

    /// Prepares the plan of `spec` with the levels learned in `schema`.
    public init(spec: DatasetSpec, schema: FeatureSchema) {
        fields = RecordFields.fields(spec: spec, schema: schema)
        var index: [String: Int] = [spec.encounters.encounterID: -1, spec.encounters.patientID: -1]
        // The cohort's exclusion columns are read too (a stay they exclude gets its `excluded`
        // error), whether or not a feature reads them: MIMIC-IV's hospital_expire_flag is one.
        for rule in spec.exclusions { index[rule.column] = -1 }
        for (i, f) in fields.enumerated() { index[f.name] = i }
        fieldIndex = index
        levels = LevelIndex(spec: spec, schema: schema)
    }

    /// The layout of a request's `columns` (cached while requests send the same names).
    func layout(of columns: [(name: String, column: RecordColumn)]) -> RequestLayout {
        layouts.layout(of: columns, plan: self)
    }
}

extension RecordBatch {
    /// What a `HISTORY` request must carry to place each row among its patient's stays and
    /// compute the history features: the patient id, the order column or the dates, and the
    /// raw fields each history feature's `of` reads. The label column (when the spec's label
    /// is one) is optional: without it `count_positive`, and a history feature whose `of` is the
    /// label column, are unknown past a first stay.
    /// What deriving history without the label column means, in the words HISTORY, `readmit
    /// history` and `readmit score --history derive` all use.
    public static func labelAbsentMessage(_ label: String) -> String {
        "label field '\(label)' is absent: the history features read from it (count_positive, and any whose `of` is the label) are unknown for every row after a patient's first stay"
    }

    public static func historyInputs(spec: DatasetSpec, schema: FeatureSchema) -> (required: [String], label: String?) {
        let fields = RecordFields.fields(spec: spec, schema: schema)
        var required: [String] = []
        func add(_ name: String) { if !required.contains(name) { required.append(name) } }
        add(spec.encounters.patientID)
        if let order = spec.encounters.order { add(order) }
        if let a = spec.encounters.admitted, let d = spec.encounters.discharged { add(a.column); add(d.column) }
        var labelRead = spec.features.contains { $0.history == .countPositive }
        for f in spec.features where f.kind == .history {
            guard let of = f.of else { continue }
            // The label column of earlier stays is optional, as for count_positive.
            if of == spec.labelColumn { labelRead = true; continue }
            let inputs = fields.filter { $0.feature == of && !$0.history }.map(\.name)
            if spec.features.contains(where: { $0.name == of }) { inputs.forEach(add) } else { add(of) }
        }
        var label: String?
        if let name = spec.labelColumn, labelRead { label = name }
        return (required, label)
    }

    /// The table a `HISTORY` request is read as (one patient file, ``DatasetTables/init(spec:historyRecords:)``):
    /// the request's columns, plus an all-missing column for every raw field it leaves out.
    /// Throws `missingColumn` for an absent ``historyInputs(spec:schema:)`` field unless
    /// `options.missingFieldsOk` (then a warning; the rows it leaves unplaced get errors).
    public static func historyTable(columns: [(name: String, column: RecordColumn)], rows: Int, spec: DatasetSpec, schema: FeatureSchema,
                                    options: Options, warnings: inout RowErrors) throws(DataError) -> SourceTable {
        let fields = RecordFields.fields(spec: spec, schema: schema)
        let inputs = historyInputs(spec: spec, schema: schema)
        let sent = Set(columns.map(\.name))
        let known = Set(fields.map(\.name) + inputs.required + [spec.encounters.encounterID] + (inputs.label.map { [$0] } ?? []))
        var all = columns
        for c in columns where !known.contains(c.name) {
            warnings.warn(DataWarning(row: nil, field: c.name, code: "unused_field", message: "field '\(c.name)' is not read by this model; ignored"))
        }
        for name in inputs.required where !sent.contains(name) {
            guard options.missingFieldsOk else {
                throw DataError(code: .missingColumn, file: "request", column: name,
                                message: "field '\(name)' is needed to derive history and is absent from the request (send it, or set the option to send absent fields as missing)")
            }
            warnings.warn(DataWarning(row: nil, field: name, code: "missing_field", message: "field '\(name)' is absent: missing for every row"))
            all.append((name, .texts(values: [], codes: [Int32](repeating: -1, count: rows))))
        }
        if let label = inputs.label, !sent.contains(label) {
            warnings.warn(DataWarning(row: nil, field: label, code: "label_absent", message: labelAbsentMessage(label)))
        }
        let present = Set(all.map(\.name))
        for f in fields where !present.contains(f.name) {
            let column: RecordColumn = f.type == .number
                ? .numbers([Double](repeating: .nan, count: rows))
                : .texts(values: [], codes: [Int32](repeating: -1, count: rows))
            all.append((f.name, column))
        }
        return SourceTable(columns: all, rows: rows, missing: spec.encounters.missing)
    }
}
