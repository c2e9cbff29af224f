import Foundation
import ReadmitFeatures
import ReadmitParallel
import ReadmitSpec
import ReadmitTables

/// L2-regularised logistic regression on standardised columns: the reference model the risk
/// model is compared against.
///
/// Minimises `sum_i logloss(y_i, b + w . z_i) + (l2 / 2) |w|^2` with `z = (x - center) / scale`
/// and the intercept `b` unpenalised: scikit-learn's `LogisticRegression(C = 1 / l2)` on
/// `StandardScaler` output (the Python reference pipeline), solved to the exact optimum by
/// Newton's method instead of scikit-learn's approximate L-BFGS stop.
///
/// Hand-written because nothing available fits: XGBoost's `gblinear` is a different objective
/// (its L2 term scales with the sample count), its `coord_descent` updater took seconds and its
/// faster `shotgun` updater is nondeterministic; there is no Swift package or Debian C library
/// for (sparse) logistic regression that this project could link. It stays small because the
/// one-hot input is sparse: the fit never builds the standardised (dense) matrix; it works on
/// the nonzero raw values and folds the centring into the gradient and Hessian algebraically,
/// so each Newton step costs one pass over about 50 nonzeros per row and a 217 x 217 Cholesky
/// solve. Rows are summed in fixed chunks merged in a fixed order, so the result is the same bit
/// for bit whatever the number of threads.
public struct LogisticRegression: Sendable {
    /// Per input column: the value subtracted before scaling (training mean).
    public let center: [Double]
    /// Per input column: the divisor (training standard deviation); 0 for a constant column,
    /// which then takes no part in the model.
    public let scale: [Double]
    /// Per input column: the coefficient on the standardised value.
    public let weights: [Double]
    /// The intercept (on the standardised scale).
    public let intercept: Double
    /// Newton iterations the fit took.
    public let iterations: Int

    /// Rows per chunk of the sums: fixed, so the summation order never depends on threading.
    static let chunkRows = 4096
    /// The largest change of any row's margin one Newton step may make; see the fit.
    static let maxMarginStep = 4.0

    /// The mean and population standard deviation (scikit-learn's `StandardScaler`) of each
    /// column of `matrix` over `rows`; the standard deviation is 0 for a constant column.
    public static func standardization(of matrix: FeatureMatrix, rows: [Int]) -> (center: [Double], scale: [Double]) {
        let w = matrix.columns
        var mean = [Double](repeating: 0, count: w), m2 = [Double](repeating: 0, count: w)
        guard !rows.isEmpty else { return (mean, m2) }
        matrix.values.withUnsafeBufferPointer { v in
            for r in rows { for c in 0..<w { mean[c] += v[r * w + c] } }
            for c in 0..<w { mean[c] /= Double(rows.count) }
            // Two passes: sum of squared deviations, not E[x^2] - mean^2 (which cancels).
            for r in rows { for c in 0..<w { let d = v[r * w + c] - mean[c]; m2[c] += d * d } }
        }
        let scale = m2.map { ($0 / Double(rows.count)).squareRoot() }
        return (mean, scale.map { $0 > 0 ? $0 : 0 })
    }

