/// Decodes and structurally validates request frames (everything after the empty delimiter).
///
/// Pure and total: any byte sequence yields either a ``Request`` or a typed
/// ``RequestDecodeError``; it never traps, so it is safe to fuzz. Model-dependent checks
/// (column count against the schema, values, categories) are the caller's, except that
/// `expectedColumns`, when given, is checked here.
public struct RequestDecoder: Sendable {
    /// The largest `n_rows` accepted (`--max-rows`).
    public var maxRows: Int
    /// The last request's column names (``ColumnNameCache``).
    let columnNames = ColumnNameCache()
    /// `RECORDS` requests of at least this many rows decode as ``Request/Body/deferredRecords(_:)``,
    /// their rows' values left in the frames for the caller to read a range at a time
    /// (``DeferredRecords``); nil (the default): every request decodes in full.
    public var deferredRecordsRows: Int? = nil

    /// Creates a decoder with a row limit.
    public init(maxRows: Int = WireFormat.defaultMaxRows) {
        self.maxRows = maxRows
    }

    /// Decodes `frames`; `expectedColumns` is the model's feature count when a model is loaded.
    public func decode(_ frames: [UnsafeRawBufferPointer], expectedColumns: Int? = nil)
        -> Result<Request, RequestDecodeError>
    {
        guard let first = frames.first else {
            return .failure(.init(op: 0, requestID: 0, error: WireError(.badFrames, "empty request: no header frame")))
        }
        guard first.count >= 4, first[0..<4].elementsEqual(WireFormat.magic) else {
            return .failure(.init(op: 0, requestID: 0,
                                  error: WireError(.badMagic, "request header does not start with 'RDMT'")))
        }
        guard first.count == WireFormat.requestHeaderSize else {
            return .failure(.init(op: 0, requestID: 0, error: WireError(
                .badFrames, "request header is \(first.count) bytes, expected \(WireFormat.requestHeaderSize)")))
        }
        let header = RequestHeader(op: first[5], flags: first.leUInt16(at: 6), requestID: first.leUInt64(at: 8))
        func fail(_ error: WireError) -> Result<Request, RequestDecodeError> {
            .failure(.init(op: header.op, requestID: header.requestID, error: error))
        }
        guard first[4] == WireFormat.version else {
            return fail(WireError(.badVersion, "protocol version \(first[4]) is not supported (this daemon speaks \(WireFormat.version))"))
        }
        guard let op = Operation(rawValue: header.op) else {
            return fail(WireError(.badOp, "unknown operation code \(header.op)"))
        }
        let allowed: UInt16 = switch op {
        case .stats: WireFormat.flagPrometheus
        case .score: WireFormat.flagInterval
        default: 0
        }
        if header.flags & ~allowed != 0 {
            return fail(WireError(.badArgument, "flags 0x\(String(header.flags, radix: 16)) are not valid for \(op.name)"))
        }
        let body: Result<Request.Body, WireError>
        switch op {
        case .score: body = decodeMatrixOp(op, frames, expectedColumns: expectedColumns)
        case .explain: body = decodeMatrixOp(op, frames, expectedColumns: expectedColumns)
        case .info: body = expectFrames(op, frames, 1).map { .info }
        case .health: body = expectFrames(op, frames, 1).map { .health }
        case .stats: body = expectFrames(op, frames, 1).map { .stats(prometheus: header.flags & WireFormat.flagPrometheus != 0) }
        case .reload: body = decodeReload(frames)
        case .records: body = decodeRecords(frames)
        case .history: body = decodeRecords(frames, op: .history)
        }
        switch body {
        case .success(let body): return .success(Request(header: header, body: body))
        case .failure(let error): return fail(error)
        }
    }

    private func expectFrames(_ op: Operation, _ frames: [UnsafeRawBufferPointer], _ count: Int) -> Result<Void, WireError> {
        guard frames.count == count else {
            return .failure(WireError(.badFrames, "\(op.name) takes \(count) frame\(count == 1 ? "" : "s") (header\(count > 1 ? " and arguments" : "")), got \(frames.count)"))
        }
        return .success(())
    }

    private func decodeReload(_ frames: [UnsafeRawBufferPointer]) -> Result<Request.Body, WireError> {
        switch frames.count {
        case 1: return .success(.reload(path: nil))
        case 2:
            guard frames[1].count > 0, let path = String(validating: frames[1], as: UTF8.self),
                  !path.contains("\0") else {
                return .failure(WireError(.badArgument, "RELOAD path frame is empty, not UTF-8, or contains NUL"))
            }
            return .success(.reload(path: path))
        default:
            return .failure(WireError(.badFrames, "RELOAD takes 1 or 2 frames (header, optional path), got \(frames.count)"))
        }
    }

