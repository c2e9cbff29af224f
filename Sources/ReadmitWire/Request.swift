/// A structurally valid request, decoded from its frames.
///
/// The feature matrix of `SCORE` and `EXPLAIN` is not copied: it stays in frame
/// ``Request/matrixFrameIndex`` of the caller's frames, already checked to be
/// `rows * columns * 8` bytes.
public struct Request: Sendable, Equatable {
    /// The decoded header.
    public var header: RequestHeader
    /// The operation and its arguments.
    public var body: Body

    /// The index of the matrix frame (after the delimiter) for `SCORE` and `EXPLAIN`.
    public static let matrixFrameIndex = 2

    /// The operation-specific part of a request.
    public enum Body: Sendable, Equatable {
        /// Score `rows` rows of `columns` features.
        case score(rows: Int, columns: Int)
        /// Top-`k` contributions for `rows` rows of `columns` features (`k >= 1`, not yet clamped).
        case explain(rows: Int, columns: Int, k: Int)
        /// Model metadata and schema.
        case info
        /// Liveness and readiness.
        case health
        /// Counters and latencies; Prometheus text when `prometheus` is set.
        case stats(prometheus: Bool)
        /// Reload the configured model (`path == nil`) or the model at `path`.
        case reload(path: String?)
        /// Score raw records (named columns), encoded by the model's spec.
        case records(RecordsRequest)
        /// `RECORDS` of at least ``RequestDecoder/deferredRecordsRows`` rows, checked but for
        /// its rows' values, which the caller reads a range at a time from the frames.
        case deferredRecords(DeferredRecords)
        /// Derive the history fields of raw records from the other rows of each patient (k is 0).
        case history(RecordsRequest)
    }

    /// The operation.
    public var operation: Operation {
        switch body {
        case .score: .score
        case .explain: .explain
        case .info: .info
        case .health: .health
        case .stats: .stats
        case .reload: .reload
        case .records, .deferredRecords: .records
        case .history: .history
        }
    }

    /// Creates a request.
    public init(header: RequestHeader, body: Body) {
        self.header = header
        self.body = body
    }
}

/// A request that failed to decode: the typed error plus what the reply header should echo.
public struct RequestDecodeError: Error, Sendable, Equatable {
    /// The op byte to echo (0 when the header could not be read).
    public var op: UInt8
    /// The request id to echo (0 when the header could not be read).
    public var requestID: UInt64
    /// The error.
    public var error: WireError

    /// Creates a decode error.
    public init(op: UInt8, requestID: UInt64, error: WireError) {
        self.op = op
        self.requestID = requestID
        self.error = error
    }
}
