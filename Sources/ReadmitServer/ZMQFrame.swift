import CZeroMQ
#if canImport(Glibc)
import Glibc
import ReadmitParallel
#endif

/// One owned ZeroMQ message part (`zmq_msg_t`). Sending it hands its buffer to libzmq
/// without a copy, which is how requests move from the front socket to a worker.
///
/// The `zmq_msg_t` lives in the object's own tail storage (a `ManagedBuffer` of one element):
/// one heap allocation per frame instead of two. A raw encounter arrives as about 110 frames,
/// and the second allocation (Swift's `allocate(capacity:)` takes glibc's aligned path) was a
/// measurable share of the daemon's work per request (`benchmarks/shim/records_instructions.sh`).
/// The object never moves, so the element's address is stable for the frame's lifetime.
public final class ZMQFrame: ManagedBuffer<Void, zmq_msg_t> {
    /// The message (valid while the frame lives).
    @inline(__always) var msg: UnsafeMutablePointer<zmq_msg_t> { withUnsafeMutablePointerToElements { $0 } }

    /// A frame whose message is initialised empty (`zmq_msg_init`, which cannot fail), so that
    /// `deinit` may always close it.
    private static func allocate() -> ZMQFrame {
        let frame = unsafeDowncast(ZMQFrame.create(minimumCapacity: 1) { _ in }, to: ZMQFrame.self)
        zmq_msg_init(frame.msg)
        return frame
    }

    /// An empty message, to receive into.
    static func empty() -> ZMQFrame { allocate() }

    /// A message of `size` uninitialised bytes, to write a reply into without copying.
    ///
    /// Messages of at least ``OutgoingMemory/trackedMinimum`` bytes are counted in
    /// ``OutgoingMemory`` from here until libzmq frees them (after writing them to the peer, or
    /// on dropping them), so the broker's admission control sees reply bytes still queued for
    /// slow clients.
    public static func make(size: Int) throws(ZMQError) -> ZMQFrame {
        let frame = allocate()
        try frame.initialize(size: size)
        return frame
    }

    /// Gives this frame's empty message (a new frame's, or a pooled one's from ``FramePool``)
    /// `size` uninitialised bytes, as ``make(size:)`` describes; on failure it stays empty.
    func initialize(size: Int) throws(ZMQError) {
        if size >= OutgoingMemory.trackedMinimum, let data = malloc(size) {
            OutgoingMemory.add(size)
            // The size travels in the hint (a pointer-sized integer, never 0 here), so the free
            // function needs no context: it runs on whichever thread closes the message last.
            let rc = zmq_msg_init_data(msg, data, size, { data, hint in
                free(data)
                OutgoingMemory.add(-Int(bitPattern: hint))
            }, UnsafeMutableRawPointer(bitPattern: size))
            guard rc == 0 else {
                free(data)
                OutgoingMemory.add(-size)
                zmq_msg_init(msg)
                throw ZMQError("zmq_msg_init_data(\(size))")
            }
            return
        }
        // Re-initialising the empty message needs no close first: it owns no memory.
        guard zmq_msg_init_size(msg, size) == 0 else {
            zmq_msg_init(msg)
            throw ZMQError("zmq_msg_init_size(\(size))")
        }
    }

    /// A message holding a copy of `bytes`.
    public static func make(_ bytes: [UInt8]) throws(ZMQError) -> ZMQFrame {
        let frame = try make(size: bytes.count)
        if !bytes.isEmpty {
            bytes.withUnsafeBytes { frame.mutableBytes.copyMemory(from: $0) }
        }
        return frame
    }

    deinit {
        zmq_msg_close(msg)
    }

    /// Closes the message and re-initialises it empty, as a new frame from ``empty()``: for
    /// ``FramePool``, which reuses a frame nothing else references.
    func reset() {
        zmq_msg_close(msg)
        zmq_msg_init(msg)
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

    /// The bytes of each of `frames` (valid while they live and have not been sent).
    ///
    /// Each frame is read through an unretained reference, which `frames` keeps alive for the
    /// call: reading ``bytes`` from an array's element retained the frame and released it
    /// around the two libzmq calls (Swift cannot see that they leave it alone), an atomic
    /// increment and decrement for each of a raw encounter's 110 frames.
    static func bytes(of frames: ArraySlice<ZMQFrame>) -> [UnsafeRawBufferPointer] {
        var parts: [UnsafeRawBufferPointer] = []
        parts.reserveCapacity(frames.count)
        frames.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            // A class reference and `Unmanaged` (one `unowned(unsafe)` reference) have the
            // same representation; loading the latter from raw memory copies no reference.
            let raw = UnsafeRawPointer(base), stride = MemoryLayout<ZMQFrame>.stride
            for i in 0..<buffer.count {
                let frame = raw.load(fromByteOffset: i * stride, as: Unmanaged<ZMQFrame>.self)
                parts.append(frame._withUnsafeGuaranteedRef { $0.bytes })
            }
        }
        return parts
    }

    /// A copy of the bytes.
    public var array: [UInt8] { Array(bytes) }

    /// A metadata property of a received message (`zmq_msg_gets`), e.g. `User-Id` (what the
    /// ZAP handler said about the connection) or `Peer-Address`; nil when absent.
    public func property(_ name: String) -> String? {
        guard let value = zmq_msg_gets(msg, name) else { return nil }
        return String(cString: value)
    }
}

/// Bytes of large outgoing messages (replies) that exist now: made by ``ZMQFrame/init(size:)``
/// and not yet freed by libzmq. A reply to a client that does not read stays here until libzmq
/// drops it (the client's queue is full, or it disconnects).
public enum OutgoingMemory {
    /// Smaller frames are not counted: they are bounded by the number of requests.
    public static let trackedMinimum = 64 << 10
    private static let bytes = Locked(0)

    /// The bytes counted now.
    public static var current: Int { bytes.current }

    static func add(_ delta: Int) { bytes.withLock { $0 += delta } }
}
