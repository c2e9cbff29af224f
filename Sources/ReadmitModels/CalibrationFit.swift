import Foundation

/// Logistic recalibration of outcomes on the logit of predicted risks (Cox 1958; Van Calster et
/// al. 2016): the calibration intercept ("calibration-in-the-large", the `a` of
/// `logit P(y) = a + logit(p)`, ideal 0: negative when the model over-predicts on average) and
/// the calibration slope (the `b` of `logit P(y) = a' + b logit(p)`, ideal 1: below 1 when the
/// risks are too extreme, above 1 when too modest).
///
/// Two-parameter Newton-Raphson written here rather than taken from a library: the model's own
/// logistic regression is a penalised many-feature fit, and these are two unpenalised
/// coefficients with case weights (for the patient bootstrap), a few lines of algebra.
public struct CalibrationFit: Sendable, Equatable {
    /// Calibration-in-the-large: the intercept with the slope fixed at 1.
    public var intercept: Double
    /// The calibration slope.
    public var slope: Double
    /// The intercept `a'` fitted with the slope (not a calibration measure by itself).
    public var interceptOfSlopeFit: Double

    /// Fits both on `probabilities` against `labels`, each row weighing `weights[i]` (1 when nil).
    /// Risks are clamped to [1e-12, 1 - 1e-12] before the logit. NaN when the outcomes are all
    /// one class (the coefficients do not exist). `start`, a fit on similar data (the full
    /// sample, for a bootstrap replicate), starts Newton's method nearer the answer; the
    /// answer does not depend on it.
    public init(probabilities: [Double], labels: [Bool], weights: [Double]? = nil, start: CalibrationFit? = nil) {
        precondition(probabilities.count == labels.count && (weights?.count ?? labels.count) == labels.count)
        let z = probabilities.map { p -> Double in let q = min(max(p, 1e-12), 1 - 1e-12); return log(q / (1 - q)) }
        let y = labels.map { $0 ? 1.0 : 0.0 }
        var positives = 0.0, total = 0.0
        for i in 0..<y.count { let w = weights?[i] ?? 1; positives += w * y[i]; total += w }
        guard positives > 0, positives < total else { intercept = .nan; slope = .nan; interceptOfSlopeFit = .nan; return }
        let from = start.flatMap { $0.intercept.isFinite && $0.slope.isFinite ? $0 : nil }
        intercept = Self.fit(z: z, y: y, weights: weights, slopeFixed: true, from: (from?.intercept ?? 0, 1)).intercept
        (interceptOfSlopeFit, slope) = Self.fit(z: z, y: y, weights: weights, slopeFixed: false,
                                                from: (from?.interceptOfSlopeFit ?? 0, from?.slope ?? 1))
    }

    /// Calibration-in-the-large alone (no slope fit): NaN with one class only.
    public static func interceptInTheLarge(probabilities: [Double], labels: [Bool], weights: [Double]? = nil, start: Double = 0) -> Double {
        precondition(probabilities.count == labels.count && (weights?.count ?? labels.count) == labels.count)
        var positives = 0.0, total = 0.0
        for i in labels.indices { let w = weights?[i] ?? 1; total += w; if labels[i] { positives += w } }
        guard positives > 0, positives < total else { return .nan }
        let z = probabilities.map { p -> Double in let q = min(max(p, 1e-12), 1 - 1e-12); return log(q / (1 - q)) }
        return fit(z: z, y: labels.map { $0 ? 1.0 : 0.0 }, weights: weights, slopeFixed: true, from: (start.isFinite ? start : 0, 1)).intercept
    }

    private static func sigmoid(_ t: Double) -> Double { t >= 0 ? 1 / (1 + exp(-t)) : exp(t) / (1 + exp(t)) }

    /// log(1 + e^t) without overflow.
    private static func softplus(_ t: Double) -> Double { t > 0 ? t + log1p(exp(-t)) : log1p(exp(t)) }

    /// The weighted log-likelihood of `logit P(y) = a + b z`.
    static func logLikelihood(a: Double, b: Double, z: [Double], y: [Double], weights: [Double]?) -> Double {
        var ll = 0.0
        for i in 0..<z.count {
            let w = weights?[i] ?? 1
            if w == 0 { continue }
            let t = a + b * z[i]
            ll += w * (y[i] * t - softplus(t))
        }
        return ll
    }

    /// Newton-Raphson from `from` (with the slope fixed at 1 when `slopeFixed`). Plain Newton
    /// first: from a good start it converges in a few steps, each one pass over the rows. If
    /// it does not converge within 25 steps, damped Newton from `from` (each step halved until
    /// the log-likelihood does not fall, which costs a pass per trial). NaN when the Hessian is
    /// singular (all risks equal) or the damped fit does not converge within 100 steps
    /// (outcomes separated by the risk: the slope runs off to infinity).
    private static func fit(z: [Double], y: [Double], weights: [Double]?, slopeFixed: Bool,
                            from: (a: Double, b: Double)) -> (intercept: Double, slope: Double) {
        if let plain = newton(z: z, y: y, weights: weights, slopeFixed: slopeFixed, from: from, damped: false, steps: 25) { return plain }
        return newton(z: z, y: y, weights: weights, slopeFixed: slopeFixed, from: from, damped: true, steps: 100) ?? (.nan, .nan)
    }

    /// The Newton iteration; nil when it does not converge in `steps` or meets a singular Hessian.
    private static func newton(z: [Double], y: [Double], weights: [Double]?, slopeFixed: Bool, from: (a: Double, b: Double),
                               damped: Bool, steps: Int) -> (intercept: Double, slope: Double)? {
        var (a, b) = from
        var ll = damped ? logLikelihood(a: a, b: b, z: z, y: y, weights: weights) : 0
        for _ in 0..<steps {
            var ga = 0.0, gb = 0.0, haa = 0.0, hab = 0.0, hbb = 0.0
            for i in 0..<z.count {
                let w = weights?[i] ?? 1
                if w == 0 { continue }
                let p = sigmoid(a + b * z[i]), r = w * (y[i] - p), v = w * p * (1 - p)
                ga += r; gb += r * z[i]
                haa += v; hab += v * z[i]; hbb += v * z[i] * z[i]
            }
            var da: Double, db: Double
            if slopeFixed {
                guard haa > 0 else { return nil }
                da = ga / haa; db = 0
            } else {
                let det = haa * hbb - hab * hab
                guard det > 1e-12 * max(haa * hbb, 1e-300), det.isFinite else { return nil }
                da = (hbb * ga - hab * gb) / det; db = (haa * gb - hab * ga) / det
            }
            guard da.isFinite, db.isFinite else { return nil }
            if damped {
                var halvings = 0
                var next = logLikelihood(a: a + da, b: b + db, z: z, y: y, weights: weights)
                while !(next >= ll - 1e-12 * abs(ll)) && halvings < 40 {
                    da /= 2; db /= 2; halvings += 1
                    next = logLikelihood(a: a + da, b: b + db, z: z, y: y, weights: weights)
                }
                ll = next
            }
            a += da; b += db
            if abs(da) < 1e-9 && abs(db) < 1e-9 { return (a, b) }
        }
        return nil
    }
}
