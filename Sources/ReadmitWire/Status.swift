/// The status codes of a reply header: 0 is success, everything else a typed error.
public enum Status: UInt16, Sendable, CaseIterable, CustomStringConvertible {
    /// Success.
    case ok = 0
    /// The header does not start with `RDMT`.
    case badMagic = 1
    /// Unsupported protocol version.
    case badVersion = 2
    /// Unknown operation code.
    case badOp = 3
    /// Wrong number of frames, or a frame of the wrong size.
    case badFrames = 4
    /// Matrix frame length is not `n_rows * n_cols * 8`.
    case badPayloadSize = 5
    /// `n_cols` differs from the schema's feature count.
    case badColumns = 6
    /// A non-finite value other than NaN.
    case badValue = 7
    /// A categorical value that is not a level index.
    case badCategory = 8
    /// `n_rows` over the daemon's `--max-rows`.
    case tooManyRows = 9
    /// No model is loaded.
    case notReady = 10
    /// The work queue is full.
    case overloaded = 11
    /// The model file could not be loaded; the old model keeps serving.
    case reloadFailed = 12
    /// Operation not allowed.
    case forbidden = 13
    /// Another invalid argument.
    case badArgument = 14
    /// An unexpected failure in the daemon.
    case `internal` = 15

    /// The upper-case name of docs/PROTOCOL.md (`BAD_MAGIC`, ...).
    public var name: String {
        switch self {
        case .ok: "OK"
        case .badMagic: "BAD_MAGIC"
        case .badVersion: "BAD_VERSION"
        case .badOp: "BAD_OP"
        case .badFrames: "BAD_FRAMES"
        case .badPayloadSize: "BAD_PAYLOAD_SIZE"
        case .badColumns: "BAD_COLUMNS"
        case .badValue: "BAD_VALUE"
        case .badCategory: "BAD_CATEGORY"
        case .tooManyRows: "TOO_MANY_ROWS"
        case .notReady: "NOT_READY"
        case .overloaded: "OVERLOADED"
        case .reloadFailed: "RELOAD_FAILED"
        case .forbidden: "FORBIDDEN"
        case .badArgument: "BAD_ARGUMENT"
        case .internal: "INTERNAL"
        }
    }

    /// The name.
    public var description: String { name }
}
