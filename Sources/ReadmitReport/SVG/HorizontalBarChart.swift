/// Horizontal bars with labels on the left and the value at each bar's end (top risk factors).
struct HorizontalBarChart: Sendable {
    var id: String
    var title: String
    var summary: String
    var valueLabel: String
    var labels: [String]
    var values: [Double]
    var color: String = Palette.series[0]
    var width: Double = 760

    static let rowHeight: Double = 24
    var height: Double { 48 + Double(max(1, labels.count)) * Self.rowHeight + 62 }
    var area: PlotArea {
        PlotArea(left: 260, top: 48, width: width - 260 - 80, height: Double(max(1, labels.count)) * Self.rowHeight)
    }

    /// Value axis; includes 0 and extends to negative values when there are any.
    var xScale: LinearScale {
        let finite = values.filter(\.isFinite)
        let hi = AxisTicks.niceUpper(finite.max() ?? 0)
        let minValue = finite.min() ?? 0
        let lo = minValue < 0 ? -AxisTicks.niceUpper(-minValue) : 0
        return LinearScale(domain: lo...max(hi, lo + 1e-12), range: (area.left, area.right))
    }

    /// The SVG image.
    func svg(standalone: Bool) -> String {
        var svg = SVGWriter(width: width, height: height, id: id, title: title, summary: summary)
        let a = area, xs = xScale
        svg.text(16, 28, title, size: 16, bold: true)
        let ticks = AxisTicks(lower: xs.domainLower, upper: xs.domainUpper)
        a.drawXAxis(&svg, scale: xs, ticks: ticks, label: valueLabel)
        let zero = xs(0)
        for (i, label) in labels.enumerated() {
            let y = a.top + Double(i) * Self.rowHeight
            svg.text(a.left - 8, y + Self.rowHeight / 2 + 4, TextEscaping.truncate(label, 36), anchor: "end", size: 12)
            guard i < values.count, values[i].isFinite else { continue }
            let x = xs(values[i])
            let text = NumberFormat.fixed(values[i], 3)
            svg.rect(min(zero, x), y + 4, abs(x - zero), Self.rowHeight - 8, fill: color,
                     label: "\(label): \(text)")
            svg.text(max(zero, x) + 4, y + Self.rowHeight / 2 + 4, text, size: 11)
        }
        svg.line(zero, a.top, zero, a.bottom, stroke: Palette.ink)
        return svg.render(standalone: standalone)
    }
}