    /// Fits the model on `rows` of `matrix` with outcomes `labels` (parallel to `rows`).
    ///
    /// - Parameters:
    ///   - center, scale: the standardisation (see ``standardization(of:rows:)``).
    ///   - l2: the penalty on the standardised coefficients (scikit-learn's `1 / C`).
    ///   - maxIterations: the most Newton steps taken.
    ///   - threads: threads for the sums (the result does not depend on it).
    public init(matrix: FeatureMatrix, rows: [Int], labels: [Bool], center: [Double], scale: [Double],
                l2: Double = 1, maxIterations: Int = 50, threads: Int = 1) {
        precondition(rows.count == labels.count && center.count == matrix.columns && scale.count == matrix.columns)
        let active = (0..<matrix.columns).filter { scale[$0] > 0 }
        let k = active.count, dim = k + 1  // parameter 0 is the intercept, 1...k the active columns
        let data = SparseRows(matrix: matrix, rows: rows, columns: active)
        let y = labels.map { $0 ? 1.0 : 0.0 }
        let mu = active.map { center[$0] }, sd = active.map { scale[$0] }

        // theta: intercept then standardised weights. Start at the prevalence, all weights 0.
        let prevalence = min(max(y.reduce(0, +) / Double(max(y.count, 1)), 1e-12), 1 - 1e-12)
        var theta = [Double](repeating: 0, count: dim)
        theta[0] = Foundation.log(prevalence / (1 - prevalence))
        // The raw-scale form of theta: margin = c + sum_j v_j x_j.
        func rawForm(_ t: [Double]) -> (c: Double, v: [Double]) {
            var c = t[0], v = [Double](repeating: 0, count: k)
            for j in 0..<k { v[j] = t[j + 1] / sd[j]; c -= v[j] * mu[j] }
            return (c, v)
        }
        func objective(_ t: [Double], _ loss: Double) -> Double {
            var s = 0.0
            for j in 1..<dim { s += t[j] * t[j] }
            return loss + 0.5 * l2 * s
        }
        // Gradient on the standardised scale from the raw sums (sum r, sum r x_j).
        func gradient(_ t: [Double], _ s: Sums) -> [Double] {
            var g = [Double](repeating: 0, count: dim)
            g[0] = s.r
            for j in 0..<k { g[j + 1] = (s.rx[j] - mu[j] * s.r) / sd[j] + l2 * t[j + 1] }
            return g
        }

        var (c, v) = rawForm(theta)
        var current = objective(theta, data.sums(c: c, v: v, y: y, hessian: false, threads: threads).loss)
        var iterations = 0
        while iterations < maxIterations {
            iterations += 1
            // Hessian at theta on the standardised scale, from the raw weighted moments:
            // H_jk = (M_jk - mu_j a_k - mu_k a_j + mu_j mu_k D) / (sd_j sd_k) + l2 [j == k].
            let h = data.sums(c: c, v: v, y: y, hessian: true, threads: threads)
            let g = gradient(theta, h)
            var hess = [Double](repeating: 0, count: dim * dim)
            hess[0] = h.d
            for j in 0..<k {
                let hj = (h.dx[j] - mu[j] * h.d) / sd[j]
                hess[j + 1] = hj; hess[(j + 1) * dim] = hj
                for i in 0...j {
                    let mij = h.m[i * k + j]  // upper triangle: i <= j
                    let value = (mij - mu[i] * h.dx[j] - mu[j] * h.dx[i] + mu[i] * mu[j] * h.d) / (sd[i] * sd[j]) + (i == j ? l2 : 0)
                    hess[(i + 1) * dim + j + 1] = value; hess[(j + 1) * dim + i + 1] = value
                }
            }
            guard let step = Self.solveSPD(hess, g, dim) else { break }
            // Newton decrement g' H^-1 g / 2: the objective still to gain; stop when negligible.
            var decrement = 0.0
            for j in 0..<dim { decrement += g[j] * step[j] }
            if !(decrement > 1e-10) { break }
            // Damped Newton: the step is first shortened so that no row's margin moves by more
            // than maxMarginStep (rare indicator columns have standardised values in the
            // hundreds, and a full step from far away overshoots into saturation), then halved
            // until the objective falls enough (Armijo). Near the optimum the full step is taken.
            let direction = rawForm([0] + step[1...]).v
            var directionConstant = step[0]
            for j in 0..<k { directionConstant -= direction[j] * mu[j] }
            let largest = data.largestChange(c: directionConstant, v: direction)
            var t = largest > Self.maxMarginStep ? Self.maxMarginStep / largest : 1, accepted = false
            while t > 1e-10 {
                let trial = (0..<dim).map { theta[$0] - t * step[$0] }
                let raw = rawForm(trial)
                let s = data.sums(c: raw.c, v: raw.v, y: y, hessian: false, threads: threads)
                let value = objective(trial, s.loss)
                if value <= current - 1e-4 * t * decrement {
                    theta = trial; (c, v) = raw; current = value; accepted = true
                    break
                }
                t /= 2
            }
            if !accepted || decrement < 1e-8 { break }
        }
        var weights = [Double](repeating: 0, count: matrix.columns)
        for (j, col) in active.enumerated() { weights[col] = theta[j + 1] }
        self.center = center
        self.scale = scale
        self.weights = weights
        self.intercept = theta[0]
        self.iterations = iterations
    }

    /// The margin (log-odds) of every row of `matrix`.
    public func margins(_ matrix: FeatureMatrix) -> [Double] {
        precondition(matrix.columns == weights.count)
        var c = intercept
        let v = (0..<weights.count).map { scale[$0] > 0 ? weights[$0] / scale[$0] : 0 }
        for j in 0..<v.count { c -= v[j] * center[j] }
        var out = [Double](repeating: c, count: matrix.rows)
        let w = matrix.columns
        matrix.values.withUnsafeBufferPointer { x in
            for r in 0..<matrix.rows {
                var s = c
                for j in 0..<w { s += v[j] * x[r * w + j] }
                out[r] = s
            }
        }
        return out
    }

