import ReadmitParallel

/// One finished chart of the report.
public struct RenderedPlot: Sendable, Equatable {
    /// File stem: the plot is written as `plots/<name>.svg`.
    public var name: String
    /// Heading shown above the plot.
    public var title: String
    /// One-sentence reading guide shown under the plot.
    public var caption: String
    /// Complete SVG file (XML declaration and namespace).
    public var svg: String
    /// The same image for inlining in HTML (no declaration, namespace implied).
    public var inlineSVG: String
}

/// Builds the report's charts from its input.
enum ReportPlots {
    /// All plots in report order. Assumes `ReportValidation.check(input)` passed.
    static func make(_ input: ReportInput) -> [RenderedPlot] {
        let served = input.models.first { $0.key == input.servedModelKey } ?? input.models[0]
        // The served model first: first colour, thickest line, drawn on top.
        let ordered = [served] + input.models.filter { $0.key != served.key }
        let scope = input.evaluatedOn
        // Each chart is drawn independently (on all cores); the list keeps report order.
        var builders: [@Sendable () -> RenderedPlot] = [
            { roc(ordered, served, scope) }, { precisionRecall(ordered, served, input.prevalence, scope) }, { calibration(ordered, served, scope) },
        ]
        if let h = served.scoreHistogram {
            builders.append { riskDistribution(served, h, input) }
        }
        builders += [{ gain(ordered, served, input.prevalence, scope) }, { lift(ordered, served, scope) }]
        if !input.topRiskFactors.isEmpty { builders.append { topFactors(input) } }
        var used: Set<String> = ["roc", "pr", "calibration", "gain", "lift", "top_factors"]  // top_factors: reserved even when absent
        if let clinical = input.clinical {
            builders.append { decisionCurve(ordered, served, clinical, input.prevalence, scope) }
            used.insert("decision_curve")
            if !clinical.subgroups.isEmpty {
                builders.append { subgroups(clinical.subgroups, scope) }
                used.insert("subgroups")
            }
        }
        if served.scoreHistogram != nil { used.insert("risk_distribution") }
        for d in input.featureDistributions {
            var name = "feature_" + TextEscaping.fileSafe(d.feature)
            // Two features can map to one file-safe name; number the later ones.
            if used.contains(name) {
                var k = 2
                while used.contains("\(name)_\(k)") { k += 1 }
                name = "\(name)_\(k)"
            }
            used.insert(name)
            let fileName = name
            builders.append { feature(d, name: fileName, input: input) }
        }
        return concurrentMap(builders.count) { k in builders[k]() }.compactMap { $0 }
    }

    private static func plot(_ name: String, _ title: String, _ caption: String,
                             _ render: (Bool) -> String) -> RenderedPlot {
        // The inline form is the file form without the XML declaration and namespace (see
        // SVGWriter.render): cut from the one rendering instead of drawing the chart twice.
        let svg = render(true)
        let inline = SVGWriter.inlineForm(ofStandalone: svg) ?? render(false)
        return RenderedPlot(name: name, title: title, caption: caption, svg: svg, inlineSVG: inline)
    }

    private static func style(_ i: Int, _ m: ModelCurves, _ served: ModelCurves) -> (String, Double) {
        (Palette.series[i % Palette.series.count], m.key == served.key ? 3 : 1.75)
    }

    /// A display name short enough that the legend keeps the metric after it.
    private static func short(_ m: ModelCurves) -> String { TextEscaping.truncate(m.displayName, 30) }

    private static func f3(_ x: Double) -> String { NumberFormat.fixed(x, 3) }

