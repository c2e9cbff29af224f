/// One line of a line chart, in data coordinates.
struct LineSeries: Sendable, Equatable {
    var name: String
    var points: [CurvePoint]
    var color: String
    var width: Double = 2
    var dash: String? = nil
    var markers: Bool = false
    /// Shown in the legend; reference lines (chance, baselines) may opt out.
    var inLegend: Bool = true
}

/// Bars of record counts under a line chart's x axis (the reliability diagram's histogram).
struct CountStrip: Sendable, Equatable {
    var label: String
    /// (lower edge, upper edge, count) in the line chart's x coordinates.
    var bins: [(lower: Double, upper: Double, count: Int)]
    var color: String

    static func == (a: CountStrip, b: CountStrip) -> Bool {
        a.label == b.label && a.color == b.color && a.bins.count == b.bins.count
            && zip(a.bins, b.bins).allSatisfy { $0 == $1 }
    }
}

/// A multi-series line chart with a legend on the right and an optional count strip.
struct LineChart: Sendable {
    var id: String
    var title: String
    var summary: String
    var xLabel: String
    var yLabel: String
    var xDomain: ClosedRange<Double>
    var yDomain: ClosedRange<Double>
    var series: [LineSeries]
    var xPercent = false
    var yPercent = false
    var strip: CountStrip? = nil
    var width: Double = 840
    var height: Double = 480

    static let stripHeight: Double = 70
    static let stripGap: Double = 16

    /// Where the curves are drawn. The legend takes the right 330 px; a count strip takes
    /// space below the curves and carries the x axis labels.
    var area: PlotArea {
        let extra = strip == nil ? 0 : Self.stripHeight + Self.stripGap
        return PlotArea(left: 72, top: 48, width: width - 72 - 330, height: height - 48 - 62 - extra)
    }

    var xScale: LinearScale { LinearScale(domain: xDomain, range: (area.left, area.right)) }
    var yScale: LinearScale { LinearScale(domain: yDomain, range: (area.bottom, area.top)) }

    /// Pixel points of a series, dropping points closer than 0.75 px to the last kept one
    /// (a 20,000-threshold ROC curve would otherwise make a multi-megabyte SVG with no visible
    /// difference). The first and last points are always kept.
    func pixels(_ points: [CurvePoint]) -> [(Double, Double)] {
        let xs = xScale, ys = yScale
        var out: [(Double, Double)] = []
        out.reserveCapacity(min(points.count, 2_000))
        for (i, p) in points.enumerated() where p.x.isFinite && p.y.isFinite {
            let q = (xs(p.x), ys(p.y))
            if let last = out.last, i != points.count - 1 {
                let dx = q.0 - last.0, dy = q.1 - last.1
                if dx * dx + dy * dy < 0.75 * 0.75 { continue }
            }
            out.append(q)
        }
        return out
    }

    /// The SVG image.
    func svg(standalone: Bool) -> String {
        var svg = SVGWriter(width: width, height: height, id: id, title: title, summary: summary)
        let a = area
        let xTicks = AxisTicks(lower: xDomain.lowerBound, upper: xDomain.upperBound)
        let yTicks = AxisTicks(lower: yDomain.lowerBound, upper: yDomain.upperBound)
        svg.text(16, 28, title, size: 16, bold: true)
        a.drawYAxis(&svg, scale: yScale, ticks: yTicks, label: yLabel, percent: yPercent)
        a.drawXAxis(&svg, scale: xScale, ticks: xTicks, label: xLabel, percent: xPercent,
                    tickLabels: strip == nil)
        let clip = svg.clipRect("clip", a.left, a.top, a.width, a.height)
        // Draw in reverse so the first series (the served model) ends up on top.
        for s in series.reversed() {
            svg.polyline(pixels(s.points), stroke: s.color, width: s.width, dash: s.dash, clipID: clip)
            if s.markers {
                for p in s.points where p.x.isFinite && p.y.isFinite
                    && xDomain.contains(p.x) && yDomain.contains(p.y) {
                    svg.circle(xScale(p.x), yScale(p.y), r: 3.5, fill: s.color,
                               label: "\(s.name): \(NumberFormat.fixed(p.x, 3)), \(NumberFormat.fixed(p.y, 3))")
                }
            }
        }
        if let strip { drawStrip(&svg, strip, xTicks: xTicks) }
        let legend = series.filter(\.inLegend).map {
            LegendEntry(name: $0.name, color: $0.color, dash: $0.dash, box: false)
        }
        LegendEntry.draw(&svg, legend, x: a.right + 20, y: a.top + 8)
        return svg.render(standalone: standalone)
    }

    private func drawStrip(_ svg: inout SVGWriter, _ strip: CountStrip, xTicks: AxisTicks) {
        let a = area
        let sa = PlotArea(left: a.left, top: a.bottom + Self.stripGap, width: a.width, height: Self.stripHeight)
        let maxCount = strip.bins.map(\.count).max() ?? 0
        let upper = AxisTicks.niceUpper(Double(max(1, maxCount)), target: 2)
        let ys = LinearScale(domain: 0...upper, range: (sa.bottom, sa.top))
        let xs = xScale
        for b in strip.bins where b.count > 0 {
            let x0 = xs(max(b.lower, xDomain.lowerBound)), x1 = xs(min(b.upper, xDomain.upperBound))
            svg.rect(x0 + 1, ys(Double(b.count)), max(0, x1 - x0 - 2), sa.bottom - ys(Double(b.count)),
                     fill: strip.color, opacity: 0.6,
                     label: "\(NumberFormat.fixed(b.lower, 2))–\(NumberFormat.fixed(b.upper, 2)): n = \(NumberFormat.grouped(b.count))")
        }
        let countTicks = AxisTicks(lower: 0, upper: upper, target: 2)
        sa.drawYAxis(&svg, scale: ys, ticks: countTicks, label: "n", labelOffset: 52)
        sa.drawXAxis(&svg, scale: xs, ticks: xTicks, label: xLabel, percent: xPercent, grid: false)
        svg.text(sa.right + 20, sa.top + sa.height / 2 + 4, TextEscaping.truncate(strip.label, 44), size: 11)
    }
}
