import ReadmitCore
import XCTest

final class HistogramDetectorTests: XCTestCase {
    func testScoreIsTheSumOfExplainableTerms() {
        let schema = FeatureSchema(features: [
            FeatureSpec(name: "n", kind: .numeric, source: "n", transform: .number, missing: "", description: ""),
            FeatureSpec(name: "c", kind: .categorical, levels: ["a", "b"], source: "c", transform: .level, missing: "", description: ""),
        ])
        // n mostly near 1, c mostly "a".
        var values: [Double] = []
        for i in 0..<1000 { values += [Double(i % 3), i % 10 == 0 ? 1 : 0] }
        let d = HistogramDetector(schema: schema, training: FeatureMatrix(rows: 1000, columns: 2, values: values))
        let usual: [Double] = [1, 0], rareLevel: [Double] = [1, 1], outside: [Double] = [50, 0]
        usual.withUnsafeBufferPointer { u in
            XCTAssertEqual(d.score(u.baseAddress!), d.contribution(feature: 0, value: 1) + d.contribution(feature: 1, value: 0), accuracy: 1e-12)
        }
        XCTAssertGreaterThan(d.contribution(feature: 1, value: 1), d.contribution(feature: 1, value: 0))
        XCTAssertGreaterThan(d.contribution(feature: 0, value: 50), d.contribution(feature: 0, value: 1))
        XCTAssertGreaterThan(rareLevel.withUnsafeBufferPointer { d.score($0.baseAddress!) }, usual.withUnsafeBufferPointer { d.score($0.baseAddress!) })
        XCTAssertGreaterThan(outside.withUnsafeBufferPointer { d.score($0.baseAddress!) }, usual.withUnsafeBufferPointer { d.score($0.baseAddress!) })
        XCTAssertTrue(d.contribution(feature: 0, value: .nan).isFinite)
    }
}
