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

    /// A bad grid names the item and the field that is wrong, as bad input must.
    func testGridErrorsNameTheItemAndField() throws {
        XCTAssertEqual(try BoosterSetting.parsedGrid("4:5, 6:10:0.05"), [BoosterSetting(depth: 4, minChild: 5), BoosterSetting(depth: 6, minChild: 10, eta: 0.05)])
        let cases: [(String, String)] = [
            ("4:5,5:x", "item 2 of 2: '5:x': min_child_weight 'x' is not a whole number from 0 to 1000000"),
            ("4:5,,6:10", "item 2 of 3: '' has 1 field; expected 2 to 6"),
            ("4.5:5", "item 1 of 1: '4.5:5': depth '4.5' is not a whole number from 1 to 16"),
            ("4:5:0.02:0.8:0.8:1:9", "item 1 of 1: '4:5:0.02:0.8:0.8:1:9' has 7 fields"),
            ("4:5:0.02:1.5", "item 1 of 1: '4:5:0.02:1.5': subsample '1.5' is not a number from 0.05 to 1.0"),
            ("4:5:nan", "item 1 of 1: '4:5:nan': eta 'nan' is not a number from 0.001 to 1.0"),
        ]
        for (text, prefix) in cases {
            XCTAssertThrowsError(try BoosterSetting.parsedGrid(text), text) { error in
                let message = (error as? BoosterSettingParseError)?.message ?? "\(error)"
                XCTAssertTrue(message.hasPrefix(prefix), "\(text): \(message)")
            }
        }
    }

    func testDescriptionNamesEveryVaryingParameter() {
        XCTAssertEqual(BoosterSetting(depth: 5, minChild: 20, eta: 0.03, subsample: 0.7, colsample: 0.6).description,
                       "max_depth=5, min_child_weight=20, eta=0.03, subsample=0.7, colsample_bytree=0.6, lambda=1.0")
        XCTAssertNil(TrainingOptions().boosterGrid)
        XCTAssertFalse(BoosterSetting.defaultGrid.isEmpty)
    }

    /// The default grid is the one chosen on leak-free validation figures (benchmarks/train/README.md):
    /// `--booster-grid` with this text searches the same settings.
    func testDefaultGridIsTheOneChosenOnValidation() throws {
        XCTAssertEqual(BoosterSetting.defaultGrid,
                       try BoosterSetting.parsedGrid("5:5:0.02:0.8:0.5,6:10:0.02:0.8:0.5,5:5:0.02:0.8:0.3,6:10:0.02:0.8:0.3"))
        XCTAssertEqual(Set(BoosterSetting.defaultGrid.map(\.eta)), [0.02])
        XCTAssertEqual(Set(BoosterSetting.defaultGrid.map(\.subsample)), [0.8])
    }
}
