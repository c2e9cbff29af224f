/// A log-linear latency histogram (8 sub-buckets per power of two, so quantiles are within
/// 12.5%), fixed size, no allocation per sample: cheap enough to record every request.
struct LatencyHistogram: Sendable {
    private var buckets = [UInt64](repeating: 0, count: 64 * 8)
    /// Samples recorded.
    private(set) var count: UInt64 = 0
    /// Sum of all samples in nanoseconds.
    private(set) var sumNanos: UInt64 = 0
    /// The largest sample in nanoseconds.
    private(set) var maxNanos: UInt64 = 0

    private static func index(_ nanos: UInt64) -> Int {
        if nanos < 8 { return Int(nanos) }
        let exponent = 63 - nanos.leadingZeroBitCount
        let sub = Int((nanos >> UInt64(exponent - 3)) & 7)
        return exponent * 8 + sub
    }

    /// The midpoint of bucket `index` in nanoseconds.
    private static func value(_ index: Int) -> Double {
        if index < 8 { return Double(index) }
        let exponent = index / 8, sub = index % 8
        let low = Double(8 + sub) * Double(UInt64(1) << UInt64(exponent - 3))
        return low + Double(UInt64(1) << UInt64(exponent - 3)) / 2
    }

    /// Records one sample.
    mutating func record(nanos: UInt64) {
        buckets[Self.index(nanos)] += 1
        count += 1
        sumNanos &+= nanos
        maxNanos = max(maxNanos, nanos)
    }

    /// The `q`-quantile in nanoseconds (0 when empty).
    func quantile(_ q: Double) -> Double {
        guard count > 0 else { return 0 }
        let rank = UInt64((q * Double(count)).rounded(.up))
        var seen: UInt64 = 0
        for (i, n) in buckets.enumerated() where n > 0 {
            seen += n
            if seen >= max(rank, 1) { return min(Self.value(i), Double(maxNanos)) }
        }
        return Double(maxNanos)
    }

    /// Samples below 2^`exponent` nanoseconds (`exponent` at least 3): exact, since every
    /// power of two from 8 ns up is a bucket boundary. The cumulative counts of the Prometheus
    /// histogram, which, unlike quantiles, add up across daemons.
    func count(belowPowerOfTwo exponent: Int) -> UInt64 {
        precondition(exponent >= 3 && exponent < 64, "exponent \(exponent) is not a bucket boundary")
        return buckets[..<(exponent * 8)].reduce(0, +)
    }

    /// A copy that shares no storage with `self`: the snapshot STATS reads outside the lock.
    func detached() -> LatencyHistogram {
        var copy = self
        copy.buckets = buckets.map { $0 }
        return copy
    }

    /// Adds another histogram's samples.
    mutating func merge(_ other: LatencyHistogram) {
        for i in buckets.indices { buckets[i] += other.buckets[i] }
        count += other.count
        sumNanos &+= other.sumNanos
        maxNanos = max(maxNanos, other.maxNanos)
    }
}
