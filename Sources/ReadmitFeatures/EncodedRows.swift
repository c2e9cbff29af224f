import ReadmitSpec
import ReadmitTables

/// Raw tables encoded for a fitted model: what `readmit score` and `readmit evaluate` read,
/// through the same spec and encoder as training.
public struct EncodedRows: Sendable {
    /// Feature vectors of every encounter row (schema order).
    public let matrix: FeatureMatrix
    /// Lenient mode: the first problem of each row with one (its features are not to be scored).
    public let errors: RowErrors
    /// Roles of the rows.
    public let records: EncounterRecords
    /// Label per row, when the tables say (nil: unknown).
    public let labels: [Bool?]

    /// Encodes every row of `tables` by `schema` (learned in training). Strict: the first bad
    /// value throws; lenient: each row's first problem is recorded and the other rows are kept.
    public init(tables: DatasetTables, schema: FeatureSchema, requireLabel: Bool, strict: Bool) throws(DataError) {
        var errors = RowErrors()
        records = try EncounterRecords(tables: tables, strict: strict, errors: &errors)
        labels = try Labels.compute(tables: tables, records: records, required: requireLabel, strict: strict, errors: &errors)
        let raw = try RawFeatures(tables: tables, records: records, labels: labels, strict: strict, errors: &errors)
        matrix = FeatureEncoder.encode(raw: raw, spec: tables.spec, schema: schema)
        self.errors = errors
    }
}
