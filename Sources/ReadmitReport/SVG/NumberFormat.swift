/// Locale-free, fixed number formatting so the same input always gives the same bytes
/// (String(format:) and NumberFormatter depend on the process locale and platform).
enum NumberFormat {
    private static let powers: [Double] = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000]

    /// `x` rounded half away from zero to exactly `decimals` (0...6) decimals; "n/a" when
    /// not finite. Never prints "-0".
    static func fixed(_ x: Double, _ decimals: Int) -> String {
        guard x.isFinite else { return "n/a" }
        let d = max(0, min(decimals, powers.count - 1))
        let p = powers[d]
        let scaled = (abs(x) * p).rounded(.toNearestOrAwayFromZero)
        // Beyond 2^53 the fraction is meaningless anyway; fall back to Swift's shortest form.
        guard scaled < 9.0e15 else { return x < 0 ? "-\(abs(x))" : "\(x)" }
        let units = Int64(scaled)
        let denom = Int64(p)
        var s = String(units / denom)
        if d > 0 {
            let frac = String(units % denom)
            s += "." + String(repeating: "0", count: d - frac.count) + frac
        }
        return (x < 0 && units != 0) ? "-" + s : s
    }

    /// A pixel coordinate: two decimals with trailing zeros dropped ("12.5", "40").
    static func coord(_ x: Double) -> String {
        var s = fixed(x.isFinite ? x : 0, 2)
        if s.contains(".") {
            while s.hasSuffix("0") { s.removeLast() }
            if s.hasSuffix(".") { s.removeLast() }
        }
        return s
    }

    /// An integer with thousands separators: 19597 -> "19,597".
    static func grouped(_ n: Int) -> String {
        let digits = String(n.magnitude)
        var out = ""
        for (i, ch) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(ch)
        }
        return n < 0 ? "-" + out : out
    }

    /// A fraction as a percentage with `decimals` decimals: 0.1137 -> "11.4%".
    static func percent(_ x: Double, _ decimals: Int) -> String {
        x.isFinite ? fixed(x * 100, decimals) + "%" : "n/a"
    }
}
