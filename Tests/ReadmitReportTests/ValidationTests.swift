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
        expectInvalid({ $0.clinical?.treatAll.removeLast() }, mentioning: "treatAll")
        expectInvalid({ $0.clinical?.netBenefit["risk_model"]?.removeLast() }, mentioning: "netBenefit of 'risk_model'")
        expectInvalid({ $0.clinical?.thresholds[0] = 0.9 }, mentioning: "ascending")
        expectInvalid({ $0.clinical?.calibration[0].modelKey = "gone" }, mentioning: "'gone'")
        expectInvalid({ $0.clinical?.subgroups[0].groups[0].events = 20_000 }, mentioning: "group 'Female'")
        expectInvalid({ $0.clinical?.subgroups[0].groups[0].patients = 10_501 }, mentioning: "10501 patients for 10500 encounters")
    }

    /// The clinical section renders its tables, the decision curve and the verdict (escaped),
    /// and a report without it has neither the section nor the plot.
    @Test func clinicalSectionIsRenderedOnlyWhenGiven() throws {
        let with = try ReportWriter.render(ReportFixtures.sample(n: 300))
        #expect(with.plots.contains { $0.name == "decision_curve" })
        #expect(with.html.contains("id=\"clinical\"") && with.html.contains("id=\"fig-decision_curve\""))
        #expect(with.html.contains("larger error &lt;here&gt;."))
        #expect(with.html.contains("0.943") && with.html.contains("0.886–1.006"))
        // A one-patient subgroup is shown, its missing figures as dashes, its name escaped.
        #expect(with.plots.contains { $0.name == "subgroups" } && with.html.contains("id=\"subgroups\""))
        #expect(with.html.contains("<th scope=\"row\">Unknown/Invalid &lt;x&gt;</th><td class=\"num\">1</td><td class=\"num\">–</td>"))  // patients not given
        #expect(with.html.contains("<th scope=\"row\">Female</th><td class=\"num\">10,500</td><td class=\"num\">8,000</td><td class=\"num\">1,230</td>"))
        // A column's table says where its groups come from; a feature's heading is its name alone.
        #expect(with.html.contains("<h3>By race &lt;r&gt; <span class=\"small\">(grouped by the patients table's column as written)</span></h3>"))
        #expect(with.html.contains("<h3>By gender</h3>"))
        // The ablation table: each group's figures and signed differences, its name escaped.
        #expect(with.html.contains("id=\"ablation\"") && with.html.contains("<th scope=\"row\">Without earlier stays &lt;h&gt;</th><td>prior_encounters, prev_number_inpatient</td><td class=\"num\">0.6712</td><td class=\"num\">0.09521</td><td class=\"num\">+0.0246</td><td class=\"num\">+0.00071</td>"))
        #expect(with.html.contains("<td class=\"num\">-0.0003</td><td class=\"num\">-0.00001</td>"))
        var input = ReportFixtures.sample(n: 300)
        input.clinical = nil
        let without = try ReportWriter.render(input)
        #expect(!without.plots.contains { $0.name == "decision_curve" || $0.name == "subgroups" })
        #expect(!without.html.contains("id=\"clinical\"") && !without.html.contains("id=\"ablation\""))
    }

    /// The model card comes first, linked from the navigation, each item escaped; a report
    /// without a card has no such section.
    @Test func modelCardIsRenderedFirstWhenGiven() throws {
        var input = ReportFixtures.sample(n: 200)
        input.modelCard = [ModelCardSection(title: "Intended use", items: ["Research <only>."]),
                           ModelCardSection(title: "Known limits", items: ["Old data.", "One region & one vendor."])]
        let html = try ReportWriter.render(input).html
        #expect(html.contains("<a href=\"#model-card\">Model card</a>"))
        #expect(html.contains("<h3>Intended use</h3>\n<ul>\n<li>Research &lt;only&gt;.</li>"))
        #expect(html.contains("<li>One region &amp; one vendor.</li>"))
        let card = try #require(html.range(of: "id=\"model-card\""))
        let cohort = try #require(html.range(of: "id=\"cohort\""))
        #expect(card.lowerBound < cohort.lowerBound)
        input.modelCard = nil
        let without = try ReportWriter.render(input).html
        #expect(!without.contains("model-card"))
    }

    @Test func servedModelWithoutHistogramSkipsOnlyThatPlot() throws {
        var input = ReportFixtures.sample(n: 200)
        input.models[3].scoreHistogram = nil
        let names = try ReportWriter.render(input).plots.map(\.name)
        #expect(!names.contains("risk_distribution"))
        #expect(names.contains("calibration"))
    }
}
