import Foundation

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

    /// Fits on margins `m` (log-odds) with outcomes `y`.
    public init(margins m: [Double], labels y: [Bool]) {
        let positives = Double(y.filter { $0 }.count), negatives = Double(y.count) - positives
        let hi = (positives + 1) / (positives + 2), lo = 1 / (negatives + 2)
        let t = y.map { $0 ? hi : lo }
        var a = 1.0, b = 0.0
        for _ in 0..<100 {
            var g0 = 0.0, g1 = 0.0, h00 = 1e-12, h01 = 0.0, h11 = 1e-12
            for i in 0..<m.count {
                let p = 1 / (1 + Foundation.exp(-(a * m[i] + b)))
                let d = p - t[i], w = p * (1 - p)
                g0 += d * m[i]; g1 += d
                h00 += w * m[i] * m[i]; h01 += w * m[i]; h11 += w
            }
            let det = h00 * h11 - h01 * h01
            if det == 0 { break }
            let da = (h11 * g0 - h01 * g1) / det, db = (h00 * g1 - h01 * g0) / det
            a -= da; b -= db
            if Swift.abs(da) < 1e-10 && Swift.abs(db) < 1e-10 { break }
        }
        self.a = a
        self.b = b
    }

    /// The calibrated probability of margin `m`.
    @inline(__always)
    public func probability(margin m: Double) -> Double { 1 / (1 + Foundation.exp(-(a * m + b))) }
}
