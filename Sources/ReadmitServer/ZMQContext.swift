import CZeroMQ

/// A libzmq context. Contexts are thread-safe; sockets made from it are not (one thread each).
public final class ZMQContext: @unchecked Sendable {
    /// The raw `void *` context.
    let handle: UnsafeMutableRawPointer

    /// Creates a context with `ioThreads` I/O threads.
    public init(ioThreads: Int32 = 1) throws(ZMQError) {
        guard let ctx = zmq_ctx_new() else { throw ZMQError("zmq_ctx_new") }
        zmq_ctx_set(ctx, ZMQ_IO_THREADS, ioThreads)
        handle = ctx
    }

    /// Terminates the context: blocks until every socket is closed and lingering messages are sent.
    public func terminate() {
        while zmq_ctx_term(handle) != 0 && zmq_errno() == EINTR {}
    }
}
