import Testing
@testable import ReadmitReport

@Suite struct ValidationTests {
    func expectInvalid(_ mutate: (inout ReportInput) -> Void, mentioning word: String) {
        var input = ReportFixtures.sample(n: 200)
        mutate(&input)
        do {
            _ = try ReportWriter.render(input)
            Issue.record("expected invalidInput mentioning \(word)")
        } catch {
            #expect(error.code == .invalidInput)
            #expect(error.message.contains(word), "\(error.message)")
        }
    }

    @Test func rejectsInconsistentInputNamingTheField() {
        expectInvalid({ $0.servedModelKey = "nope" }, mentioning: "nope")
        expectInvalid({ $0.models[1].key = $0.models[0].key }, mentioning: "duplicate")
        expectInvalid({ $0.models = [] }, mentioning: "models")
        expectInvalid({ $0.models[2].roc[3] = CurvePoint(.nan, 0) }, mentioning: "logistic_regression' roc point 3")
        expectInvalid({ $0.prevalence = 1.5 }, mentioning: "prevalence")
        expectInvalid({ $0.missingness[0].fraction = -0.1 }, mentioning: "weight")
        expectInvalid({ $0.featureDistributions[0].positiveCounts.removeLast() }, mentioning: "number_inpatient")
        expectInvalid({ $0.featureDistributions[0].binEdges = [0, 2, 1, 3, 5, 10, 21] }, mentioning: "ascending")
        expectInvalid({ $0.featureDistributions[1].levels.removeLast() }, mentioning: "age")
        expectInvalid({ $0.topRiskFactors[0].importance = .infinity }, mentioning: "number_inpatient")
    }

    @Test func servedModelWithoutHistogramSkipsOnlyThatPlot() throws {
        var input = ReportFixtures.sample(n: 200)
        input.models[3].scoreHistogram = nil
        let names = try ReportWriter.render(input).plots.map(\.name)
        #expect(!names.contains("risk_distribution"))
        #expect(names.contains("calibration"))
    }
}
