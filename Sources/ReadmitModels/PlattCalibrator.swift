import Foundation
import ReadmitFeatures
import ReadmitSpec
import ReadmitTables

/// Platt scaling: `P(y = 1 | m) = 1 / (1 + exp(-(a * m + b)))` fitted on held-out margins.
///
/// A two-parameter logistic fit by Newton's method with Platt's (1999) smoothed targets; a few
/// lines, so written here rather than pulling in a statistics package.
public struct PlattCalibrator: Codable, Sendable, Equatable {
    /// Slope on the margin.
    public var a: Double
    /// Intercept.
    public var b: Double

    /// Creates a calibrator from its parameters.
    public init(a: Double, b: Double) { self.a = a; self.b = b }

    /// Fits on margins `m` (any real-valued score) with outcomes `y`. The fit runs on the
    /// standardised score (so Newton's method starts well for scores on any scale) and is
    /// folded back into `a` and `b`.
    public init(margins m: [Double], labels y: [Bool]) {
        let n = Double(max(m.count, 1))
        let mean = m.reduce(0, +) / n
        let sd = (m.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / n).squareRoot()
        let scale = sd > 0 ? sd : 1
        let z = m.map { ($0 - mean) / scale }
        let positives = Double(y.filter { $0 }.count), negatives = Double(y.count) - positives
        let hi = (positives + 1) / (positives + 2), lo = 1 / (negatives + 2)
        let t = y.map { $0 ? hi : lo }
        let prior = min(max((positives + 1) / (Double(y.count) + 2), 1e-6), 1 - 1e-6)
        var a = 0.0, b = Foundation.log(prior / (1 - prior))
        func loss(_ a: Double, _ b: Double) -> Double {
            var s = 0.0
            for i in 0..<z.count {
                let u = a * z[i] + b
                // log(1 + e^u) - t*u, computed stably.
                s += (u > 0 ? u + Foundation.log1p(Foundation.exp(-u)) : Foundation.log1p(Foundation.exp(u))) - t[i] * u
            }
            return s
        }
        var current = loss(a, b)
        for _ in 0..<100 {
            var g0 = 0.0, g1 = 0.0, h00 = 1e-12, h01 = 0.0, h11 = 1e-12
            for i in 0..<z.count {
                let p = 1 / (1 + Foundation.exp(-(a * z[i] + b)))
                let d = p - t[i], w = p * (1 - p)
                g0 += d * z[i]; g1 += d
                h00 += w * z[i] * z[i]; h01 += w * z[i]; h11 += w
            }
            let det = h00 * h11 - h01 * h01
            if det <= 0 { break }
            let da = (h11 * g0 - h01 * g1) / det, db = (h00 * g1 - h01 * g0) / det
            // Newton step with halving, so the loss never increases.
            var step = 1.0, next = loss(a - da, b - db)
            while next > current && step > 1e-8 { step /= 2; next = loss(a - step * da, b - step * db) }
            if next > current { break }
            a -= step * da; b -= step * db
            let improvement = current - next
            current = next
            if improvement < 1e-12 { break }
        }
        self.a = a / scale
        self.b = b - a * mean / scale
    }

    /// This calibrator with its intercept refitted on margins `m` and outcomes `y`, its slope
    /// kept (recalibration-in-the-large: the risks' spread and ranking are kept, their level
    /// moved to the outcomes'). The same loss as the two-parameter fit (Platt's smoothed
    /// targets), minimised over `b` alone by Newton's method; `b` is unchanged without rows.
    public func refittingIntercept(margins m: [Double], labels y: [Bool]) -> PlattCalibrator {
        precondition(m.count == y.count)
        guard !m.isEmpty else { return self }
        let positives = Double(y.filter { $0 }.count), negatives = Double(y.count) - positives
        let hi = (positives + 1) / (positives + 2), lo = 1 / (negatives + 2)
        let u = m.map { a * $0 }
        let target = y.reduce(0.0) { $0 + ($1 ? hi : lo) }
        // The gradient sum(p_i) - target is increasing in b: Newton's method from the old
        // intercept, each step kept inside a bracket that holds the root.
        var b = self.b, low = -Double.infinity, high = Double.infinity
        for _ in 0..<200 {
            var g = -target, h = 0.0
            for v in u {
                let p = 1 / (1 + Foundation.exp(-(v + b)))
                g += p; h += p * (1 - p)
            }
            if g > 0 { high = b } else { low = b }
            var next = h > 0 ? b - g / h : b
            if !(next > low && next < high) || !next.isFinite {
                next = low.isFinite && high.isFinite ? (low + high) / 2 : (g > 0 ? b - 1 : b + 1)
            }
            if abs(next - b) <= 1e-12 * max(1, abs(b)) { b = next; break }
            b = next
        }
        return PlattCalibrator(a: a, b: b)
    }

    /// The calibrated probability of margin `m`.
    @inline(__always)
    public func probability(margin m: Double) -> Double { 1 / (1 + Foundation.exp(-(a * m + b))) }
}