    static func roc(_ models: [ModelCurves], _ served: ModelCurves, _ scope: String) -> RenderedPlot {
        var series = models.enumerated().map { i, m in
            let (color, width) = style(i, m, served)
            return LineSeries(name: "\(short(m)) (AUC \(f3(m.metrics.rocAUC)))", points: m.roc,
                              color: color, width: width)
        }
        series.append(LineSeries(name: "Chance", points: [CurvePoint(0, 0), CurvePoint(1, 1)],
                                 color: Palette.reference, width: 1.25, dash: "6 4"))
        let chart = LineChart(
            id: "plot-roc", title: "ROC curves (\(scope))",
            summary: "ROC curves of \(models.count) models; served model \(served.displayName) has ROC AUC \(f3(served.metrics.rocAUC)).",
            xLabel: "False-positive rate", yLabel: "True-positive rate",
            xDomain: 0...1, yDomain: 0...1, series: series)
        return plot("roc", "ROC curves", "True-positive against false-positive rate over all thresholds; the dashed diagonal is a random ranking.", chart.svg)
    }

    static func precisionRecall(_ models: [ModelCurves], _ served: ModelCurves, _ prevalence: Double, _ scope: String) -> RenderedPlot {
        var series = models.enumerated().map { i, m in
            let (color, width) = style(i, m, served)
            return LineSeries(name: "\(short(m)) (AP \(f3(m.metrics.prAUC)))", points: m.precisionRecall,
                              color: color, width: width)
        }
        series.append(LineSeries(name: "Prevalence (\(f3(prevalence)))",
                                 points: [CurvePoint(0, prevalence), CurvePoint(1, prevalence)],
                                 color: Palette.reference, width: 1.25, dash: "6 4"))
        let chart = LineChart(
            id: "plot-pr", title: "Precision-recall curves (\(scope))",
            summary: "Precision against recall of \(models.count) models; the baseline is the prevalence \(f3(prevalence)).",
            xLabel: "Recall", yLabel: "Precision", xDomain: 0...1, yDomain: 0...1, series: series)
        return plot("pr", "Precision-recall curves", "Precision against recall; the dashed line is the precision of a random ranking (the prevalence).", chart.svg)
    }

    static func calibration(_ models: [ModelCurves], _ served: ModelCurves, _ scope: String) -> RenderedPlot {
        let calibrated = models.enumerated().filter { !$0.element.reliability.isEmpty }
        let maxValue = calibrated.flatMap { $0.element.reliability.filter { $0.count > 0 } }
            .flatMap { [$0.meanPredicted, $0.observedRate] }.max() ?? 1
        // Readmission risks sit well below 1; a full 0-1 square would squeeze the curve.
        let upper = min(1, AxisTicks.niceUpper(maxValue * 1.05))
        var series = calibrated.map { i, m in
            let (color, width) = style(i, m, served)
            let pts = m.reliability.filter { $0.count > 0 }.map { CurvePoint($0.meanPredicted, $0.observedRate) }
            let ece = m.metrics.ece.map { " (ECE \(f3($0)))" } ?? ""
            return LineSeries(name: short(m) + ece, points: pts, color: color, width: width, markers: true)
        }
        series.append(LineSeries(name: "Perfect calibration", points: [CurvePoint(0, 0), CurvePoint(1, 1)],
                                 color: Palette.reference, width: 1.25, dash: "6 4"))
        // The served model's per-bin 95% intervals of the observed rate, as whiskers.
        for b in served.reliability where b.count > 0 {
            guard let ci = b.observedInterval else { continue }
            series.append(LineSeries(name: "", points: [CurvePoint(b.meanPredicted, min(ci.lower, upper)), CurvePoint(b.meanPredicted, min(ci.upper, upper))],
                                     color: Palette.series[0], width: 1.25, inLegend: false))
        }
        let strip = CountStrip(
            label: "Records per bin (served model)",
            bins: served.reliability.map { ($0.lower, $0.upper, $0.count) }, color: Palette.series[0])
        let chart = LineChart(
            id: "plot-calibration", title: "Calibration (reliability diagram, \(scope))",
            summary: "Observed readmission rate against mean predicted probability per bin for \(calibrated.count) probabilistic models.",
            xLabel: "Mean predicted probability", yLabel: "Observed rate",
            xDomain: 0...upper, yDomain: 0...upper, series: series,
            strip: served.reliability.isEmpty ? nil : strip, height: 560)
        let whiskers = served.reliability.contains { $0.observedInterval != nil } ? " Whiskers: 95% interval (Wilson, its sample size adjusted for patients' repeated stays) of the served model's observed rate per bin." : ""
        return plot("calibration", "Calibration", "Observed rate against mean predicted probability per bin; points on the diagonal are well calibrated. Bars: records per bin of the served model. Models whose score is not a probability are left out." + whiskers, chart.svg)
    }