    private func decodeMatrixOp(_ op: Operation, _ frames: [UnsafeRawBufferPointer], expectedColumns: Int?)
        -> Result<Request.Body, WireError>
    {
        guard frames.count == 3 else {
            return .failure(WireError(.badFrames, "\(op.name) takes 3 frames (header, counts, matrix), got \(frames.count)"))
        }
        let counts = frames[1]
        let countsSize = op == .score ? WireFormat.scoreCountsSize : WireFormat.explainCountsSize
        guard counts.count == countsSize else {
            return .failure(WireError(.badFrames, "\(op.name) counts frame is \(counts.count) bytes, expected \(countsSize)"))
        }
        let rows = Int(counts.leUInt32(at: 0))
        let columns = Int(counts.leUInt32(at: 4))
        var k = 0
        if op == .explain {
            k = Int(counts.leUInt32(at: 8))
            let reserved = counts.leUInt32(at: 12)
            guard reserved == 0 else {
                return .failure(WireError(.badArgument, "EXPLAIN reserved field is \(reserved), must be 0"))
            }
            guard k > 0 else { return .failure(WireError(.badArgument, "EXPLAIN k is 0, must be at least 1")) }
        }
        guard rows <= maxRows else {
            return .failure(WireError(.tooManyRows, "n_rows \(rows) is over this daemon's limit of \(maxRows) (--max-rows)"))
        }
        // rows * columns * 8 can pass Int.max (2^32 - 1 columns of 2^28 rows): computed with
        // overflow checks, and a product that does not fit is simply the wrong size.
        let (cells, overflowCells) = rows.multipliedReportingOverflow(by: columns)
        let (expectedBytes, overflowBytes) = cells.multipliedReportingOverflow(by: 8)
        guard !overflowCells, !overflowBytes, frames[2].count == expectedBytes else {
            let expected = overflowCells || overflowBytes ? "more than Int.max" : String(expectedBytes)
            return .failure(WireError(.badPayloadSize, "matrix frame is \(frames[2].count) bytes, expected n_rows * n_cols * 8 = \(rows) * \(columns) * 8 = \(expected)"))
        }
        if let expectedColumns, columns != expectedColumns {
            return .failure(WireError(.badColumns, "n_cols is \(columns), the model's schema has \(expectedColumns) features"))
        }
        return .success(op == .score ? .score(rows: rows, columns: columns) : .explain(rows: rows, columns: columns, k: k))
    }
}

extension RequestDecoder {
    /// The rows of a well-formed `SCORE` without flags, read from its three frames without
    /// building a ``Request``: for the daemon's path for small SCOREs, which answers the common
    /// case on its own and hands everything else to ``decode(_:expectedColumns:)``.
    ///
    /// Returns a count exactly when `decode([header, counts, matrix], expectedColumns:)` would
    /// return `.score(rows:columns:)` with that count and flags 0; nil otherwise, whether the
    /// request is malformed (the full decode names the error) or just not that case.
    /// `RequestDecoderTests` checks the equivalence on valid, mutated and random frames.
    public func plainScoreRows(header: UnsafeRawBufferPointer, counts: UnsafeRawBufferPointer, matrixBytes: Int,
                               expectedColumns: Int) -> Int? {
        guard header.count == WireFormat.requestHeaderSize, header.leUInt32(at: 0) == Self.magicWord,
              header[4] == WireFormat.version, header[5] == Operation.score.rawValue, header.leUInt16(at: 6) == 0,
              counts.count == WireFormat.scoreCountsSize else { return nil }
        let rows = Int(counts.leUInt32(at: 0)), columns = Int(counts.leUInt32(at: 4))
        guard rows <= maxRows, columns == expectedColumns else { return nil }
        let (cells, overflowCells) = rows.multipliedReportingOverflow(by: columns)
        let (bytes, overflowBytes) = cells.multipliedReportingOverflow(by: 8)
        guard !overflowCells, !overflowBytes, bytes == matrixBytes else { return nil }
        return rows
    }

    /// ``WireFormat/magic`` (`RDMT`) as the little-endian word the header's first four bytes
    /// make; a literal, not read from the array, so the check touches no global (tested equal).
    static var magicWord: UInt32 { 0x544D_4452 }
}

extension RequestDecoder {
    /// Convenience for tests and clients holding frames as byte arrays. The request is decoded
    /// in full whatever ``deferredRecordsRows`` says: a ``DeferredRecords`` would point into
    /// byte arrays that only live for the call.
    public func decode(_ frames: [[UInt8]], expectedColumns: Int? = nil) -> Result<Request, RequestDecodeError> {
        var whole = self
        whole.deferredRecordsRows = nil
        return withFrameBytes(of: frames) { whole.decode($0, expectedColumns: expectedColumns) }
    }
}

/// Calls `body` with the bytes of each of `frames`, valid for the call.
public func withFrameBytes<T, E: Error>(of frames: [[UInt8]], _ body: ([UnsafeRawBufferPointer]) throws(E) -> T) throws(E) -> T {
    func go(_ index: Int, _ acc: [UnsafeRawBufferPointer]) throws(E) -> T {
        if index == frames.count { return try body(acc) }
        // Array.withUnsafeBytes rethrows untyped errors: the typed one goes through a Result.
        return try frames[index].withUnsafeBytes { bytes in Result { () throws(E) -> T in try go(index + 1, acc + [bytes]) } }.get()
    }
    return try go(0, [])
}
