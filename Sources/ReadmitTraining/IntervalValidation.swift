import ReadmitModels

/// What can be measured of the per-patient risk intervals, since a patient's true probability
/// is never observed.
///
/// Coverage: the test patients are cut into tenths by predicted risk; within each tenth, the
/// share of its patients whose interval holds the tenth's observed readmission rate. Width
/// against error: the patients are cut into thirds by interval width; each third gets its
/// observed and mean predicted rate, its calibration error (the size-weighted mean over five
/// risk bins of |observed - mean predicted|) and Brier score. Wider intervals are worth serving
/// when they go with larger calibration error.
public struct IntervalValidation: Sendable {
    /// One tenth of the test patients by predicted risk.
    public struct RiskBin: Sendable {
        /// Encounters and events.
        public var count: Int, events: Int
        /// Observed rate, mean predicted risk, and the mean interval ends.
        public var observedRate: Double, meanPredicted: Double, meanLow: Double, meanHigh: Double
        /// Share of the bin's patients whose interval holds the bin's observed rate.
        public var coverage: Double
    }

    /// One third of the test patients by interval width.
    public struct WidthGroup: Sendable {
        /// "narrowest third", "middle third", "widest third".
        public var name: String
        /// The group's width range and mean.
        public var narrowest: Double, widest: Double, meanWidth: Double
        /// Encounters and events.
        public var count: Int, events: Int
        /// Observed rate and mean predicted risk.
        public var observedRate: Double, meanPredicted: Double
        /// Size-weighted mean |observed - predicted| over five risk bins within the group.
        public var calibrationError: Double
        /// Brier score within the group.
        public var brier: Double
    }

    /// The tenths by predicted risk, lowest first.
    public var bins: [RiskBin]
    /// Share of all test patients whose interval holds their tenth's observed rate.
    public var coverage: Double
    /// Share of the tenths whose observed rate lies between their mean interval ends.
    public var binsInside: Double
    /// Median interval width.
    public var medianWidth: Double
    /// Mean over the tenths of sqrt(o(1-o)/n): the sampling error of a tenth's observed rate.
    public var sampling: Double
    /// Share of the evaluated patients whose served (Platt) risk lies inside their interval.
    public var riskInside: Double
    /// The thirds by width, narrowest first.
    public var widthGroups: [WidthGroup]
    /// The findings in a few sentences, for the report and `metrics.json`.
    public var verdict: String

    /// Measures intervals `low...high` of `risk` on `labels` (rows with a NaN interval are left out).
    public init(risk: [Double], low: [Double], high: [Double], labels: [Bool]) {
        let rows = risk.indices.filter { !low[$0].isNaN && !high[$0].isNaN && !risk[$0].isNaN }
        let byRisk = rows.sorted { risk[$0] < risk[$1] }
        let n = byRisk.count
        func rate(_ idx: ArraySlice<Int>) -> Double { idx.isEmpty ? .nan : Double(idx.filter { labels[$0] }.count) / Double(idx.count) }
        func mean(_ idx: ArraySlice<Int>, _ v: [Double]) -> Double { idx.isEmpty ? .nan : idx.reduce(0) { $0 + v[$1] } / Double(idx.count) }
        var covered = 0
        bins = (0..<10).compactMap { k in
            let members = byRisk[(n * k / 10)..<(n * (k + 1) / 10)]
            guard !members.isEmpty else { return nil }
            let observed = rate(members)
            let inside = members.filter { low[$0] <= observed && observed <= high[$0] }.count
            covered += inside
            return RiskBin(count: members.count, events: members.filter { labels[$0] }.count, observedRate: observed,
                           meanPredicted: mean(members, risk), meanLow: mean(members, low), meanHigh: mean(members, high),
                           coverage: Double(inside) / Double(members.count))
        }
        coverage = n > 0 ? Double(covered) / Double(n) : .nan
        binsInside = bins.isEmpty ? .nan : Double(bins.filter { $0.meanLow <= $0.observedRate && $0.observedRate <= $0.meanHigh }.count) / Double(bins.count)
        riskInside = n > 0 ? Double(rows.filter { low[$0] <= risk[$0] && risk[$0] <= high[$0] }.count) / Double(n) : .nan
        let width = risk.indices.map { high[$0] - low[$0] }
        let byWidth = rows.sorted { width[$0] < width[$1] }
        medianWidth = byWidth.isEmpty ? .nan : width[byWidth[byWidth.count / 2]]
        let names = ["narrowest third", "middle third", "widest third"]
        widthGroups = (0..<3).compactMap { k in
            let members = byWidth[(n * k / 3)..<(n * (k + 1) / 3)]
            guard let first = members.first, let last = members.last else { return nil }
            // Calibration error within the group over five bins of predicted risk.
            let sorted = members.sorted { risk[$0] < risk[$1] }
            var error = 0.0
            for b in 0..<5 {
                let part = sorted[(sorted.count * b / 5)..<(sorted.count * (b + 1) / 5)]
                if !part.isEmpty { error += Double(part.count) * abs(rate(part) - mean(part, risk)) }
            }
            let brier = members.reduce(0.0) { s, i in let d = risk[i] - (labels[i] ? 1 : 0); return s + d * d } / Double(members.count)
            return WidthGroup(name: names[k], narrowest: width[first], widest: width[last], meanWidth: mean(members, width),
                              count: members.count, events: members.filter { labels[$0] }.count, observedRate: rate(members),
                              meanPredicted: mean(members, risk), calibrationError: error / Double(members.count), brier: brier)
        }
        func f(_ x: Double, _ d: Int = 3) -> String { x.isFinite ? String(format: "%.\(d)f", x) : "n/a" }
        // The sampling error of a tenth's observed rate, which no interval about the calibration
        // map can hold: sqrt(o(1-o)/n), averaged over the tenths.
        let noise = bins.isEmpty ? Double.nan
            : bins.reduce(0.0) { $0 + ($1.observedRate * (1 - $1.observedRate) / Double(max($1.count, 1))).squareRoot() } / Double(bins.count)
        sampling = noise
        var text = "Within tenths of predicted risk, \(f(100 * coverage, 1))% of the evaluated patients' intervals hold their tenth's observed rate"
            + " (the mean interval holds it in \(f(100 * binsInside, 0))% of the tenths); median width \(f(medianWidth, 4)), against a sampling error of"
            + " \(f(noise, 4)) for a tenth's observed rate itself. The served risk (Platt scaling) lies inside its own interval (isotonic, from the same"
            + " calibration patients) for \(f(100 * riskInside, 1))% of them."
        if medianWidth < noise {
            text += " The intervals state how closely the calibration patients pin down the calibration map at each risk; they are narrower than the noise of a tenth's observed rate, so they are not confidence intervals for it."
        }
        if let narrow = widthGroups.first, let wide = widthGroups.last, widthGroups.count == 3 {
            text += " The widest third's calibration error is \(f(wide.calibrationError, 4)) against \(f(narrow.calibrationError, 4)) for the narrowest"
                + (wide.calibrationError > narrow.calibrationError ? " (larger, as wider intervals should go with larger errors" : " (not larger, although wider intervals should go with larger errors")
                + "; no interval is computed for this difference)."
        }
        verdict = text
    }
}
