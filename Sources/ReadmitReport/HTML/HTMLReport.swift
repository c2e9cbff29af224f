/// Renders the self-contained report page: inline CSS, inline SVG, no scripts and no
/// external resources, so it opens offline and can be mailed as a single file.
enum HTMLReport {
    private typealias F = NumberFormat

    private static func e(_ s: String) -> String { TextEscaping.escape(s) }

    static func render(_ input: ReportInput, plots: [RenderedPlot]) -> String {
        var h = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n"
        h += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n"
        h += "<title>\(e(input.title))</title>\n<style>\n\(css)</style>\n</head>\n<body>\n<main>\n"
        h += "<h1>\(e(input.title))</h1>\n"
        h += "<p class=\"meta\">Generated \(e(input.generatedAt))</p>\n"
        h += "<p>\(e(input.datasetDescription))</p>\n"
        let card = input.modelCard ?? []
        let hasFeatures = !input.missingness.isEmpty || !input.featureDistributions.isEmpty
        h += "<nav>\(card.isEmpty ? "" : "<a href=\"#model-card\">Model card</a> · ")<a href=\"#cohort\">Cohort</a> · <a href=\"#metrics\">Metrics</a> · <a href=\"#curves\">Curves</a> · \(input.clinical == nil ? "" : "<a href=\"#clinical\">Calibration, net benefit, atypicality</a> · ")\(input.clinical?.subgroups.isEmpty ?? true ? "" : "<a href=\"#subgroups\">Subgroups</a> · ")\(input.clinical?.ablation.isEmpty ?? true ? "" : "<a href=\"#ablation\">Feature groups</a> · ")\(input.topRiskFactors.isEmpty ? "" : "<a href=\"#factors\">Risk factors</a> · ")\(hasFeatures ? "<a href=\"#features\">Features</a> · " : "")<a href=\"#notes\">Notes</a> · <a href=\"#model-file\">Model file</a></nav>\n"

        if !card.isEmpty { h += modelCardSection(card) }
        h += "<section id=\"cohort\">\n<h2>Cohort</h2>\n" + summaryTable(input.cohortSummary) + "</section>\n"
        h += "<section id=\"metrics\">\n<h2>Model performance on the \(e(input.evaluatedOn))</h2>\n" + metricsTable(input) + "</section>\n"

        let byName = Dictionary(plots.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        h += "<section id=\"curves\">\n<h2>Curves</h2>\n<div class=\"grid\">\n"
        for name in ["roc", "pr", "calibration", "risk_distribution", "gain", "lift"] {
            if let p = byName[name] { h += figure(p) }
        }
        h += "</div>\n</section>\n"
        if let clinical = input.clinical {
            h += clinicalSection(clinical, input: input, plot: byName["decision_curve"])
            if !clinical.subgroups.isEmpty { h += subgroupSection(clinical.subgroups, plot: byName["subgroups"], scope: input.evaluatedOn) }
            if !clinical.ablation.isEmpty { h += ablationSection(clinical.ablation, served: input.models.first?.metrics) }
        }
        if let p = byName["top_factors"] { h += "<section id=\"factors\">\n<h2>Top risk factors</h2>\n" + figure(p) + "</section>\n" }

        if hasFeatures {
            h += "<section id=\"features\">\n<h2>Features</h2>\n"
            if !input.missingness.isEmpty { h += "<h3>Missing values</h3>\n" + missingnessTable(input.missingness) }
            if !input.featureDistributions.isEmpty {
                h += "<h3>Distributions by outcome</h3>\n<div class=\"grid\">\n"
                for p in plots where p.name.hasPrefix("feature_") { h += figure(p) }
                h += "</div>\n"
            }
            h += "</section>\n"
        }

        h += "<section id=\"notes\">\n<h2>Notes and caveats</h2>\n<ul>\n"
        for n in input.notes { h += "<li>\(e(n))</li>\n" }
        h += "</ul>\n</section>\n"
        h += "<section id=\"model-file\">\n<h2>Model file</h2>\n" + summaryTable(input.modelFileInfo) + "</section>\n"
        h += "<footer>Every chart is also saved as <code>plots/&lt;name&gt;.svg</code> next to this page.</footer>\n"
        h += "</main>\n</body>\n</html>\n"
        return h
    }

    /// The model card: what the model is for, its cohort, data, design, figures and limits, as
    /// training wrote them into the model file (the same text `INFO` returns).
    static func modelCardSection(_ card: [ModelCardSection]) -> String {
        var h = "<section id=\"model-card\">\n<h2>Model card</h2>\n"
        h += "<p class=\"small\">Written by training into the model file; the daemon's <code>INFO</code> returns the same text.</p>\n"
        for s in card {
            h += "<h3>\(e(s.title))</h3>\n<ul>\n"
            for item in s.items { h += "<li>\(e(item))</li>\n" }
            h += "</ul>\n"
        }
        return h + "</section>\n"
    }

    static func summaryTable(_ rows: [SummaryRow]) -> String {
        var t = "<table class=\"summary\">\n<tbody>\n"
        for r in rows { t += "<tr><th scope=\"row\">\(e(r.label))</th><td>\(e(r.value))</td></tr>\n" }
        return t + "</tbody>\n</table>\n"
    }

    static func metricsTable(_ input: ReportInput) -> String {
        var t = "<table class=\"metrics\">\n<thead><tr><th scope=\"col\">Model</th><th scope=\"col\">Key</th>"
        for c in ["ROC AUC", "95% CI", "PR AUC", "Brier", "ECE", "Precision at top 10%", "Recall at top 10%"] {
            t += "<th scope=\"col\" class=\"num\">\(c)</th>"
        }
        t += "</tr></thead>\n<tbody>\n"
        for m in input.models {
            let served = m.key == input.servedModelKey
            let x = m.metrics
            let ci = x.rocAUCInterval.map { "\(F.fixed($0.lower, 3))–\(F.fixed($0.upper, 3))" } ?? "–"
            t += served ? "<tr class=\"served\">" : "<tr>"
            t += "<th scope=\"row\">\(e(m.displayName))\(served ? " <span class=\"tag\">served</span>" : "")</th>"
            t += "<td><code>\(e(m.key))</code></td>"
            for v in [F.fixed(x.rocAUC, 3), ci, F.fixed(x.prAUC, 3),
                      x.brier.map { F.fixed($0, 4) } ?? "–", x.ece.map { F.fixed($0, 4) } ?? "–",
                      F.fixed(x.precisionAt10Pct, 3), F.fixed(x.recallAt10Pct, 3)] {
                t += "<td class=\"num\">\(e(v))</td>"
            }
            t += "</tr>\n"
        }
        t += "</tbody>\n</table>\n"
        t += "<p class=\"small\">Brier and ECE are shown only for scores that are probabilities (–: not applicable). \(e(input.evaluatedOn.prefix(1).uppercased() + input.evaluatedOn.dropFirst())), prevalence: \(F.fixed(input.prevalence, 4)).</p>\n"
        return t
    }

    /// Calibration intercept and slope, the decision curve with net benefit at the tiers, and
    /// performance by atypicality third with the verdict.
    static func clinicalSection(_ c: ClinicalInput, input: ReportInput, plot: RenderedPlot?) -> String {
        func num(_ x: Double, _ d: Int) -> String { x.isFinite ? F.fixed(x, d) : "–" }
        func ci(_ i: ConfidenceInterval?, _ d: Int) -> String { i.map { "\(num($0.lower, d))–\(num($0.upper, d))" } ?? "–" }
        let names = Dictionary(input.models.map { ($0.key, $0.displayName) }, uniquingKeysWith: { a, _ in a })
        var h = "<section id=\"clinical\">\n<h2>Calibration, net benefit and atypicality</h2>\n<h3>Calibration intercept and slope</h3>\n"
        h += "<table class=\"metrics\">\n<thead><tr><th scope=\"col\">Model</th>"
        for col in ["Intercept (ideal 0)", "95% CI", "Slope (ideal 1)", "95% CI"] { h += "<th scope=\"col\" class=\"num\">\(col)</th>" }
        h += "</tr></thead>\n<tbody>\n"
        for row in c.calibration {
            h += row.modelKey == input.servedModelKey ? "<tr class=\"served\">" : "<tr>"
            h += "<th scope=\"row\">\(e(names[row.modelKey] ?? row.modelKey))</th>"
            for v in [num(row.intercept, 3), ci(row.interceptInterval, 3), num(row.slope, 3), ci(row.slopeInterval, 3)] {
                h += "<td class=\"num\">\(e(v))</td>"
            }
            h += "</tr>\n"
        }
        h += "</tbody>\n</table>\n"
        h += "<p class=\"small\">Logistic recalibration of the test outcomes on the logit of each model's risk: the intercept with the slope fixed at 1 (calibration-in-the-large; negative: risks too high on average) and the slope (below 1: risks too extreme; above 1: too modest). Intervals: patient bootstrap, 95%.</p>\n"
        // The figure carries its own "Decision curve" heading; the tier table below needs one
        // only when there is no figure.
        if let plot { h += figure(plot) } else { h += "<h3>Decision curve</h3>\n" }
        if !c.atTiers.isEmpty {
            h += "<table class=\"metrics\">\n<thead><tr><th scope=\"col\">Act on tier and above</th><th scope=\"col\" class=\"num\">Threshold</th>"
            h += "<th scope=\"col\" class=\"num\">Net benefit: risk model</th><th scope=\"col\" class=\"num\">Treat all</th><th scope=\"col\" class=\"num\">Treat none</th></tr></thead>\n<tbody>\n"
            for r in c.atTiers {
                h += "<tr><th scope=\"row\">\(e(r.tier))</th><td class=\"num\">\(F.percent(r.threshold, 1))</td><td class=\"num\">\(num(r.model, 4))</td>"
                h += "<td class=\"num\">\(num(r.treatAll, 4))</td><td class=\"num\">0</td></tr>\n"
            }
            h += "</tbody>\n</table>\n"
        }
        h += "<h3>Does atypicality go with larger error?</h3>\n<table class=\"metrics\">\n<thead><tr><th scope=\"col\">Test patients by atypicality</th>"
        for col in ["Atypicality", "n", "Events", "Observed", "Mean predicted", "|Obs − pred|", "ROC AUC", "Brier", "Scaled Brier"] { h += "<th scope=\"col\" class=\"num\">\(col)</th>" }
        h += "</tr></thead>\n<tbody>\n"
        for g in c.atypicalityGroups {
            h += "<tr><th scope=\"row\">\(e(g.name))</th>"
            for v in ["\(num(g.lowest, 3))–\(num(g.highest, 3))", F.grouped(g.count), F.grouped(g.events), num(g.observedRate, 4), num(g.meanPredicted, 4),
                      num(g.calibrationError, 4), num(g.rocAUC, 3), num(g.brier, 4), num(g.scaledBrier, 3)] {
                h += "<td class=\"num\">\(e(v))</td>"
            }
            h += "</tr>\n"
        }
        h += "</tbody>\n</table>\n<p class=\"small\">Scaled Brier score: 1 − Brier / (o(1 − o)) with o the third's observed rate, the share of the outcome's variance the risk explains. The raw Brier score grows with the event rate, so it cannot compare groups readmitted at different rates. The finding below is read from the scaled score.</p>\n<p>\(e(c.atypicalityVerdict))</p>\n"
        if let v = c.interval { h += intervalTables(v) }
        return h + "</section>\n"
    }

    /// The risk intervals: coverage by tenth of predicted risk, and error by third of width.
    static func intervalTables(_ v: IntervalInput) -> String {
        func num(_ x: Double, _ d: Int) -> String { x.isFinite ? F.fixed(x, d) : "–" }
        var h = "<h3 id=\"intervals\">Per-patient risk intervals (Venn-Abers)</h3>\n"
        h += "<p class=\"small\">Every served risk comes with an interval from the calibration patients (docs/PROTOCOL.md, \u{201C}Risk intervals\u{201D}). A patient's true probability is never observed, so this measures what can be: within each tenth of predicted risk, the share of its patients whose interval holds the tenth's observed rate (coverage), and whether wider intervals go with larger calibration error.</p>\n"
        h += "<table class=\"metrics\">\n<thead><tr><th scope=\"col\">Tenth of predicted risk</th>"
        for col in ["n", "Events", "Observed", "Mean predicted", "Mean interval", "Coverage"] { h += "<th scope=\"col\" class=\"num\">\(col)</th>" }
        h += "</tr></thead>\n<tbody>\n"
        for (i, b) in v.bins.enumerated() {
            h += "<tr><th scope=\"row\">\(i + 1)</th>"
            for cell in [F.grouped(b.count), F.grouped(b.events), num(b.observedRate, 4), num(b.meanPredicted, 4),
                         "\(num(b.meanLow, 4))–\(num(b.meanHigh, 4))", b.coverage.isFinite ? F.percent(b.coverage, 1) : "–"] {
                h += "<td class=\"num\">\(e(cell))</td>"
            }
            h += "</tr>\n"
        }
        h += "</tbody>\n</table>\n<table class=\"metrics\">\n<thead><tr><th scope=\"col\">Evaluated patients by interval width</th>"
        for col in ["Width", "Mean width", "n", "Events", "Observed", "Mean predicted", "Calibration error", "Brier"] { h += "<th scope=\"col\" class=\"num\">\(col)</th>" }
        h += "</tr></thead>\n<tbody>\n"
        for g in v.widthGroups {
            h += "<tr><th scope=\"row\">\(e(g.name))</th>"
            for cell in ["\(num(g.narrowest, 4))–\(num(g.widest, 4))", num(g.meanWidth, 4), F.grouped(g.count), F.grouped(g.events),
                         num(g.observedRate, 4), num(g.meanPredicted, 4), num(g.calibrationError, 4), num(g.brier, 4)] {
                h += "<td class=\"num\">\(e(cell))</td>"
            }
            h += "</tr>\n"
        }
        h += "</tbody>\n</table>\n<p class=\"small\">Calibration error: the size-weighted mean of |observed − mean predicted| over five risk bins within the third.</p>\n"
        return h + "<p>\(e(v.verdict))</p>\n"
    }

    /// One table per subgroup feature, every group shown with its intervals, and the chart.
    static func subgroupSection(_ tables: [SubgroupTable], plot: RenderedPlot?, scope: String) -> String {
        func num(_ x: Double, _ d: Int) -> String { x.isFinite ? F.fixed(x, d) : "–" }
        func ci(_ i: ConfidenceInterval?, _ d: Int) -> String {
            guard let i, i.lower.isFinite, i.upper.isFinite else { return "–" }
            return "\(num(i.lower, d))–\(num(i.upper, d))"
        }
        var h = "<section id=\"subgroups\">\n<h2>Performance by subgroup (\(e(scope)))</h2>\n"
        h += "<p class=\"small\">Every group is shown, however small: read its intervals (patient bootstrap, 95%; observed rate: Wilson, its sample size adjusted for patients' repeated stays). –: not computable (one outcome only, or for an interval one patient only: every resample holds the same stays). Calibration-in-the-large: negative when the model predicts too high a risk for the group.</p>\n"
        if let plot { h += figure(plot) }
        for t in tables {
            let source = t.columnTable.map { " <span class=\"small\">(grouped by the \(e($0)) table's column as written)</span>" } ?? ""
            h += "<h3>By \(e(t.feature))\(source)</h3>\n<table class=\"metrics\">\n<thead><tr><th scope=\"col\">Group</th>"
            for col in ["n", "Patients", "Events", "Observed", "95% CI", "Mean predicted", "ROC AUC", "95% CI", "Calibration-in-the-large", "95% CI"] {
                h += "<th scope=\"col\" class=\"num\">\(col)</th>"
            }
            h += "</tr></thead>\n<tbody>\n"
            for g in t.groups {
                h += "<tr><th scope=\"row\">\(e(g.name))</th>"
                for v in [F.grouped(g.count), g.patients.map(F.grouped) ?? "–", F.grouped(g.events), num(g.observedRate, 4), ci(g.observedInterval, 3), num(g.meanPredicted, 4),
                          num(g.rocAUC, 3), ci(g.rocAUCInterval, 3), num(g.intercept, 3), ci(g.interceptInterval, 3)] {
                    h += "<td class=\"num\">\(e(v))</td>"
                }
                h += "</tr>\n"
            }
            h += "</tbody>\n</table>\n"
            h += subgroupTierTable(t, num: num, ci: ci)
        }
        return h + "</section>\n"
    }

    /// What the model's tiers flag in each group of one subgroup table (nothing when the
    /// input has no tiers): per tier, the share flagged, sensitivity and PPV with intervals.
    static func subgroupTierTable(_ t: SubgroupTable, num: (Double, Int) -> String, ci: (ConfidenceInterval?, Int) -> String) -> String {
        guard let tiers = t.groups.first?.atTiers, !tiers.isEmpty, t.groups.allSatisfy({ $0.atTiers?.count == tiers.count }) else { return "" }
        var h = "<table class=\"metrics\">\n<caption>Flagged by tier, by \(e(t.feature)): sensitivity is the share of the group's readmissions flagged "
            + "(a group far below another has its readmissions missed more often); PPV the share of its flagged stays readmitted</caption>\n"
        h += "<thead><tr><td></td>"
        for tier in tiers {
            h += "<th scope=\"colgroup\" colspan=\"5\">\(e(tier.tier)) and above (risk ≥ \(num(tier.threshold, 3)))</th>"
        }
        h += "</tr>\n<tr><th scope=\"col\">Group</th>"
        for _ in tiers {
            for col in ["Flagged", "Sensitivity", "95% CI", "PPV", "95% CI"] { h += "<th scope=\"col\" class=\"num\">\(col)</th>" }
        }
        h += "</tr></thead>\n<tbody>\n"
        for g in t.groups {
            h += "<tr><th scope=\"row\">\(e(g.name))</th>"
            for f in g.atTiers ?? [] {
                let share = f.flaggedShare.isFinite ? F.percent(f.flaggedShare, 1) : "–"
                for v in [share, num(f.sensitivity, 3), ci(f.sensitivityInterval, 3), num(f.ppv, 3), ci(f.ppvInterval, 3)] {
                    h += "<td class=\"num\">\(e(v))</td>"
                }
            }
            h += "</tr>\n"
        }
        return h + "</tbody>\n</table>\n"
    }

    /// What each feature group adds: the served model against the model retrained without it.
    static func ablationSection(_ rows: [AblationRow], served: ModelMetrics?) -> String {
        func num(_ x: Double?, _ d: Int) -> String { x.map { $0.isFinite ? F.fixed($0, d) : "–" } ?? "–" }
        func signed(_ x: Double, _ d: Int) -> String { x.isFinite ? (x > 0 ? "+" : "") + F.fixed(x, d) : "–" }
        var h = "<section id=\"ablation\">\n<h2>What each feature group adds (test split)</h2>\n"
        h += "<p class=\"small\">Each row is the booster trained again without one group (its columns missing in every row), with the served model's hyperparameters, rounds and seed, Platt-calibrated on the same calibration patients. A group adds what the served model gains over that row: ROC AUC higher, Brier score lower. The anomaly scores keep reading every feature. Differences under about 0.005 in ROC AUC are within the noise of one test split.</p>\n"
        h += "<table class=\"metrics\">\n<thead><tr><th scope=\"col\">Model</th><th scope=\"col\">Features withheld</th>"
        for col in ["ROC AUC", "Brier", "ROC AUC added", "Brier reduced"] { h += "<th scope=\"col\" class=\"num\">\(col)</th>" }
        h += "</tr></thead>\n<tbody>\n"
        if let served {
            h += "<tr><th scope=\"row\">Served model (every feature)</th><td>none</td><td class=\"num\">\(num(served.rocAUC, 4))</td><td class=\"num\">\(num(served.brier, 5))</td><td class=\"num\">–</td><td class=\"num\">–</td></tr>\n"
        }
        for r in rows {
            h += "<tr><th scope=\"row\">Without \(e(r.group))</th><td>\(e(r.features.joined(separator: ", ")))</td>"
            for v in [num(r.rocAUC, 4), num(r.brier, 5), signed(r.aucAdded, 4), signed(r.brierReduced, 5)] { h += "<td class=\"num\">\(e(v))</td>" }
            h += "</tr>\n"
        }
        return h + "</tbody>\n</table>\n</section>\n"
    }

    static func missingnessTable(_ rows: [MissingnessRow]) -> String {
        var t = "<table class=\"missing\">\n<thead><tr><th scope=\"col\">Feature</th><th scope=\"col\" class=\"num\">Missing</th><th scope=\"col\"></th></tr></thead>\n<tbody>\n"
        for r in rows {
            let width = F.fixed(min(1, max(0, r.fraction)) * 100, 1)
            t += "<tr><th scope=\"row\">\(e(r.feature))</th><td class=\"num\">\(F.percent(r.fraction, 1))</td>"
            t += "<td><span class=\"bar\" style=\"width:\(width)%\"></span></td></tr>\n"
        }
        return t + "</tbody>\n</table>\n"
    }

    static func figure(_ p: RenderedPlot) -> String {
        "<figure id=\"fig-\(p.name)\">\n<h3>\(e(p.title))</h3>\n\(p.inlineSVG)<figcaption>\(e(p.caption)) <a href=\"plots/\(p.name).svg\">plots/\(p.name).svg</a></figcaption>\n</figure>\n"
    }

    static let css = """
        body { margin: 0; background: #F7F7F7; color: #222; font: 15px/1.45 "DejaVu Sans", Helvetica, Arial, sans-serif; }
        main { max-width: 1600px; margin: 0 auto; padding: 24px; }
        h1 { margin: 0 0 4px; font-size: 26px; }
        h2 { margin-top: 36px; border-bottom: 2px solid #0072B2; padding-bottom: 4px; }
        .meta, .small, figcaption { color: #555; font-size: 13px; }
        nav { margin: 12px 0; }
        a { color: #0062A0; }
        table { border-collapse: collapse; background: #FFF; margin: 8px 0; }
        th, td { padding: 5px 10px; border-bottom: 1px solid #DDD; text-align: left; vertical-align: top; }
        thead th { background: #EEE; }
        td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
        tr.served { background: #FFF1CC; font-weight: bold; }
        .tag { font-size: 11px; background: #0072B2; color: #FFF; border-radius: 3px; padding: 1px 5px; }
        .bar { display: inline-block; height: 10px; background: #0072B2; }
        table.missing td:last-child { width: 200px; }
        .grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 760px), 1fr)); gap: 16px; }
        figure { margin: 0; background: #FFF; padding: 12px; border: 1px solid #DDD; }
        figure h3 { margin: 0 0 6px; font-size: 16px; }
        figure svg { width: 100%; height: auto; max-width: 840px; display: block; }
        footer { margin-top: 36px; color: #555; font-size: 13px; }

        """
}