    static func decisionCurve(_ models: [ModelCurves], _ served: ModelCurves, _ c: ClinicalInput, _ prevalence: Double, _ scope: String) -> RenderedPlot {
        let t = c.thresholds
        let values = models.compactMap { c.netBenefit[$0.key] }.flatMap { $0 }.filter(\.isFinite)
        let upper = AxisTicks.niceUpper(max(prevalence, values.max() ?? 0) * 1.1)
        // Below a small negative floor a strategy does harm; the chart stops there (treat-all
        // falls far below zero at high thresholds).
        let floor = -0.25 * upper
        func line(_ ys: [Double]) -> [CurvePoint] {
            zip(t, ys).filter { $0.1.isFinite && $0.1 >= floor }.map { CurvePoint($0.0, $0.1) }
        }
        var series = models.enumerated().compactMap { i, m -> LineSeries? in
            guard let nb = c.netBenefit[m.key] else { return nil }
            let (color, width) = style(i, m, served)
            return LineSeries(name: short(m), points: line(nb), color: color, width: width)
        }
        series.append(LineSeries(name: "Treat all", points: line(c.treatAll), color: Palette.reference, width: 1.5, dash: "2 3"))
        series.append(LineSeries(name: "Treat none", points: t.map { CurvePoint($0, 0) }, color: Palette.reference, width: 1.25, dash: "6 4"))
        let chart = LineChart(
            id: "plot-decision_curve", title: "Decision curve (\(scope))",
            summary: "Net benefit of acting on each model's risk over threshold probabilities from \(NumberFormat.percent(t.first ?? 0, 0)) to \(NumberFormat.percent(t.last ?? 0, 0)), against treating everyone or no one.",
            xLabel: "Threshold probability", yLabel: "Net benefit (true positives per patient)",
            xDomain: (t.first ?? 0)...(t.last ?? 1), yDomain: floor...upper, series: series, xPercent: true)
        return plot("decision_curve", "Decision curve", "Net benefit of treating the patients whose risk is at least the threshold, a false positive weighing threshold/(1-threshold) of a true positive; a model is useful where its curve lies above both treat-all and treat-none.", chart.svg)
    }

