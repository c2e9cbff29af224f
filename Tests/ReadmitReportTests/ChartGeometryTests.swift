import Testing
@testable import ReadmitReport

/// Known inputs must land on hand-computed pixels (plot area: left 72, top 48; line chart
/// 438 x 370 px, bar chart 438 x 350 px).
@Suite struct ChartGeometryTests {
    @Test func lineChartPointsMapToExpectedPixels() throws {
        let chart = LineChart(
            id: "t", title: "T", summary: "S", xLabel: "x", yLabel: "y", xDomain: 0...1, yDomain: 0...1,
            series: [LineSeries(name: "a", points: [CurvePoint(0, 0), CurvePoint(0.5, 0.25), CurvePoint(1, 1)], color: "#000000")])
        let xml = try #require(XMLElements.parse(chart.svg(standalone: true)))
        let lines = xml.named("polyline")
        #expect(lines.count == 1)
        #expect(lines.first?["points"] == "72,418 291,325.5 510,48")
    }

    @Test func lineChartDropsSubPixelPointsButKeepsEnds() throws {
        let pts = (0...10_000).map { CurvePoint(Double($0) / 10_000, Double($0) / 10_000) }
        let chart = LineChart(id: "t", title: "T", summary: "S", xLabel: "x", yLabel: "y",
                              xDomain: 0...1, yDomain: 0...1, series: [LineSeries(name: "a", points: pts, color: "#000000")])
        let xml = try #require(XMLElements.parse(chart.svg(standalone: true)))
        let coords = try #require(xml.named("polyline").first?["points"]).split(separator: " ")
        #expect(coords.count < 1_000)
        #expect(coords.first == "72,418")
        #expect(coords.last == "510,48")
    }

    @Test func groupedBarsMapToExpectedRectangles() throws {
        let chart = GroupedBarChart(
            id: "t", title: "T", summary: "S", xLabel: "x", yLabel: "y",
            groups: .categories(["a", "b"]), series: [BarSeries(name: "s", values: [0.5, 1.0], color: "#123456")])
        let xml = try #require(XMLElements.parse(chart.svg(standalone: true)))
        let bars = xml.named("rect").filter { $0["fill"] == "#123456" && $0["height"] != "12" }
        #expect(bars.count == 2)
        // Band 0 is 72..291; 10% padding each side; value 0.5 of a 0..1 axis over 350 px.
        #expect(bars[0]["x"] == "93.9")
        #expect(bars[0]["y"] == "223")
        #expect(bars[0]["width"] == "175.2")
        #expect(bars[0]["height"] == "175")
        #expect(bars[1]["x"] == "312.9")
        #expect(bars[1]["y"] == "48")
        #expect(bars[1]["height"] == "350")
    }

    @Test func histogramBinsFollowTheirEdges() throws {
        let chart = GroupedBarChart(
            id: "t", title: "T", summary: "S", xLabel: "x", yLabel: "y",
            groups: .edges([0, 1, 3]), series: [BarSeries(name: "s", values: [1, 1], color: "#123456")])
        // Unequal bins: [0,1] is a third of the axis, [1,3] two thirds.
        #expect(chart.band(0) == (72, 218))
        #expect(chart.band(1) == (218, 510))
    }

    @Test func horizontalBarsStartAtZeroAndHandleNegatives() throws {
        let chart = HorizontalBarChart(id: "t", title: "T", summary: "S", valueLabel: "v",
                                       labels: ["up", "down"], values: [0.5, -0.5], color: "#123456")
        let xml = try #require(XMLElements.parse(chart.svg(standalone: true)))
        let bars = xml.named("rect").filter { $0["fill"] == "#123456" }
        // Axis -0.5..0.5 over 260..680: zero at 470, each bar 210 px wide on its side.
        #expect(bars.map { $0["x"] } == ["470", "260"])
        #expect(bars.map { $0["width"] } == ["210", "210"])
    }
}

@Suite struct BinLayoutTests {
    @Test func equalBinsGetAValueAxisUnequalBinsGetLabelledBands() {
        #expect(ReportPlots.binGroups([0, 0.5, 1]) == .edges([0, 0.5, 1]))
        #expect(ReportPlots.binGroups([0, 1, 2, 5, 21]) == .categories(["[0, 1)", "[1, 2)", "[2, 5)", "[5, 21]"]))
    }
}
