import Foundation

/// Maps a data interval linearly onto a pixel interval (the range may be reversed, as for
/// a y axis whose pixels grow downwards).
struct LinearScale: Sendable, Equatable {
    var domainLower: Double
    var domainUpper: Double
    var rangeLower: Double
    var rangeUpper: Double

    /// A degenerate domain is widened by one unit so mapping never divides by zero.
    init(domain: ClosedRange<Double>, range: (Double, Double)) {
        domainLower = domain.lowerBound
        domainUpper = domain.upperBound > domain.lowerBound ? domain.upperBound : domain.lowerBound + 1
        rangeLower = range.0
        rangeUpper = range.1
    }

    /// The pixel position of `value`.
    func callAsFunction(_ value: Double) -> Double {
        rangeLower + (value - domainLower) / (domainUpper - domainLower) * (rangeUpper - rangeLower)
    }
}

/// "Nice" axis ticks (steps of 1, 2 or 5 times a power of ten).
struct AxisTicks: Sendable, Equatable {
    /// Tick values, ascending, within the domain.
    var values: [Double]
    /// Decimals that show the step exactly.
    var decimals: Int
    /// The step between ticks.
    var step: Double

    /// About `target` ticks covering [lower, upper].
    init(lower: Double, upper: Double, target: Int = 5) {
        let span = upper > lower ? upper - lower : 1
        let raw = span / Double(max(1, target))
        let magnitude = pow(10, floor(log10(raw)))
        let norm = raw / magnitude
        let factor: Double = norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10
        step = factor * magnitude
        decimals = max(0, min(6, -Int(floor(log10(step) + 1e-9))))
        let first = (lower / step).rounded(.up)
        var ticks: [Double] = []
        var i = 0.0
        // Bounded: at most target*3 ticks even with rounding surprises.
        while ticks.count <= target * 3 {
            let v = (first + i) * step
            if v > upper + step * 1e-9 { break }
            ticks.append(v)
            i += 1
        }
        values = ticks
    }

    /// The smallest tick-aligned upper bound >= `maximum`, for value axes starting at 0.
    static func niceUpper(_ maximum: Double, target: Int = 5) -> Double {
        guard maximum.isFinite, maximum > 0 else { return 1 }
        let ticks = AxisTicks(lower: 0, upper: maximum, target: target)
        let last = ticks.values.last ?? 0
        return last >= maximum - ticks.step * 1e-9 ? last : last + ticks.step
    }
}
