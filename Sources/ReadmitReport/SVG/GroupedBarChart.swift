/// One coloured series of a grouped bar chart.
struct BarSeries: Sendable, Equatable {
    var name: String
    var values: [Double]
    var color: String
}

/// Grouped vertical bars: one group per category or per numeric bin, one bar per series.
struct GroupedBarChart: Sendable {
    /// How groups are placed along x.
    enum Groups: Sendable, Equatable {
        /// Equal bands with these labels.
        case categories([String])
        /// Numeric bins with these ascending edges (count = groups + 1); x is a value axis.
        case edges([Double])
    }

    var id: String
    var title: String
    var summary: String
    var xLabel: String
    var yLabel: String
    var groups: Groups
    var series: [BarSeries]
    var yPercent = false
    var width: Double = 840
    var height: Double = 460

    var groupCount: Int {
        switch groups {
        case .categories(let c): return c.count
        case .edges(let e): return max(0, e.count - 1)
        }
    }

    /// Category labels are rotated when they would collide.
    var rotateLabels: Bool {
        guard case .categories(let c) = groups else { return false }
        let band = (width - 72 - 330) / Double(max(1, c.count))
        let longest = Double(c.map { min($0.count, 18) }.max() ?? 0)
        return longest * 7 > band
    }

    var area: PlotArea {
        let bottom: Double = rotateLabels ? 100 : 62
        return PlotArea(left: 72, top: 48, width: width - 72 - 330, height: height - 48 - bottom)
    }

    var yScale: LinearScale {
        let maxValue = series.flatMap(\.values).filter(\.isFinite).max() ?? 0
        return LinearScale(domain: 0...AxisTicks.niceUpper(maxValue), range: (area.bottom, area.top))
    }

    /// Pixel band [x0, x1) of group `i`.
    func band(_ i: Int) -> (Double, Double) {
        let a = area
        switch groups {
        case .categories(let c):
            let w = a.width / Double(max(1, c.count))
            return (a.left + Double(i) * w, a.left + Double(i + 1) * w)
        case .edges(let e):
            let xs = LinearScale(domain: (e.first ?? 0)...(e.last ?? 1), range: (a.left, a.right))
            return (xs(e[i]), xs(e[i + 1]))
        }
    }

    /// The SVG image.
    func svg(standalone: Bool) -> String {
        var svg = SVGWriter(width: width, height: height, id: id, title: title, summary: summary)
        let a = area, ys = yScale
        svg.text(16, 28, title, size: 16, bold: true)
        let yTicks = AxisTicks(lower: 0, upper: ys.domainUpper)
        a.drawYAxis(&svg, scale: ys, ticks: yTicks, label: yLabel, percent: yPercent)
        let groupNames: [String]
        switch groups {
        case .categories(let c):
            groupNames = c
            let rotate = rotateLabels
            for (i, name) in c.enumerated() {
                let (x0, x1) = band(i)
                let label = TextEscaping.truncate(name, 18)
                if rotate {
                    svg.text((x0 + x1) / 2 + 4, a.bottom + 14, label, anchor: "end", size: 11, rotate: -40)
                } else {
                    svg.text((x0 + x1) / 2, a.bottom + 18, label, anchor: "middle", size: 11)
                }
            }
            svg.line(a.left, a.bottom, a.right, a.bottom, stroke: Palette.ink)
            svg.text(a.left + a.width / 2, height - 12, xLabel, anchor: "middle", size: 12)
        case .edges(let e):
            groupNames = (0..<max(0, e.count - 1)).map {
                "\(NumberFormat.fixed(e[$0], 3))–\(NumberFormat.fixed(e[$0 + 1], 3))"
            }
            let lo = e.first ?? 0, hi = e.last ?? 1
            let xs = LinearScale(domain: lo...hi, range: (a.left, a.right))
            a.drawXAxis(&svg, scale: xs, ticks: AxisTicks(lower: lo, upper: hi, target: 8),
                        label: xLabel, grid: false)
        }
        let n = max(1, series.count)
        for g in 0..<groupCount {
            let (x0, x1) = band(g)
            let pad = (x1 - x0) * 0.1
            let barWidth = (x1 - x0 - 2 * pad) / Double(n)
            for (k, s) in series.enumerated() where g < s.values.count && s.values[g].isFinite {
                let v = s.values[g]
                let top = ys(v)
                let value = yPercent ? NumberFormat.percent(v, 1) : NumberFormat.fixed(v, 3)
                svg.rect(x0 + pad + Double(k) * barWidth, top, barWidth, a.bottom - top, fill: s.color,
                         label: "\(s.name), \(groupNames[g]): \(value)")
            }
        }
        let legend = series.map { LegendEntry(name: $0.name, color: $0.color, dash: nil, box: true) }
        LegendEntry.draw(&svg, legend, x: a.right + 20, y: a.top + 8)
        return svg.render(standalone: standalone)
    }
}
