/// The rectangle inside the margins where data is drawn, and the axis drawing around it.
struct PlotArea: Sendable, Equatable {
    var left: Double
    var top: Double
    var width: Double
    var height: Double
    var right: Double { left + width }
    var bottom: Double { top + height }

    /// Horizontal value axis: grid lines, ticks and labels below `bottom`, caption below them.
    func drawXAxis(_ svg: inout SVGWriter, scale: LinearScale, ticks: AxisTicks, label: String,
                   percent: Bool = false, grid: Bool = true, tickLabels: Bool = true) {
        for v in ticks.values {
            let x = scale(v)
            if grid { svg.line(x, top, x, bottom, stroke: Palette.grid) }
            svg.line(x, bottom, x, bottom + 5, stroke: Palette.ink)
            if tickLabels {
                svg.text(x, bottom + 18, Self.tickText(v, ticks, percent), anchor: "middle", size: 11)
            }
        }
        svg.line(left, bottom, right, bottom, stroke: Palette.ink)
        if tickLabels { svg.text(left + width / 2, bottom + 40, label, anchor: "middle", size: 12) }
    }

    /// Vertical value axis: grid lines, ticks and labels left of `left`, rotated caption.
    func drawYAxis(_ svg: inout SVGWriter, scale: LinearScale, ticks: AxisTicks, label: String,
                   percent: Bool = false, labelOffset: Double = 52) {
        for v in ticks.values {
            let y = scale(v)
            svg.line(left, y, right, y, stroke: Palette.grid)
            svg.line(left - 5, y, left, y, stroke: Palette.ink)
            svg.text(left - 8, y + 4, Self.tickText(v, ticks, percent), anchor: "end", size: 11)
        }
        svg.line(left, top, left, bottom, stroke: Palette.ink)
        svg.text(left - labelOffset, top + height / 2, label, anchor: "middle", size: 12, rotate: -90)
    }

    /// A tick label; percentages drop two decimals because the value is scaled by 100.
    static func tickText(_ v: Double, _ ticks: AxisTicks, _ percent: Bool) -> String {
        percent ? NumberFormat.fixed(v * 100, max(0, ticks.decimals - 2)) + "%"
            : NumberFormat.fixed(v, ticks.decimals)
    }
}

/// A legend entry: a colour sample and a name.
struct LegendEntry: Sendable, Equatable {
    var name: String
    var color: String
    var dash: String?
    var box: Bool

    /// Draws entries one under another starting at (x, y).
    static func draw(_ svg: inout SVGWriter, _ entries: [LegendEntry], x: Double, y: Double,
                     maxChars: Int = 44) {
        for (i, e) in entries.enumerated() {
            let cy = y + Double(i) * 20
            if e.box {
                svg.rect(x, cy - 6, 14, 12, fill: e.color, legend: true)
            } else {
                svg.line(x, cy, x + 22, cy, stroke: e.color, width: 3, dash: e.dash)  // a line: never counted as data
            }
            svg.text(x + 28, cy + 4, TextEscaping.truncate(e.name, maxChars), size: 12)
        }
    }
}
