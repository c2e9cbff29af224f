/// A batch's feature vectors before they are written: per schema feature, its values, or its
/// level per distinct text and each row's code into them (``FeatureEncoder/features(raw:spec:schema:warnings:warnUnknownLevels:levels:)``
/// has done every per-text lookup). ``write(rows:into:)`` writes any block of rows, row-major
/// in schema order, NaN for missing.
///
/// Why blocks: a 100,000-row raw request was encoded into one matrix per chunk of up to 25,000
/// rows (12 MB, past the L2 cache), written a column at a time, then read back by the input
/// check and the tree walks. Written and scored 512 rows at a time, the vectors stay in cache
/// between the two. The values are the same bits whichever rows a block holds.
public struct EncodedFeatures: Sendable {
    /// Where one feature's values come from. Plain values (no array in it): the sources of a
    /// one-row request are made and freed per request, and an array of enums holding arrays
    /// is destroyed element by element through the runtime.
    enum Source: Sendable {
        /// One number per row: ``RawFeature/numbers(_:)`` of raw feature `raw`.
        case numbers(raw: Int)
        /// Row r's value is `table[start + code]`, where `code` is row r's code in the text
        /// column of raw feature `raw`.
        case levels(start: Int, raw: Int)
        /// No raw feature: NaN for every row.
        case missing
    }

    /// Number of rows.
    public let rows: Int
    /// Values per row (the schema's features).
    public let columns: Int
    let raw: [RawFeature]
    let sources: [Source]
    /// The levels of every ``Source/levels(start:raw:)`` feature, one run per feature.
    let table: [Double]

    init(rows: Int, columns: Int, raw: [RawFeature], sources: [Source], table: [Double]) {
        precondition(sources.count == columns, "one source per feature")
        self.rows = rows
        self.columns = columns
        self.raw = raw
        self.sources = sources
        self.table = table
    }

    /// Raw feature `index` (a text column) read through its `count` levels at `start` of the
    /// table; a code outside them traps here, before anything is written (they come from the
    /// column that made the levels).
    static func levels(start: Int, count: Int, raw index: Int, codes: [Int32]) -> Source {
        // One branch-free pass checks every code: the largest, and all OR-ed (negative when one
        // is); signed reductions, which SSE2 vectorises (an unsigned maximum took about 3.5
        // instructions a row, 14 million for a 100,000-row request).
        var high: Int32 = -1, bits: Int32 = 0
        codes.withUnsafeBufferPointer { for code in $0 { high = max(high, code); bits |= code } }
        precondition(bits >= 0 && Int(high) < count, "a code is outside its column's \(count) texts")
        return .levels(start: start, raw: index)
    }

    /// The per-row codes of raw feature `index`, a text column.
    private func codes(_ index: Int) -> [Int32] {
        switch raw[index] {
        case .texts(let column), .codes(let column, _): return column.interned.codes
        case .numbers: preconditionFailure("raw feature \(index) is not a text column")
        }
    }

    /// Writes rows `range` (within `0..<rows`) into `out`, `range.count * columns` values,
    /// row-major: row `range.lowerBound + i` at `out[i * columns]`. Every value is written.
    public func write(rows range: Range<Int>, into out: UnsafeMutableBufferPointer<Double>) {
        precondition(range.lowerBound >= 0 && range.upperBound <= rows, "rows \(range) of \(rows)")
        precondition(out.count >= range.count * columns, "the output holds fewer than \(range.count) rows")
        guard let base = out.baseAddress, !range.isEmpty else { return }
        let m = columns, n = range.count
        // Through buffers, a feature at a time: the indexed loop's bounds and overflow checks
        // were most of the encoder's own instructions for a 100,000-row request.
        table.withUnsafeBufferPointer { table in
            for j in 0..<m {
                var dst = base + j
                switch sources[j] {
                case .numbers(let index):
                    guard case .numbers(let v) = raw[index] else { preconditionFailure("raw feature \(index) is not numbers") }
                    v.withUnsafeBufferPointer { v in
                        // A feature shorter than the batch (none is) would be missing past its end.
                        let have = max(0, min(n, v.count - range.lowerBound))
                        if let src = v.baseAddress.map({ $0 + range.lowerBound }) {
                            for r in 0..<have { dst.pointee = src[r]; dst += m }
                        }
                        for _ in have..<n { dst.pointee = .nan; dst += m }
                    }
                case .levels(let start, let index):
                    codes(index).withUnsafeBufferPointer { codes in
                        let have = max(0, min(n, codes.count - range.lowerBound))
                        if let level = table.baseAddress.map({ $0 + start }), let src = codes.baseAddress.map({ $0 + range.lowerBound }) {
                            for r in 0..<have { dst.pointee = level[Int(src[r])]; dst += m }
                        }
                        for _ in have..<n { dst.pointee = .nan; dst += m }
                    }
                case .missing:
                    for _ in 0..<n { dst.pointee = .nan; dst += m }
                }
            }
        }
    }
}