    /// Observed against mean predicted rate per subgroup: one marker colour per feature, the
    /// observed rate's 95% interval as a whisker, the diagonal as perfect calibration.
    static func subgroups(_ tables: [SubgroupTable], _ scope: String) -> RenderedPlot {
        // The axes fit the points; a tiny group's whisker (up to 0.8 for one patient) is cut at the edge.
        let values = tables.flatMap { $0.groups.flatMap { [$0.meanPredicted, $0.observedRate] } }.filter(\.isFinite)
        let upper = min(1, AxisTicks.niceUpper(max(values.max() ?? 1, 0.01) * 1.25))
        var series: [LineSeries] = []
        for (i, t) in tables.enumerated() {
            let color = Palette.series[i % Palette.series.count]
            let points = t.groups.filter { $0.meanPredicted.isFinite && $0.observedRate.isFinite }.map { CurvePoint($0.meanPredicted, $0.observedRate) }
            // Markers only: the groups of a feature have no order to join.
            series.append(LineSeries(name: "by \(TextEscaping.truncate(t.feature, 30)) (\(t.groups.count) groups)", points: points, color: color,
                                     width: 0, markers: true))
            for g in t.groups {
                guard let ci = g.observedInterval, g.meanPredicted.isFinite else { continue }
                series.append(LineSeries(name: "", points: [CurvePoint(g.meanPredicted, min(ci.lower, upper)), CurvePoint(g.meanPredicted, min(ci.upper, upper))],
                                         color: color, width: 1, inLegend: false))
            }
        }
        series.append(LineSeries(name: "Perfect calibration", points: [CurvePoint(0, 0), CurvePoint(1, 1)],
                                 color: Palette.reference, width: 1.25, dash: "6 4"))
        let chart = LineChart(
            id: "plot-subgroups", title: "Observed against predicted by subgroup (\(scope))",
            summary: "Observed readmission rate against mean predicted risk for each group of \(tables.count) subgroup features.",
            xLabel: "Mean predicted risk", yLabel: "Observed rate", xDomain: 0...upper, yDomain: 0...upper, series: series)
        return plot("subgroups", "Calibration by subgroup", "Each marker is one group (the tables below name them); whiskers: 95% interval of its observed rate, cut at the chart's edge. Points on the diagonal are calibrated for their group.", chart.svg)
    }

    static func riskDistribution(_ served: ModelCurves, _ h: ScoreHistogram, _ input: ReportInput) -> RenderedPlot {
        let chart = GroupedBarChart(
            id: "plot-risk_distribution", title: "Predicted risk by outcome (\(TextEscaping.truncate(served.displayName, 40)))",
            summary: "Distribution of the served model's predicted risk on the \(input.evaluatedOn), as a share of each outcome group.",
            xLabel: "Predicted risk", yLabel: "Share of outcome group",
            groups: binGroups(h.binEdges),
            series: outcomeSeries(h.positiveCounts, h.negativeCounts, input), yPercent: true)
        return plot("risk_distribution", "Risk score distribution", "Each outcome group as a share of its own size; the further apart the two shapes, the better the separation.", chart.svg)
    }

    static func gain(_ models: [ModelCurves], _ served: ModelCurves, _ prevalence: Double, _ scope: String) -> RenderedPlot {
        var series = models.enumerated().map { i, m in
            let (color, width) = style(i, m, served)
            return LineSeries(name: m.displayName, points: m.cumulativeGain, color: color, width: width)
        }
        series.append(LineSeries(name: "Perfect ranking", points: [CurvePoint(0, 0), CurvePoint(prevalence, 1), CurvePoint(1, 1)],
                                 color: Palette.reference, width: 1.25, dash: "2 3"))
        series.append(LineSeries(name: "Random", points: [CurvePoint(0, 0), CurvePoint(1, 1)],
                                 color: Palette.reference, width: 1.25, dash: "6 4"))
        let chart = LineChart(
            id: "plot-gain", title: "Cumulative gain (\(scope))",
            summary: "Share of all readmissions captured when targeting the highest-risk share of patients, for \(models.count) models.",
            xLabel: "Share of patients targeted (highest risk first)", yLabel: "Share of readmissions captured",
            xDomain: 0...1, yDomain: 0...1, series: series, xPercent: true, yPercent: true)
        return plot("gain", "Cumulative gain", "Share of readmissions captured when the highest-risk share of patients is targeted.", chart.svg)
    }

