import CZeroMQ

/// A failed libzmq call: what was being done and libzmq's explanation.
public struct ZMQError: Error, Sendable, CustomStringConvertible {
    /// The errno libzmq reported.
    public let code: Int32
    /// What the daemon was doing.
    public let context: String

    /// Captures `zmq_errno()` for a call that just failed.
    public init(_ context: String) {
        code = zmq_errno()
        self.context = context
    }

    /// `context: strerror`.
    public var description: String {
        "\(context): \(String(cString: zmq_strerror(code)))"
    }

    /// Whether the call was interrupted by a signal (retry).
    var interrupted: Bool { code == EINTR }
    /// Whether the context is being terminated (stop).
    var terminated: Bool { code == ETERM }
}
