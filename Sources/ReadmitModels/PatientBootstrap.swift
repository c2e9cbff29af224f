import ReadmitTables

/// Patient-clustered bootstrap replicates as row weights: patients (not rows) are drawn with
/// replacement, and each row weighs as many times as its patient was drawn, so repeat
/// encounters of one patient move together. A statistic computed with the weights is the
/// statistic of one resampled cohort, without copying rows.
public struct PatientBootstrap: Sendable {
    /// Per row, the index of its patient among the distinct patients.
    private let group: [Int]
    private let groups: Int
    private var rng: SplitMix64

    /// Prepares replicates for rows whose patients are `patients` (any ids; equal ids are one patient).
    public init(patients: [Int], seed: UInt64) {
        var index: [Int: Int] = [:]
        group = patients.map { p in
            if let g = index[p] { return g }
            let g = index.count
            index[p] = g
            return g
        }
        groups = index.count
        rng = SplitMix64(seed: seed)
    }

    /// The next replicate: one weight per row (0, 1, 2, ...).
    public mutating func nextWeights() -> [Double] {
        var draws = [Double](repeating: 0, count: groups)
        for _ in 0..<groups { draws[Int(rng.next() % UInt64(groups))] += 1 }
        return group.map { draws[$0] }
    }

    /// The percentile interval at `level` of replicate values (NaN ones left out); (NaN, NaN)
    /// when there are none.
    public static func interval(_ values: [Double], level: Double = 0.95) -> (low: Double, high: Double) {
        let v = values.filter { !$0.isNaN }.sorted()
        guard !v.isEmpty else { return (.nan, .nan) }
        return (v[Int(Double(v.count - 1) * (1 - level) / 2)], v[Int(Double(v.count - 1) * (1 + level) / 2)])
    }
}
