import ReadmitFeatures
import ReadmitModelFile
import ReadmitModels
import ReadmitSpec
import ReadmitTables

/// The first training stage: a spec's tables read into a cohort and raw features, everything
/// `readmit check` reports and training builds on.
public struct PreparedData: Sendable {
    /// The tables.
    public let tables: DatasetTables
    /// Roles of the encounter rows.
    public let records: EncounterRecords
    /// Label per encounter row (nil: unknown).
    public let labels: [Bool?]
    /// The cohort and its split.
    public let cohort: Cohort
    /// Every declared feature's raw values.
    public let raw: RawFeatures
    /// Lenient reading: each row's first problem (rows with one leave the cohort).
    public let errors: RowErrors
    /// The columns of the report's column subgroups (`report.subgroups` with `column`).
    public let subgroupColumns: [SubgroupColumn]

    /// The spec.
    public var spec: DatasetSpec { tables.spec }

    /// Reads the cohort and the raw features. Strict (training): the first bad value is an
    /// error. Lenient (`readmit check`): each row's first problem is recorded, and such rows
    /// leave the cohort.
    public init(tables: DatasetTables, strict: Bool = true) throws(DataError) {
        self.tables = tables
        var errors = RowErrors()
        records = try EncounterRecords(tables: tables, strict: strict, errors: &errors)
        var labels = try Labels.compute(tables: tables, records: records, required: true, strict: strict, errors: &errors)
        raw = try RawFeatures(tables: tables, records: records, labels: labels, strict: strict, errors: &errors)
        for r in errors.byRow.keys { labels[r] = nil }
        self.labels = labels
        cohort = try Cohort(tables: tables, records: records, labels: labels)
        self.errors = errors
        // Read before training, so that a misnamed column stops `train` (and `check`) at once.
        subgroupColumns = try SubgroupColumn.all(tables: tables, patientRow: records.patientRow)
    }

    /// Checks that the cohort can be trained on: encounters on both sides of the split, and
    /// both outcomes among them, and among the validation patients (who choose the booster's
    /// rounds), the calibration patients (who calibrate the risk) and the test split (which
    /// evaluates it). Without both outcomes in each, training ran to the end and wrote a model
    /// whose risk was one constant, with a report of undefined figures.
    public func requireTrainable() throws(DataError) {
        let file = tables.encounters.file
        let positives = cohort.labels.filter { $0 }.count
        guard positives > 0, positives < cohort.labels.count else {
            throw DataError(code: .badValue, file: file, message: "the label rule gives \(positives == 0 ? "no positive" : "no negative") encounter in the cohort of \(cohort.labels.count) (spec key label)")
        }
        let train = cohort.isTest.filter { !$0 }.count, test = cohort.isTest.count - train
        guard train > 0, test > 0 else {
            throw DataError(code: .empty, file: file, message: "the cohort needs encounters in both the training and the test split (train \(train), test \(test); spec key split)")
        }
        let split = TrainingSplit(cohort: cohort)
        let groups: [(name: String, purpose: String, rows: [Int])] = [
            ("the validation patients of the training split hold", "choose the booster's rounds", split.validation),
            ("the calibration patients of the training split hold", "calibrate the risk", split.calibration),
            ("the test split holds", "evaluate the model", split.test),
        ]
        for group in groups {
            let readmitted = split.labels(group.rows).filter { $0 }.count
            guard readmitted == 0 || readmitted == group.rows.count else { continue }
            let outcome = readmitted == 0 ? "none readmitted" : "every one readmitted"
            throw DataError(code: .empty, file: file, message: "the cohort is too small to train on: \(group.name) \(group.rows.count) \(group.rows.count == 1 ? "encounter" : "encounters"), \(outcome); both outcomes are needed to \(group.purpose) (cohort: \(cohort.labels.count) encounters, \(positives) readmitted; the training split's patients go about 80% to fitting, 10% to validation and 10% to calibration)")
        }
    }
}
