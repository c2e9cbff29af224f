/// Builds request frames (after the delimiter) for clients: tests, benchmarks and the CLI.
public enum RequestEncoder {
    /// `SCORE` of a row-major matrix of `rows` rows; `matrix.count` must be `rows * columns`;
    /// `interval` asks for each risk's interval too.
    public static func score(requestID: UInt64, rows: Int, columns: Int, matrix: [Double], interval: Bool = false) -> [[UInt8]] {
        var counts: [UInt8] = []
        counts.appendLE(UInt32(truncatingIfNeeded: rows))
        counts.appendLE(UInt32(truncatingIfNeeded: columns))
        return [RequestHeader(operation: .score, flags: interval ? WireFormat.flagInterval : 0, requestID: requestID).encoded(), counts, matrixBytes(matrix)]
    }

    /// `EXPLAIN` of a row-major matrix with top-`k` contributions per row.
    public static func explain(requestID: UInt64, rows: Int, columns: Int, k: Int, matrix: [Double]) -> [[UInt8]] {
        var counts: [UInt8] = []
        counts.appendLE(UInt32(truncatingIfNeeded: rows))
        counts.appendLE(UInt32(truncatingIfNeeded: columns))
        counts.appendLE(UInt32(truncatingIfNeeded: k))
        counts.appendLE(UInt32(0))
        return [RequestHeader(operation: .explain, requestID: requestID).encoded(), counts, matrixBytes(matrix)]
    }

    /// A request without arguments (`INFO`, `HEALTH`, `STATS`, or `RELOAD` of the configured model).
    public static func simple(_ operation: Operation, requestID: UInt64, flags: UInt16 = 0) -> [[UInt8]] {
        [RequestHeader(operation: operation, flags: flags, requestID: requestID).encoded()]
    }

    /// `RELOAD` of the model file at `path`.
    public static func reload(requestID: UInt64, path: String) -> [[UInt8]] {
        [RequestHeader(operation: .reload, requestID: requestID).encoded(), Array(path.utf8)]
    }

    /// Little-endian float64 bytes of `values`.
    public static func matrixBytes(_ values: [Double]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(values.count * 8)
        #if _endian(little)
        // The doubles' bytes are already the wire's: one append (one per value was two calls
        // per row of a large reply).
        values.withUnsafeBytes { bytes.append(contentsOf: $0) }
        #else
        for value in values { bytes.appendLE(value.bitPattern) }
        #endif
        return bytes
    }
}
