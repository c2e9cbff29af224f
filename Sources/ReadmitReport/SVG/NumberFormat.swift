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
    ///
    /// Written digit by digit (the charts print tens of thousands of coordinates); the same
    /// text as ``fixed(_:_:)`` with 2 decimals and the trailing zeros removed.
    static func coord(_ x: Double) -> String {
        let v = x.isFinite ? x : 0
        let scaled = (abs(v) * 100).rounded(.toNearestOrAwayFromZero)
        guard scaled < 9.0e15 else { return slowCoord(v) }
        let units = Int64(scaled)
        var whole = units / 100
        let frac = Int(units % 100)
        // Up to 16 integer digits, sign, point and two decimals.
        var buffer: (UInt64, UInt64, UInt64) = (0, 0, 0)
        return withUnsafeMutableBytes(of: &buffer) { raw -> String in
            let end = raw.count
            var i = end
            if frac != 0 {
                if frac % 10 != 0 { i -= 1; raw[i] = UInt8(48 + frac % 10) }
                i -= 1; raw[i] = UInt8(48 + frac / 10)
                i -= 1; raw[i] = UInt8(ascii: ".")
            }
            repeat { i -= 1; raw[i] = UInt8(48 + whole % 10); whole /= 10 } while whole > 0
            if v < 0 && units != 0 { i -= 1; raw[i] = UInt8(ascii: "-") }
            return String(decoding: UnsafeRawBufferPointer(rebasing: raw[i..<end]), as: UTF8.self)
        }
    }

    /// ``coord(_:)`` for values beyond 2^53 hundredths (never a pixel position in practice).
    static func slowCoord(_ x: Double) -> String {
        var s = fixed(x, 2)
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