    static func lift(_ models: [ModelCurves], _ served: ModelCurves, _ scope: String) -> RenderedPlot {
        // Lift is noise below 1% of the population (a handful of records), so it starts there.
        let minShare = 0.01
        let lifts = models.map { m in
            m.cumulativeGain.filter { $0.x >= minShare }.map { CurvePoint($0.x, $0.y / $0.x) }
        }
        let upper = AxisTicks.niceUpper(max(1.5, lifts.flatMap { $0.map(\.y) }.max() ?? 1))
        var series = models.enumerated().map { i, m in
            let (color, width) = style(i, m, served)
            return LineSeries(name: m.displayName, points: lifts[i], color: color, width: width)
        }
        series.append(LineSeries(name: "Random (lift 1)", points: [CurvePoint(0, 1), CurvePoint(1, 1)],
                                 color: Palette.reference, width: 1.25, dash: "6 4"))
        let chart = LineChart(
            id: "plot-lift", title: "Lift (\(scope))",
            summary: "Readmission rate among the targeted share divided by the overall rate, for \(models.count) models.",
            xLabel: "Share of patients targeted (highest risk first)", yLabel: "Lift over random",
            xDomain: 0...1, yDomain: 0...upper, series: series, xPercent: true)
        return plot("lift", "Lift", "How many times the overall readmission rate is found among the targeted patients (from 1% targeted).", chart.svg)
    }

    static func topFactors(_ input: ReportInput) -> RenderedPlot {
        let chart = HorizontalBarChart(
            id: "plot-top_factors", title: "Top risk factors (served model)",
            summary: "The \(input.topRiskFactors.count) most important features of the served model by \(input.riskFactorMeasure).",
            valueLabel: input.riskFactorMeasure,
            labels: input.topRiskFactors.map(\.feature), values: input.topRiskFactors.map(\.importance))
        return plot("top_factors", "In the served model", "Features ranked by \(input.riskFactorMeasure) in the served model; importance is association in this model, not causation.", chart.svg)
    }

    static func feature(_ d: FeatureDistribution, name: String, input: ReportInput) -> RenderedPlot {
        let groups: GroupedBarChart.Groups = d.kind == .numeric ? binGroups(d.binEdges) : .categories(d.levels)
        let chart = GroupedBarChart(
            id: "plot-\(name)", title: "\(TextEscaping.truncate(d.feature, 50)) by outcome",
            summary: "Distribution of \(d.feature) in each outcome group, as a share of the group.",
            xLabel: d.feature, yLabel: "Share of outcome group",
            groups: groups, series: outcomeSeries(d.positiveCounts, d.negativeCounts, input), yPercent: true)
        return plot(name, "\(d.feature) by outcome", "Share of each outcome group per \(d.kind == .numeric ? "bin" : "level").", chart.svg)
    }

    /// Equal-width bins get a value axis. Unequal bins (e.g. 0, 1, 2, 3-4, 5-9, 10+) get equal
    /// bands labelled by interval: on a value axis a wide tail bin would look like a large
    /// share, because bars show each bin's share, not a density.
    static func binGroups(_ edges: [Double]) -> GroupedBarChart.Groups {
        let widths = zip(edges, edges.dropFirst()).map { $1 - $0 }
        let first = widths.first ?? 1
        if widths.allSatisfy({ abs($0 - first) <= 1e-9 * max(1, abs(first)) }) { return .edges(edges) }
        return .categories((0..<widths.count).map { i in
            let close = i == widths.count - 1 ? "]" : ")"
            return "[\(NumberFormat.coord(edges[i])), \(NumberFormat.coord(edges[i + 1]))\(close)"
        })
    }

    /// Positive and negative counts as shares of their own group totals.
    private static func outcomeSeries(_ pos: [Int], _ neg: [Int], _ input: ReportInput) -> [BarSeries] {
        func shares(_ c: [Int]) -> [Double] {
            let total = c.reduce(0, +)
            return c.map { total > 0 ? Double($0) / Double(total) : 0 }
        }
        return [
            BarSeries(name: "\(input.positiveLabel) (n=\(NumberFormat.grouped(pos.reduce(0, +))))",
                      values: shares(pos), color: Palette.positive),
            BarSeries(name: "\(input.negativeLabel) (n=\(NumberFormat.grouped(neg.reduce(0, +))))",
                      values: shares(neg), color: Palette.negative),
        ]
    }
}
