import Foundation
import ReadmitCore
@testable import ReadmitModelFile
@testable import ReadmitTraining
import XCTest

/// The model card training writes: every part present, the spec's statements carried over,
/// and the figures those of this very run; a spec that states nothing says so.
final class ModelCardTests: XCTestCase {
    func testCardCarriesTheSpecStatementsAndThisRunsFigures() throws {
        let (result, model, _) = try TestSupport.smallModel.get()
        let card = try XCTUnwrap(model.parameters.modelCard, "the model file holds the card")
        XCTAssertEqual(card, result.parameters.modelCard)
        XCTAssertEqual(card.sections.map(\.title), ["Intended use", "Cohort and exclusions", "Data source and dates", "Features",
                                                    "Training and evaluation design", "Performance on the test patients", "Known limits"])
        let text = card.markdown(title: "t")
        let stated = try XCTUnwrap(result.parameters.dataset.modelCard)
        for s in [stated.intendedUse, stated.dataSource, stated.period].compactMap({ $0 }) + stated.limitations {
            XCTAssertTrue(text.contains(s), s)
        }
        let auc = String(format: "%.3f", result.evaluations[0].metrics.rocAUC)
        XCTAssertTrue(text.contains("ROC AUC \(auc) ("), text)
        XCTAssertTrue(text.contains(result.clinical.atypicality.verdict))
        XCTAssertTrue(text.contains("\(ModelCardWriter.count(result.cohort.testEncounters)) test encounters"))
        XCTAssertTrue(text.contains("with \(result.parameters.trainingSummary["rounds"] ?? "?") rounds"))
    }

    func testAModelFileWithoutACardStillLoads() throws {
        let (result, _, _) = try TestSupport.smallModel.get()
        var p = result.parameters
        p.modelCard = nil
        let bytes = try ModelFile.encode(p)
        XCTAssertLessThan(bytes.count, try result.modelFile.fileBytes().count, "no card written")
        XCTAssertNil(try ModelFile.decode(bytes).modelCard)
        XCTAssertEqual(try ModelFile.modelID(of: p), result.parameters.metadata.modelID, "the card is not part of the id")
    }

    func testCountsHaveThousandsSeparators() {
        XCTAssertEqual(ModelCardWriter.count(0), "0")
        XCTAssertEqual(ModelCardWriter.count(999), "999")
        XCTAssertEqual(ModelCardWriter.count(1_000), "1,000")
        XCTAssertEqual(ModelCardWriter.count(101_766), "101,766")
        XCTAssertEqual(ModelCardWriter.count(-1_234_567), "-1,234,567")
    }
}
