import Foundation
import Testing
@testable import ReadmitReport

@Suite struct ReportWriterTests {
    static let expectedPlots = ["roc", "pr", "calibration", "risk_distribution", "gain", "lift", "top_factors",
                                "decision_curve", "subgroups", "feature_number_inpatient", "feature_age", "feature_A1Cresult"]

    func temporaryDirectory() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("readmit-report-\(UUID().uuidString)")
    }

    @Test func everyPlotIsWellFormedSVGWithTitle() throws {
        let report = try ReportWriter.render(ReportFixtures.sample())
        #expect(report.plots.map(\.name) == Self.expectedPlots)
        for p in report.plots {
            let xml = try #require(XMLElements.parse(p.svg), "plot \(p.name) is not well-formed")
            #expect(xml.elements.first?.name == "svg")
            #expect(xml.elements.first?.attributes["xmlns"] == "http://www.w3.org/2000/svg")
            #expect(!xml.named("title").isEmpty)
            #expect(XMLElements.parse(p.inlineSVG) != nil, "inline \(p.name) is not well-formed")
        }
    }

    @Test func htmlIsWellFormedSelfContainedAndEscaped() throws {
        let input = ReportFixtures.sample()
        let html = try ReportWriter.render(input).html
        let xml = try #require(XMLElements.parse(html), "report.html is not well-formed XML")
        // No network references of any kind, no scripts, no external style sheets or images.
        #expect(!html.contains("http://") && !html.contains("https://"))
        #expect(!html.contains("<script") && !html.contains("<link") && !html.contains("<img") && !html.contains("@import"))
        for a in xml.elements.compactMap({ $0.attributes["href"] ?? $0.attributes["src"] }) {
            #expect(a.hasPrefix("#") || a.hasPrefix("plots/"), "unexpected reference \(a)")
        }
        // The caller's text appears as text, never as markup.
        #expect(html.contains("&lt;test &amp; &quot;sample&quot;&gt;"))
        #expect(html.contains("&lt;b&gt;markup&lt;/b&gt;"))
        #expect(!html.contains("<b>"))
        #expect(xml.text.contains("<test & \"sample\">"))
        // Every plot is inlined, the served model's row is highlighted once per model table
        // (metrics, calibration intercept and slope).
        #expect(xml.named("svg").count == Self.expectedPlots.count)
        #expect(xml.elements.filter { $0.attributes["class"] == "served" }.count == 2)
        #expect(html.contains("<tr class=\"served\"><th scope=\"row\">Risk model (XGBoost, calibrated) <span class=\"tag\">served</span>"))
        #expect(html.contains("0.689–0.712"))
        // Element ids are unique across the inlined charts.
        let ids = xml.elements.compactMap { $0.attributes["id"] }
        #expect(Set(ids).count == ids.count)
    }

    /// Each subgroup's groups as the tiers flag them: one column group per tier above the
    /// lowest, and per group its share flagged, sensitivity and PPV with intervals; a subgroup
    /// table whose rows carry no tiers (an input written before them) has no such table.
    @Test func subgroupsSayWhatEachTierFlags() throws {
        let html = try ReportWriter.render(ReportFixtures.sample()).html
        let xml = try #require(XMLElements.parse(html))
        let caption = "Flagged by tier, by gender: sensitivity is the share of the group's readmissions flagged"
        #expect(html.components(separatedBy: caption).count == 2, "one tier table, for gender")
        #expect(!html.contains("Flagged by tier, by race"))
        #expect(html.contains("<th scope=\"colgroup\" colspan=\"5\">high &lt;t&gt; and above (risk ≥ 0.216)</th>"))
        #expect(html.contains("<tr><th scope=\"row\">Female</th><td class=\"num\">30.0%</td><td class=\"num\">0.542</td><td class=\"num\">0.510–0.574</td><td class=\"num\">0.212</td><td class=\"num\">0.187–0.218</td><td class=\"num\">10.1%</td><td class=\"num\">0.275</td>"))
        #expect(html.contains("<tr><th scope=\"row\">Unknown/Invalid &lt;x&gt;</th><td class=\"num\">0.0%</td><td class=\"num\">–</td><td class=\"num\">–</td>"))
        #expect(xml.text.contains("high <t> and above"))
    }

    /// A figure brings its own heading: a section must not repeat it above the figure (the
    /// report read "Decision curve" twice, and "Top risk factors" as its section and its figure).
    @Test func noHeadingRepeatsTheOneBeforeIt() throws {
        let html = try ReportWriter.render(ReportFixtures.sample()).html
        let heading = try Regex(#"<h[23][^>]*>(.*?)</h[23]>"#)
        let texts = html.matches(of: heading).map { String($0.output[1].substring ?? "") }
        #expect(texts.count > 20)
        for (a, b) in zip(texts, texts.dropFirst()) { #expect(a != b, "heading '\(a)' twice in a row") }
        #expect(texts.contains("Decision curve") && texts.contains("Top risk factors"))
    }

    /// An evaluation's report (`readmit evaluate --report`) says what it was measured on in its
    /// headings and chart titles, and leaves out the sections it has nothing for (risk factors,
    /// feature distributions, missing values) with their links.
    @Test func anEvaluationSaysWhatItMeasuredAndLeavesOutWhatItLacks() throws {
        var input = ReportFixtures.sample()
        input.evaluatedOn = "evaluated encounters"
        input.topRiskFactors = []
        input.featureDistributions = []
        input.missingness = []
        input.clinical?.ablation = []  // a retraining's: training's report only
        let report = try ReportWriter.render(input)
        #expect(!report.html.contains("test split"))
        #expect(report.html.contains("<h2>Model performance on the evaluated encounters</h2>"))
        #expect(report.html.contains("Evaluated encounters, prevalence: "))
        for name in ["roc", "pr", "calibration", "gain", "lift", "decision_curve", "subgroups"] {
            let plot = try #require(report.plots.first { $0.name == name })
            #expect(plot.svg.contains("evaluated encounters)</title>"), "\(name)")
        }
        #expect(!report.plots.contains { $0.name == "top_factors" || $0.name.hasPrefix("feature_") })
        for id in ["factors", "features"] {
            #expect(!report.html.contains("id=\"\(id)\"") && !report.html.contains("href=\"#\(id)\""), "\(id)")
        }
        // Training's report is unchanged by the option: its sections and titles as before.
        let training = try ReportWriter.render(ReportFixtures.sample())
        #expect(training.html.contains("<h2>Model performance on the test split</h2>") && training.html.contains("href=\"#factors\""))
        #expect(training.plots.first { $0.name == "roc" }?.svg.contains("ROC curves (test split)</title>") == true)
    }

    @Test func outputIsDeterministic() throws {
        let a = try ReportWriter.render(ReportFixtures.sample())
        let b = try ReportWriter.render(ReportFixtures.sample())
        #expect(a == b)
        let dirA = temporaryDirectory(), dirB = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dirA); try? FileManager.default.removeItem(at: dirB) }
        let filesA = try ReportWriter.write(ReportFixtures.sample(), to: dirA)
        let filesB = try ReportWriter.write(ReportFixtures.sample(), to: dirB)
        #expect(filesA.map(\.lastPathComponent) == filesB.map(\.lastPathComponent))
        for (x, y) in zip(filesA, filesB) {
            #expect(try Data(contentsOf: x) == Data(contentsOf: y), "\(x.lastPathComponent) differs")
        }
    }

    @Test func writesTheHTMLAndEveryPlotFile() throws {
        let dir = temporaryDirectory().appendingPathComponent("nested/output")
        defer { try? FileManager.default.removeItem(at: dir.deletingLastPathComponent().deletingLastPathComponent()) }
        let written = try ReportWriter.write(ReportFixtures.sample(), to: dir)
        #expect(written.count == 1 + Self.expectedPlots.count)
        let html = try String(contentsOf: dir.appendingPathComponent("report.html"), encoding: .utf8)
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        for name in Self.expectedPlots {
            let url = dir.appendingPathComponent("plots/\(name).svg")
            let svg = try String(contentsOf: url, encoding: .utf8)
            #expect(XMLElements.parse(svg) != nil, "\(name).svg")
        }
        // Every plot is one `readmit train` would remove as stale by its name, and no other name is.
        for plot in try ReportWriter.render(ReportFixtures.sample()).plots { #expect(ReportWriter.isPlotName(plot.name), "\(plot.name)") }
        #expect(!ReportWriter.isPlotName("my_sketch") && !ReportWriter.isPlotName("feature_") && !ReportWriter.isPlotName("rocs"))
    }

    @Test func unwritableDirectoryIsATypedError() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        // A regular file where the directory should be.
        try Data("x".utf8).write(to: dir)
        #expect(throws: ReportError.self) { try ReportWriter.write(ReportFixtures.sample(), to: dir) }
        do {
            try ReportWriter.write(ReportFixtures.sample(), to: dir)
        } catch {
            #expect(error.code == .cannotCreateDirectory)
            #expect(error.message.contains(dir.path))
        }
    }

    @Test func featureNamesBecomeSafeUniqueFileNames() throws {
        var input = ReportFixtures.sample()
        input.featureDistributions = [
            .categorical("a/b", levels: ["x"], positiveCounts: [1], negativeCounts: [1]),
            .categorical("a b", levels: ["x"], positiveCounts: [1], negativeCounts: [1]),
        ]
        let names = try ReportWriter.render(input).plots.map(\.name)
        #expect(names.suffix(2) == ["feature_a_b", "feature_a_b_2"])
    }
}
