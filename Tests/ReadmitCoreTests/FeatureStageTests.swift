import ReadmitCore
import XCTest
@testable import ReadmitTraining

/// What the models' input layout learns from labels, and from whose.
final class FeatureStageTests: XCTestCase {
    /// A categorical level's booster code is its rank by outcome rate. Only the fit patients'
    /// labels may set it: otherwise the validation patients' own labels reach the features
    /// their validation figures are computed on (they looked better than they were, and
    /// favoured finer vocabularies), and the calibration patients' reach the inputs the
    /// calibration is fitted on.
    func testLevelRanksComeFromTheFitPatientsOnly() throws {
        let dir = TestSupport.temporaryDirectory()
        let data = try PreparedData(tables: TestSupport.tables(try TestSupport.subsetCSV(rows: 6000, in: dir)))
        let split = TrainingSplit(cohort: data.cohort)
        XCTAssertGreaterThan(split.validation.count, 100)
        XCTAssertGreaterThan(split.calibration.count, 100)
        let features = FeatureStage(data: data, split: split)
        let fitOnly = ModelInputLayout(schema: features.schema, training: features.x.selecting(rows: split.fit),
                                       labels: split.labels(split.fit))
        // Compared field by field, medians by their bits (an all-missing feature's is NaN).
        XCTAssertEqual(features.layout.slots.map(\.levelRank), fitOnly.slots.map(\.levelRank))
        XCTAssertEqual(features.layout.slots.map(\.median.bitPattern), fitOnly.slots.map(\.median.bitPattern))
        XCTAssertEqual(features.layout.columnNames, fitOnly.columnNames)
        // The check can tell the two apart: every training patient's labels give other ranks.
        let everyTraining = ModelInputLayout(schema: features.schema, training: features.xTrain, labels: split.labels(split.train))
        XCTAssertNotEqual(features.layout.slots.map(\.levelRank), everyTraining.slots.map(\.levelRank))
    }
}
