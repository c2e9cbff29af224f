/// The operation codes of the wire protocol.
public enum Operation: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// Score a feature matrix: risk, atypicality and tier per row.
    case score = 1
    /// Top-k contributing features per row.
    case explain = 2
    /// Model metadata and the feature schema as JSON.
    case info = 3
    /// Liveness and readiness.
    case health = 4
    /// Counters, latency percentiles, model version, uptime.
    case stats = 5
    /// Load a model file and swap it in atomically.
    case reload = 6
    /// Score raw records (named columns), encoded by the model's spec.
    case records = 7
    /// Derive the history fields of raw records that hold a patient file.
    case history = 8

    /// The upper-case name used in docs, logs and metrics (`SCORE`, ...).
    public var name: String {
        switch self {
        case .score: "SCORE"
        case .explain: "EXPLAIN"
        case .info: "INFO"
        case .health: "HEALTH"
        case .stats: "STATS"
        case .reload: "RELOAD"
        case .records: "RECORDS"
        case .history: "HISTORY"
        }
    }

    /// The name.
    public var description: String { name }
}
