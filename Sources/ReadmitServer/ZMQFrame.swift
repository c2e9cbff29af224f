import CZeroMQ

/// One owned ZeroMQ message part (`zmq_msg_t`). Sending it hands its buffer to libzmq
/// without a copy, which is how requests move from the front socket to a worker.
public final class ZMQFrame {
    let msg: UnsafeMutablePointer<zmq_msg_t>

    /// An empty message, to receive into.
    init() {
        msg = .allocate(capacity: 1)
        zmq_msg_init(msg)
    }

    /// A message of `size` uninitialised bytes, to write a reply into without copying.
    public init(size: Int) throws(ZMQError) {
        msg = .allocate(capacity: 1)
        guard zmq_msg_init_size(msg, size) == 0 else {
            msg.deallocate()
            throw ZMQError("zmq_msg_init_size(\(size))")
        }
    }

    /// A message holding a copy of `bytes`.
    public convenience init(_ bytes: [UInt8]) throws(ZMQError) {
        try self.init(size: bytes.count)
        if !bytes.isEmpty {
            bytes.withUnsafeBytes { mutableBytes.copyMemory(from: $0) }
        }
    }

    deinit {
        zmq_msg_close(msg)
        msg.deallocate()
    }

    /// The message's bytes (valid while the frame lives and has not been sent).
    public var bytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: zmq_msg_data(msg), count: zmq_msg_size(msg))
    }

    /// The message's bytes, writable.
    public var mutableBytes: UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: zmq_msg_data(msg), count: zmq_msg_size(msg))
    }

    /// The number of bytes.
    public var count: Int { zmq_msg_size(msg) }

    /// A copy of the bytes.
    public var array: [UInt8] { Array(bytes) }
}
