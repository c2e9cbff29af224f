/// A decoded reply, for clients (tests, benchmarks, the CLI).
public struct Reply: Sendable, Equatable {
    /// The reply header.
    public var header: ReplyHeader
    /// The operation-specific content, or the error.
    public var body: Body
    /// Each risk's interval, when the request asked for it (SCORE flag bit 1, RECORDS option bit 2).
    public var intervalLow: [Double]?, intervalHigh: [Double]?

    /// The content of a reply.
    public enum Body: Sendable, Equatable {
        /// Per-row risk, atypicality and tier.
        case score(risk: [Double], atypicality: [Double], tier: [UInt8])
        /// Row-major `rows * k` feature indices and contributions.
        case explain(rows: Int, k: Int, featureIndex: [Int32], contribution: [Double])
        /// The UTF-8 text of `INFO`, `HEALTH`, `STATS` or `RELOAD`.
        case text(String)
        /// Per-row risk, atypicality and tier (NaN, NaN, 255 for a row with an error), and the
        /// JSON of messages and explanations.
        case records(risk: [Double], atypicality: [Double], tier: [UInt8], k: Int, json: String)
        /// Per history field its values per row (NaN unknown), and the JSON of messages.
        case history(rows: Int, columns: [HistoryColumn], json: String)
        /// An error reply.
        case error(WireError)
    }

    /// Creates a reply.
    public init(header: ReplyHeader, body: Body) {
        self.header = header
        self.body = body
    }
}

/// Why reply frames could not be decoded (a daemon bug or a foreign peer).
public struct ReplyDecodeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What was wrong.
    public var message: String
    /// Creates an error.
    public init(_ message: String) { self.message = message }
    /// The message.
    public var description: String { message }
}

/// Decodes reply frames (after the delimiter).
public enum ReplyDecoder {
    /// Decodes `frames`.
    public static func decode(_ frames: [[UInt8]]) throws(ReplyDecodeError) -> Reply {
        guard let first = frames.first,
              let header = first.withUnsafeBytes({ ReplyHeader.decode($0) }) else {
            throw ReplyDecodeError("reply header missing or malformed")
        }
        let rest = Array(frames.dropFirst())
        if header.status != 0 {
            let error = rest.count == 2 ? rest[0].withUnsafeBytes { location in
                rest[1].withUnsafeBytes { WireError.decode(status: header.status, frames: [location, $0]) }
            } : nil
            guard let error else { throw ReplyDecodeError("malformed error reply (status \(header.status))") }
            return Reply(header: header, body: .error(error))
        }
        switch Operation(rawValue: header.op) {
        case .score:
            guard rest.count == 4 || rest.count == 6, rest[0].count == 8 else { throw ReplyDecodeError("SCORE reply needs 5 frames (7 with intervals)") }
            let rows = Int(rest[0].withUnsafeBytes { $0.leUInt32(at: 0) })
            guard rest[1].count == rows * 8, rest[2].count == rows * 8, rest[3].count == rows,
                  rest.count == 4 || (rest[4].count == rows * 8 && rest[5].count == rows * 8) else {
                throw ReplyDecodeError("SCORE reply frame sizes do not match \(rows) rows")
            }
            var reply = Reply(header: header, body: .score(risk: doubles(rest[1]), atypicality: doubles(rest[2]), tier: rest[3]))
            if rest.count == 6 { (reply.intervalLow, reply.intervalHigh) = (doubles(rest[4]), doubles(rest[5])) }
            return reply
        case .explain:
            guard rest.count == 3, rest[0].count == 8 else { throw ReplyDecodeError("EXPLAIN reply needs 4 frames") }
            let (rows, k) = rest[0].withUnsafeBytes { (Int($0.leUInt32(at: 0)), Int($0.leUInt32(at: 4))) }
            // Two untrusted u32s: their product (up to 2^64) overflows Int, so it is checked.
            let (cells, overflow) = rows.multipliedReportingOverflow(by: k)
            guard !overflow, cells <= Int.max / 8, rest[1].count == cells * 4, rest[2].count == cells * 8 else {
                throw ReplyDecodeError("EXPLAIN reply frame sizes do not match \(rows) x \(k)")
            }
            let indices = rest[1].withUnsafeBytes { raw in
                (0..<cells).map { Int32(bitPattern: raw.leUInt32(at: $0 * 4)) }
            }
            return Reply(header: header, body: .explain(rows: rows, k: k, featureIndex: indices, contribution: doubles(rest[2])))
        case .records:
            guard rest.count == 5 || rest.count == 7, rest[0].count == 8 else { throw ReplyDecodeError("RECORDS reply needs 6 frames (8 with intervals)") }
            let (rows, k) = rest[0].withUnsafeBytes { (Int($0.leUInt32(at: 0)), Int($0.leUInt32(at: 4))) }
            guard rest[1].count == rows * 8, rest[2].count == rows * 8, rest[3].count == rows,
                  rest.count == 5 || (rest[5].count == rows * 8 && rest[6].count == rows * 8) else {
                throw ReplyDecodeError("RECORDS reply frame sizes do not match \(rows) rows")
            }
            var reply = Reply(header: header, body: .records(risk: doubles(rest[1]), atypicality: doubles(rest[2]), tier: rest[3], k: k,
                                                             json: String(decoding: rest[4], as: UTF8.self)))
            if rest.count == 7 { (reply.intervalLow, reply.intervalHigh) = (doubles(rest[5]), doubles(rest[6])) }
            return reply
        case .history:
            switch HistoryReply.decode(rest) {
            case .success(let r): return Reply(header: header, body: .history(rows: r.rows, columns: r.columns, json: r.json))
            case .failure(let error): throw error
            }
        case .info, .health, .stats, .reload:
            guard rest.count == 1 else { throw ReplyDecodeError("reply needs 2 frames") }
            return Reply(header: header, body: .text(String(decoding: rest[0], as: UTF8.self)))
        case nil:
            throw ReplyDecodeError("reply with unknown op \(header.op) and status OK")
        }
    }

    /// Little-endian float64 values of `bytes` (count a multiple of 8).
    public static func doubles(_ bytes: [UInt8]) -> [Double] {
        bytes.withUnsafeBytes { raw in
            (0..<(raw.count / 8)).map { Double(bitPattern: raw.leUInt64(at: $0 * 8)) }
        }
    }
}
