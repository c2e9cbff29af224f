import Foundation
import Testing
@testable import ReadmitReport

@Suite struct FormattingTests {
    @Test func fixedRoundsHalfAwayAndNeverPrintsNegativeZero() {
        #expect(NumberFormat.fixed(0.1235, 3) == "0.124")
        #expect(NumberFormat.fixed(2.5, 0) == "3")
        #expect(NumberFormat.fixed(-0.0004, 3) == "0.000")
        #expect(NumberFormat.fixed(-1.25, 1) == "-1.3")
        #expect(NumberFormat.fixed(0.05, 2) == "0.05")
        #expect(NumberFormat.fixed(.nan, 2) == "n/a")
        #expect(NumberFormat.coord(12.50) == "12.5")
        #expect(NumberFormat.coord(40) == "40")
        #expect(NumberFormat.grouped(19597) == "19,597")
        #expect(NumberFormat.grouped(-1234567) == "-1,234,567")
        #expect(NumberFormat.percent(0.1137, 2) == "11.37%")
    }

    /// The digit-by-digit coordinate equals the fixed-then-trimmed form it replaces.
    @Test func coordEqualsFixedWithTrailingZerosTrimmed() {
        func reference(_ x: Double) -> String {
            var s = NumberFormat.fixed(x.isFinite ? x : 0, 2)
            if s.contains(".") {
                while s.hasSuffix("0") { s.removeLast() }
                if s.hasSuffix(".") { s.removeLast() }
            }
            return s
        }
        var values: [Double] = [0, -0.0, 0.004, -0.004, 0.005, -0.005, 0.1, 0.05, 1.005, 12.5, 40, -40, 99.995, 1e15, -123456.789, .nan, .infinity]
        var state: UInt64 = 42
        for _ in 0..<20_000 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            values.append((Double(state >> 11) / Double(1 << 53) - 0.5) * pow(10, Double(state % 9)))
        }
        for v in values { #expect(NumberFormat.coord(v) == reference(v), "\(v)") }
    }

    @Test func inlineFormIsTheStandaloneRenderingWithoutDeclarationAndNamespace() {
        var w = SVGWriter(width: 100, height: 50, id: "t", title: "T", summary: "S")
        w.line(0, 0, 10, 10, stroke: "#000")
        #expect(SVGWriter.inlineForm(ofStandalone: w.render(standalone: true)) == w.render(standalone: false))
        #expect(SVGWriter.inlineForm(ofStandalone: "<svg>") == nil)
    }

    @Test func escapingCoversMarkupQuotesAndControlCharacters() {
        #expect(TextEscaping.escape("a<b>&\"c'") == "a&lt;b&gt;&amp;&quot;c&#39;")
        #expect(TextEscaping.escape("x\u{01}y") == "x\u{FFFD}y")
        #expect(TextEscaping.escape("tab\tok") == "tab\tok")
        #expect(TextEscaping.fileSafe("discharge/disp id=1") == "discharge_disp_id_1")
        #expect(TextEscaping.truncate("abcdef", 4) == "abc…")
    }

    @Test func ticksAreNiceAndCoverTheDomain() {
        let unit = AxisTicks(lower: 0, upper: 1)
        #expect(unit.values.map { NumberFormat.fixed($0, 1) } == ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"])
        #expect(unit.decimals == 1)
        let big = AxisTicks(lower: 0, upper: 8700)
        #expect(big.values == [0, 2000, 4000, 6000, 8000])
        #expect(AxisTicks.niceUpper(8700) == 10000)
        #expect(AxisTicks.niceUpper(0.37) == 0.4)
        #expect(AxisTicks.niceUpper(0) == 1)
    }

    @Test func scaleMapsDomainOntoPixelsIncludingReversedRanges() {
        let y = LinearScale(domain: 0...1, range: (418, 48))
        #expect(y(0) == 418)
        #expect(y(1) == 48)
        #expect(y(0.25) == 325.5)
        let degenerate = LinearScale(domain: 3...3, range: (0, 100))
        #expect(degenerate(3.5) == 50)
    }
}
