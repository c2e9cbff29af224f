import CZeroMQ

/// A ZeroMQ socket. Not thread-safe: create, use and close it on one thread.
public final class ZMQSocket {
    /// The raw `void *` socket.
    let handle: UnsafeMutableRawPointer
    private var closed = false

    /// Creates a socket of `type` (`ZMQ_ROUTER`, `ZMQ_DEALER`, ...).
    public init(_ context: ZMQContext, type: Int32) throws(ZMQError) {
        guard let socket = zmq_socket(context.handle, type) else { throw ZMQError("zmq_socket") }
        handle = socket
    }

    deinit { close() }

    /// Closes the socket (idempotent); pending messages linger per `ZMQ_LINGER`.
    public func close() {
        if !closed {
            closed = true
            zmq_close(handle)
        }
    }

    /// Sets an integer option.
    public func set(_ option: Int32, _ value: Int32) throws(ZMQError) {
        var v = value
        guard zmq_setsockopt(handle, option, &v, MemoryLayout<Int32>.size) == 0 else { throw ZMQError("zmq_setsockopt(\(option))") }
    }

    /// Sets a 64-bit integer option (e.g. `ZMQ_MAXMSGSIZE`).
    public func set(_ option: Int32, int64 value: Int64) throws(ZMQError) {
        var v = value
        guard zmq_setsockopt(handle, option, &v, MemoryLayout<Int64>.size) == 0 else { throw ZMQError("zmq_setsockopt(\(option))") }
    }

    /// Sets a binary or string option.
    public func set(_ option: Int32, bytes: [UInt8]) throws(ZMQError) {
        let rc = bytes.withUnsafeBytes { zmq_setsockopt(handle, option, $0.baseAddress, $0.count) }
        guard rc == 0 else { throw ZMQError("zmq_setsockopt(\(option))") }
    }

    /// Sets a string option.
    public func set(_ option: Int32, string: String) throws(ZMQError) {
        try set(option, bytes: Array(string.utf8))
    }

    /// Reads an integer option.
    public func get(_ option: Int32) throws(ZMQError) -> Int32 {
        var v: Int32 = 0
        var size = MemoryLayout<Int32>.size
        guard zmq_getsockopt(handle, option, &v, &size) == 0 else { throw ZMQError("zmq_getsockopt(\(option))") }
        return v
    }

    /// Binds to `endpoint`.
    public func bind(_ endpoint: String) throws(ZMQError) {
        guard zmq_bind(handle, endpoint) == 0 else { throw ZMQError("bind \(endpoint)") }
    }

    /// The endpoint the last bind resolved to (`ZMQ_LAST_ENDPOINT`): a wildcard port as the
    /// port the system chose.
    public func lastEndpoint() throws(ZMQError) -> String {
        var buffer = [CChar](repeating: 0, count: 1024)
        var size = buffer.count
        guard zmq_getsockopt(handle, ZMQ_LAST_ENDPOINT, &buffer, &size) == 0 else { throw ZMQError("zmq_getsockopt(ZMQ_LAST_ENDPOINT)") }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Connects to `endpoint`.
    public func connect(_ endpoint: String) throws(ZMQError) {
        guard zmq_connect(handle, endpoint) == 0 else { throw ZMQError("connect \(endpoint)") }
    }

    /// Receives one multipart message; `nil` on timeout (`ZMQ_RCVTIMEO`) or with `dontWait` and nothing queued.
    public func receive(dontWait: Bool = false) throws(ZMQError) -> [ZMQFrame]? {
        var noPool: FramePool? = nil
        return try receive(dontWait: dontWait, pool: &noPool)
    }

    /// As ``receive(dontWait:)``, taking the frames to receive into from `pool` when there is one.
    func receive(dontWait: Bool = false, pool: inout FramePool?) throws(ZMQError) -> [ZMQFrame]? {
        var frames: [ZMQFrame] = []
        frames.reserveCapacity(8)  // identity, delimiter, header, counts, matrix: one allocation, not three
        while true {
            let frame = pool?.take() ?? ZMQFrame.empty()
            let rc = zmq_msg_recv(frame.msg, handle, dontWait && frames.isEmpty ? ZMQ_DONTWAIT : 0)
            if rc < 0 {
                let error = ZMQError("receive")
                pool?.put(frame)  // still empty: a failed receive leaves the message as it was
                if error.interrupted { continue }
                if error.code == EAGAIN && frames.isEmpty { return nil }
                throw error
            }
            // Read before the append, which then moves the frame into the array instead of
            // copying it (a retain and a release per frame).
            let more = zmq_msg_more(frame.msg)
            frames.append(consume frame)
            if more == 0 { return frames }
        }
    }

    /// Sends `frames` as one multipart message; frames are consumed (zero-copy hand-over).
    public func send(_ frames: [ZMQFrame]) throws(ZMQError) {
        for (i, frame) in frames.enumerated() {
            let flags = i == frames.count - 1 ? 0 : ZMQ_SNDMORE
            while zmq_msg_send(frame.msg, handle, flags) < 0 {
                let error = ZMQError("send")
                if !error.interrupted { throw error }
            }
        }
    }

    /// Sends `frames` as one multipart message without blocking on the first frame; returns
    /// false (and sends nothing; the frames are freed with their owner) when a ROUTER with
    /// `ZMQ_ROUTER_MANDATORY` cannot take it: the peer's queue is at `ZMQ_SNDHWM` (`EAGAIN`)
    /// or the peer is gone (`EHOSTUNREACH`). libzmq decides this on the first frame only; the
    /// rest of a message it accepted always follows.
    public func trySend(_ frames: [ZMQFrame]) throws(ZMQError) -> Bool {
        for (i, frame) in frames.enumerated() {
            let more = i == frames.count - 1 ? 0 : ZMQ_SNDMORE
            while zmq_msg_send(frame.msg, handle, i == 0 ? more | ZMQ_DONTWAIT : more) < 0 {
                let error = ZMQError("send")
                if error.interrupted { continue }
                if i == 0 && (error.code == EAGAIN || error.code == EHOSTUNREACH) { return false }
                throw error
            }
        }
        return true
    }

    /// Sends byte arrays as one multipart message (copies; for small frames).
    public func send(_ frames: [[UInt8]]) throws(ZMQError) {
        var owned: [ZMQFrame] = []
        for bytes in frames { owned.append(try ZMQFrame.make(bytes)) }
        try send(owned)
    }
}

/// Waits until one of `sockets` is readable; returns which, or an empty array on timeout.
func pollReadable(_ sockets: [ZMQSocket], timeoutMs: Int) -> [Bool] {
    var items = sockets.map { zmq_pollitem_t(socket: $0.handle, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0) }
    let rc = zmq_poll(&items, Int32(items.count), timeoutMs)
    if rc <= 0 { return Array(repeating: false, count: sockets.count) }
    return items.map { $0.revents & Int16(ZMQ_POLLIN) != 0 }
}
