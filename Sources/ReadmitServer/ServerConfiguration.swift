import ReadmitWire

/// Everything the daemon is started with (from flags or a config file).
public struct ServerConfiguration: Sendable {
    /// The model file served and re-read on SIGHUP / path-less RELOAD (nil: start not ready).
    public var modelPath: String?
    /// Endpoints the front ROUTER binds (tcp:// or ipc://).
    public var endpoints: [String] = ["tcp://127.0.0.1:5555"]
    /// Worker threads.
    public var workers: Int = 2
    /// The most worker threads: each holds a ZeroMQ socket, and libzmq allows 1023 per context
    /// (past about 1020 workers the rest could not start and the daemon waited for them for ever).
    public static let maxWorkers = 512
    /// Largest `n_rows` accepted.
    public var maxRows: Int = WireFormat.defaultMaxRows
    /// ZMQ_MAXMSGSIZE on the front socket: larger frames make libzmq drop the peer.
    public var maxMessageBytes: Int64 = 256 << 20
    /// Requests that may wait for a worker before new ones get OVERLOADED.
    public var maxQueued: Int = 256
    /// Bytes of requests admitted and not yet answered plus large replies not yet sent, past
    /// which a request larger than 64 KiB gets OVERLOADED.
    public var maxQueuedBytes: Int = 256 << 20
    /// Replies queued for one client connection (ZMQ_SNDHWM on the front socket); further
    /// replies to a client that does not read them are dropped and counted. libzmq's own
    /// default: its reader acknowledges in batches of half the mark, so a client reading its
    /// replies can keep about half of it in flight without losing any. Large replies are
    /// bounded by bytes (`maxQueuedBytes`), not by this count.
    public var maxRepliesPerClient: Int = 1000
    /// Seconds to let requests in flight finish on SIGTERM before exiting anyway.
    public var drainTimeout: Double = 30
    /// The daemon's CURVE secret key file (enables CURVE).
    public var curveSecretKeyPath: String?
    /// Directory of authorised client public keys (required with CURVE).
    public var authorizedKeysDirectory: String?
    /// Allow binding non-loopback tcp without CURVE.
    public var insecure = false
    /// Allow RELOAD with a path frame.
    public var allowReloadPath = false
    /// The access audit trail's file (`--audit-log`; nil: none): a JSON line per request
    /// answered, CURVE handshake refused, model load, start and stop (``AuditLog``).
    public var auditLogPath: String?

    /// A configuration with the defaults.
    public init() {}
}
