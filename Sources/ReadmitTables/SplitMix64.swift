import ReadmitSpec

/// The SplitMix64 generator and finalizer (Steele, Lea and Flood 2014).
///
/// The finalizer fixes the evaluation split (`splitmix64(patient id) % 5 == 0` is test) so
/// results compare with references computed elsewhere; the generator seeds every random choice.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// Creates a generator from a seed.
    public init(seed: UInt64) { state = seed }

    /// The standard SplitMix64 output function applied to `x`: add the golden gamma, then
    /// xor-shift-multiply with shifts 30, 27 and 31.
    @inline(__always)
    public static func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        let out = Self.mix(state)
        state &+= 0x9E37_79B9_7F4A_7C15
        return out
    }

    /// A uniform double in [0, 1).
    public mutating func nextUnit() -> Double { Double(next() >> 11) * 0x1p-53 }
}
