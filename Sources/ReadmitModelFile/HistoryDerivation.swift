import ReadmitFeatures
import ReadmitSpec
import ReadmitTables

/// The result of a `HISTORY` request: each history field per row, and the messages.
public struct HistoryResult: Sendable {
    /// The history fields in spec order; NaN is unknown (a row with an error is unknown in every field).
    public var fields: [DerivedHistory.Field]
    /// Every error and warning, in row order (request-level first), as ``RecordsResult/messages``.
    public var messages: [RecordMessage]

    /// Creates a result.
    public init(fields: [DerivedHistory.Field], messages: [RecordMessage]) {
        self.fields = fields
        self.messages = messages
    }
}

extension ReadmitModel {
    /// Derives the history fields of raw records that hold a patient file: each row's history
    /// comes from the other rows of the same patient that ended before it began, through the
    /// derivation training and `readmit history` use (``DerivedHistory``). Unlike
    /// ``scoreRecords(columns:rows:k:options:)``, a row's result depends on the other rows: that
    /// is its purpose. A row with an error has unknown (NaN) history; the other rows of its
    /// patient get a `history_incomplete` warning naming it. Throws for a problem of the whole
    /// request (a needed field absent).
    public func deriveHistory(columns: [(name: String, column: RecordColumn)], rows: Int,
                              options: RecordBatch.Options) throws(DataError) -> HistoryResult {
        let spec = parameters.dataset
        var problems = RowErrors(badValuesMissing: options.badValuesMissing)
        let table = try RecordBatch.historyTable(columns: columns, rows: rows, spec: spec, schema: schema, options: options, warnings: &problems)
        let derived = try DerivedHistory(tables: DatasetTables(spec: spec, historyRecords: table), errors: &problems)
        var fields = derived.fields
        let failed = problems.byRow
        if !failed.isEmpty {
            for i in fields.indices { for r in failed.keys { fields[i].values[r] = .nan } }
            for group in derived.records.patientGroups where group.count > 1 {
                let bad = group.filter { failed[$0] != nil }
                guard let first = bad.first else { continue }
                let field = failed[first]?.column ?? ""
                for r in group where failed[r] == nil {
                    problems.warn(DataWarning(row: r, field: field, code: "history_incomplete",
                                              message: "row \(first) of the same patient has an error\(field.isEmpty ? "" : " in '\(field)'")\(bad.count > 1 ? " (and \(bad.count - 1) more)" : ""): this row's history may be incomplete"))
                }
            }
        }
        return HistoryResult(fields: fields, messages: Self.messages(problems))
    }
}
