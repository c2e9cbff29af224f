import CZeroMQ

/// Received frames kept for the next request, on the broker's thread only.
///
/// A raw encounter arrives as about 110 frames, each a ``ZMQFrame`` object: allocating and
/// freeing them was about 50,000 of the daemon's 610,000 instructions per one-row `RECORDS`,
/// and reusing them takes 29,000 off (`benchmarks/shim/records_instructions.sh`). A frame that nothing else references once its
/// request is answered has its message closed and re-initialised empty (what `deinit` and
/// ``ZMQFrame/empty()`` do) and is kept here, up to ``capacity`` frames. A frame still
/// referenced elsewhere (a request queued for a worker, a buffer a reply kept) is simply left
/// to be freed by its last owner. Not thread-safe: one pool per thread.
struct FramePool {
    /// The most frames kept (a few requests' worth; each is about 100 bytes).
    static let capacity = 512

    private var free: [ZMQFrame] = []

    /// The frames kept now.
    var count: Int { free.count }

    init() { free.reserveCapacity(Self.capacity) }

    /// An empty frame to receive into: a kept one, or a new one.
    mutating func take() -> ZMQFrame {
        free.popLast() ?? ZMQFrame.empty()
    }

    /// A frame of `size` uninitialised bytes to write a reply into (``ZMQFrame/make(size:)``),
    /// made from a kept frame when there is one.
    mutating func take(size: Int) throws(ZMQError) -> ZMQFrame {
        let frame = take()
        do { try frame.initialize(size: size) } catch {
            put(frame)  // left empty by the failed initialisation
            throw error
        }
        return frame
    }

    /// Gives back a frame from ``take()`` that is still empty (a receive that failed).
    mutating func put(_ frame: ZMQFrame) {
        if free.count < Self.capacity { free.append(frame) }
    }

    /// Keeps the frames of `frames` that nothing else references (emptying `frames`). When the
    /// array's storage is shared, taking its elements copies it, so none of them is unique and
    /// none is kept: the check never keeps a frame that is still in use.
    mutating func recycle(_ frames: inout [ZMQFrame]) {
        while var frame = frames.popLast() {
            guard free.count < Self.capacity, isKnownUniquelyReferenced(&frame) else { continue }
            // Moved, not copied, into the pool (a copy retained and released every frame).
            let kept = consume frame
            kept.reset()
            free.append(consume kept)
        }
    }
}
