/// Where the daemon is in its life: what the HTTP probes (`readmitd --http`) report.
///
/// `starting` until the broker has seen every worker announce itself (the model, if any, is
/// loaded before that), `serving` while the broker takes requests, `draining` once a stop is
/// asked for (requests in flight finish, no new ones are read), `stopped` when the broker's
/// loop has ended.
public enum ServerPhase: String, Sendable {
    case starting, serving, draining, stopped

    /// Whether the serving loop runs (serving or draining): the liveness answer.
    public var loopRunning: Bool { self == .serving || self == .draining }
}
