import ReadmitCore

/// Deterministic feature rows that fit a schema: categorical level indices, numeric values,
/// and about one value in five missing (NaN).
enum TestRows {
    static func make(_ schema: FeatureSchema, rows: Int, seed: UInt64 = 1) -> [Double] {
        var state = seed
        func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        var out: [Double] = []
        out.reserveCapacity(rows * schema.count)
        for _ in 0..<rows {
            for feature in schema.features {
                if next() % 5 == 0 { out.append(.nan); continue }
                switch feature.kind {
                case .categorical: out.append(Double(next() % UInt64(max(feature.levels.count, 1))))
                case .numeric: out.append(Double(next() % 2000) / 100)
                }
            }
        }
        return out
    }

    /// In-process scores of `matrix` by `model`.
    static func score(_ model: ReadmitModel, _ matrix: [Double], rows: Int) throws -> (risk: [Double], atyp: [Double], tier: [UInt8]) {
        var risk = [Double](repeating: 0, count: rows), atyp = risk, tier = [UInt8](repeating: 0, count: rows)
        try matrix.withUnsafeBufferPointer { x in
            try risk.withUnsafeMutableBufferPointer { r in
                try atyp.withUnsafeMutableBufferPointer { a in
                    try tier.withUnsafeMutableBufferPointer { t in
                        try model.score(x, rows: rows, risk: r, atypicality: a, tier: t)
                    }
                }
            }
        }
        return (risk, atyp, tier)
    }
}