    /// Solves `a x = b` for a symmetric positive definite `a` (n x n, row-major) by Cholesky;
    /// nil when `a` is not positive definite.
    static func solveSPD(_ a: [Double], _ b: [Double], _ n: Int) -> [Double]? {
        var l = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in 0...i {
                var s = a[i * n + j]
                for p in 0..<j { s -= l[i * n + p] * l[j * n + p] }
                if i == j {
                    guard s > 0 else { return nil }
                    l[i * n + i] = s.squareRoot()
                } else {
                    l[i * n + j] = s / l[j * n + j]
                }
            }
        }
        var z = b
        for i in 0..<n { var s = z[i]; for p in 0..<i { s -= l[i * n + p] * z[p] }; z[i] = s / l[i * n + i] }
        for i in stride(from: n - 1, through: 0, by: -1) {
            var s = z[i]; for p in (i + 1)..<n { s -= l[p * n + i] * z[p] }; z[i] = s / l[i * n + i]
        }
        return z
    }

    /// The sums one Newton step needs, over all rows.
    struct Sums: Sendable {
        /// Sum of the log-losses.
        var loss = 0.0
        /// Sum of the residuals p - y, and per active column of residual * x.
        var r = 0.0, rx: [Double]
        /// Sum of the weights p (1 - p), per column of weight * x, and (upper triangle, k x k)
        /// of weight * x_i * x_j; only when the Hessian is asked for.
        var d = 0.0, dx: [Double], m: [Double]

        init(k: Int, hessian: Bool) {
            rx = [Double](repeating: 0, count: k)
            dx = [Double](repeating: 0, count: hessian ? k : 0)
            m = [Double](repeating: 0, count: hessian ? k * k : 0)
        }

        mutating func add(_ o: Sums) {
            loss += o.loss; r += o.r; d += o.d
            for j in 0..<rx.count { rx[j] += o.rx[j] }
            for j in 0..<dx.count { dx[j] += o.dx[j] }
            for j in 0..<m.count { m[j] += o.m[j] }
        }
    }

    /// The fitting rows in compressed sparse row form: only the nonzero raw values of the
    /// active columns (one-hot indicators are mostly zero), column indices ascending.
    struct SparseRows: Sendable {
        let count: Int, columns: Int
        let start: [Int]
        let index: [Int32]
        let value: [Double]

        init(matrix: FeatureMatrix, rows: [Int], columns active: [Int]) {
            var start = [0], index: [Int32] = [], value: [Double] = []
            index.reserveCapacity(rows.count * 64); value.reserveCapacity(rows.count * 64)
            let w = matrix.columns
            matrix.values.withUnsafeBufferPointer { x in
                for r in rows {
                    for (j, col) in active.enumerated() {
                        let v = x[r * w + col]
                        if v != 0 { index.append(Int32(j)); value.append(v) }
                    }
                    start.append(index.count)
                }
            }
            self.count = rows.count
            self.columns = active.count
            self.start = start
            self.index = index
            self.value = value
        }

        /// The sums at raw-scale parameters `c`, `v`: fixed chunks, each summed in row order,
        /// merged in chunk order.
        func sums(c: Double, v: [Double], y: [Double], hessian: Bool, threads: Int) -> Sums {
            let chunks = max(1, (count + LogisticRegression.chunkRows - 1) / LogisticRegression.chunkRows)
            let parts = concurrentMap(chunks, parallel: threads > 1) { chunk in
                let lo = chunk * LogisticRegression.chunkRows, hi = min(count, lo + LogisticRegression.chunkRows)
                return chunkSums(rows: lo..<hi, c: c, v: v, y: y, hessian: hessian)
            }
            var total = Sums(k: columns, hessian: hessian)
            for part in parts { total.add(part) }
            return total
        }

        /// The largest |c + sum_j v_j x_j| over the rows.
        func largestChange(c: Double, v: [Double]) -> Double {
            var largest = 0.0
            for i in 0..<count {
                var u = c
                for p in start[i]..<start[i + 1] { u += v[Int(index[p])] * value[p] }
                largest = max(largest, abs(u))
            }
            return largest
        }

        /// The sums over `rows`, in row order.
        func chunkSums(rows: Range<Int>, c: Double, v: [Double], y: [Double], hessian: Bool) -> Sums {
            let k = columns
            var s = Sums(k: k, hessian: hessian)
            var loss = 0.0, rs = 0.0, ds = 0.0
            start.withUnsafeBufferPointer { st in
                index.withUnsafeBufferPointer { ix in
                    value.withUnsafeBufferPointer { vx in
                        v.withUnsafeBufferPointer { vw in
                            s.rx.withUnsafeMutableBufferPointer { rx in
                                s.dx.withUnsafeMutableBufferPointer { dx in
                                    s.m.withUnsafeMutableBufferPointer { m in
                                        for i in rows {
                                            let a = st[i], b = st[i + 1]
                                            var u = c
                                            for p in a..<b { u += vw[Int(ix[p])] * vx[p] }
                                            // log(1 + e^u) - y u and p = sigmoid(u), computed stably.
                                            let e = Foundation.exp(-abs(u))
                                            loss += (u > 0 ? u : 0) + Foundation.log1p(e) - y[i] * u
                                            let prob = u >= 0 ? 1 / (1 + e) : e / (1 + e)
                                            let res = prob - y[i]
                                            rs += res
                                            for p in a..<b { rx[Int(ix[p])] += res * vx[p] }
                                            guard hessian, let mb = m.baseAddress else { continue }
                                            let wgt = prob * (1 - prob)
                                            ds += wgt
                                            for p in a..<b {
                                                let jp = Int(ix[p]), wx = wgt * vx[p]
                                                dx[jp] += wx
                                                // Upper triangle only: indices ascend within a row.
                                                let row = mb + jp * k
                                                for q in p..<b { row[Int(ix[q])] += wx * vx[q] }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            s.loss = loss; s.r = rs; s.d = ds
            return s
        }
    }
}
