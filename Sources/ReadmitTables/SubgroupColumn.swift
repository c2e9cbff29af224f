import ReadmitSpec

/// The texts of a column a report subgroup groups by (`report.subgroups` with `column`): a
/// column the model need not read, such as race or ethnicity kept out of the inputs on purpose
/// and audited all the same. Training and `readmit evaluate` read it once, with the tables.
public struct SubgroupColumn: Sendable {
    /// The most distinct texts a column without bands may hold: past this, a column is an
    /// identifier or a free text, and a table of its groups says nothing.
    public static let maxGroups = 50

    /// The subgroup's index in the spec's `report.subgroups`.
    public let index: Int
    /// The subgroup.
    public let definition: SubgroupDefinition
    /// The column's distinct texts and per table row their code.
    let texts: TextColumn
    /// Per encounter row, the row of the patients table (nil when the column is the encounter
    /// table's own; -1: the patient has no row there, read as missing).
    let patientRow: [Int]?

    /// A column read elsewhere (tests; ``all(tables:patientRow:)`` reads a spec's).
    public init(index: Int, definition: SubgroupDefinition, texts: TextColumn, patientRow: [Int]?) {
        self.index = index
        self.definition = definition
        self.texts = texts
        self.patientRow = patientRow
    }

    /// Reads every column subgroup of the spec, in its order (training and `readmit check`). A
    /// column that is not in its table is an error naming its spec key; so is one without
    /// bands holding more than ``maxGroups`` distinct texts.
    public static func all(tables: DatasetTables, patientRow: [Int]?) throws(DataError) -> [SubgroupColumn] {
        var out: [SubgroupColumn] = []
        for k in (tables.spec.reportSubgroups ?? []).indices {
            if let column = try read(k, tables: tables, patientRow: patientRow).get() { out.append(column) }
        }
        return out
    }

    /// The column subgroups an extract other than the training one holds (`readmit evaluate`):
    /// a column it lacks, or one of too many texts, is left out with its error, since a
    /// breakdown of the figures does not stop an evaluation.
    public static func available(tables: DatasetTables, patientRow: [Int]?) -> (columns: [SubgroupColumn], skipped: [DataError]) {
        var out: [SubgroupColumn] = [], skipped: [DataError] = []
        for k in (tables.spec.reportSubgroups ?? []).indices {
            switch read(k, tables: tables, patientRow: patientRow) {
            case .success(let column): if let column { out.append(column) }
            case .failure(let error): skipped.append(error)
            }
        }
        return (out, skipped)
    }

    /// Subgroup `k`'s column (nil: a feature's subgroup, or a patients-table column without a
    /// patients table joined).
    private static func read(_ k: Int, tables: DatasetTables, patientRow: [Int]?) -> Result<SubgroupColumn?, DataError> {
        let definition = tables.spec.reportSubgroups?[k] ?? SubgroupDefinition(feature: "")
        guard let name = definition.column else { return .success(nil) }
        let viaPatients = definition.table == .patients && !tables.isRecords
        guard let source = viaPatients ? tables.patients : tables.encounters else { return .success(nil) }
        if viaPatients && patientRow == nil { return .success(nil) }
        let texts: TextColumn
        do {
            texts = try source.texts(name, key: "report.subgroups[\(k)].column")
        } catch {
            return .failure(error)
        }
        if definition.bands == nil {
            let present = texts.isMissing.lazy.filter { !$0 }.count
            if present > maxGroups {
                return .failure(DataError(code: .badValue, file: source.file, column: name,
                                          message: "column '\(name)' (spec key report.subgroups[\(k)].column) holds \(present) distinct values; a subgroup column may hold at most \(maxGroups) (give 'bands' for a column of numbers)"))
            }
        }
        return .success(SubgroupColumn(index: k, definition: definition, texts: texts, patientRow: viaPatients ? patientRow : nil))
    }

    /// The text of encounter row `row`, nil when it is missing (one of the table's missing
    /// tokens, or no patients-table row for the encounter's patient).
    public func text(row: Int) -> String? {
        let r = patientRow.map { row < $0.count ? $0[row] : -1 } ?? row
        guard r >= 0, r < texts.interned.codes.count else { return nil }
        let code = Int(texts.interned.codes[r])
        return texts.isMissing[code] ? nil : texts.interned.values[code]
    }
}
