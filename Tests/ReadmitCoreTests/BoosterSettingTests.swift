import ReadmitCore
import XCTest

/// `readmit train --booster-grid`: the grid's text form and the defaults it falls back to.
final class TrainingBoosterSettingTests: XCTestCase {
    func testParsesFullAndShortForms() throws {
        let full = try XCTUnwrap(BoosterSetting(parsing: "5:20:0.02:0.7:0.6:3"))
        XCTAssertEqual(full, BoosterSetting(depth: 5, minChild: 20, eta: 0.02, subsample: 0.7, colsample: 0.6, lambda: 3))
        let short = try XCTUnwrap(BoosterSetting(parsing: "6:10"))
        XCTAssertEqual(short, BoosterSetting(depth: 6, minChild: 10))
        XCTAssertEqual(short.eta, 0.02)
        XCTAssertEqual(short.subsample, 0.8)
        XCTAssertEqual(short.colsample, 0.8)
        XCTAssertEqual(short.lambda, 1)
        XCTAssertEqual(BoosterSetting(parsing: " 4 : 5 : 0.1 "), BoosterSetting(depth: 4, minChild: 5, eta: 0.1))
    }

    func testRejectsMalformedSettings() {
        for text in ["", "5", "x:5", "5:x", "0:5", "5:-1", "5:5:0", "5:5:0.03:1.5", "5:5:0.03:0.8:0", "5:5:0.03:0.8:0.8:-1", "5:5:0.03:0.8:0.8:1:9"] {
            XCTAssertNil(BoosterSetting(parsing: Substring(text)), text)
        }
    }

    func testDescriptionNamesEveryVaryingParameter() {
        XCTAssertEqual(BoosterSetting(depth: 5, minChild: 20, eta: 0.03, subsample: 0.7, colsample: 0.6).description,
                       "max_depth=5, min_child_weight=20, eta=0.03, subsample=0.7, colsample_bytree=0.6, lambda=1.0")
        XCTAssertNil(TrainingOptions().boosterGrid)
        XCTAssertFalse(BoosterSetting.defaultGrid.isEmpty)
    }
}
