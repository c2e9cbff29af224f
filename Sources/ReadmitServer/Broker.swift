import CZeroMQ
import Foundation
import Logging
import ReadmitWire

/// The front of the daemon: a ROUTER bound on every endpoint, load-balancing requests to idle
/// workers over an inproc ROUTER, with a bounded queue of waiting requests.
///
/// Requests wait here (at most `maxQueued`) only while every worker is busy; past that the
/// broker itself replies `OVERLOADED`.
///
/// Small requests (HEALTH, INFO, STATS, and SCOREs of at most ``inlineBytes`` of features) are
/// answered on the broker's own thread: handing one to a worker and its reply back costs two
/// thread wake-ups, several times the few microseconds of scoring a row, so a lone client's
/// round trip would be dominated by the hand-off. When several requests arrive together, all
/// but the last go to idle workers first, so concurrent clients still use every core; large
/// batches, EXPLAIN and RELOAD always go to a worker, so they never stall the front. On stop it reads no new requests, lets queued and
/// running ones finish and forwards their replies, then stops the workers.
final class Broker {
    private let front: ZMQSocket
    private let backend: ZMQSocket
    private let control: ZMQSocket
    private let handler: RequestHandler
    private let maxQueued: Int
    private let workers: Int
    private let drainTimeout: Double
    private let logger: Logger

    private var idle: [[UInt8]] = []
    private var known: Set<[UInt8]> = []
    private var pending: [[ZMQFrame]] = []
    private var pendingHead = 0
    /// When the fast path last looked at the control socket (uptime nanoseconds).
    private var lastControlCheck: UInt64 = 0

    init(front: ZMQSocket, backend: ZMQSocket, control: ZMQSocket, handler: RequestHandler,
         workers: Int, maxQueued: Int, drainTimeout: Double, logger: Logger) {
        self.front = front
        self.backend = backend
        self.control = control
        self.handler = handler
        self.workers = workers
        self.maxQueued = maxQueued
        self.drainTimeout = drainTimeout
        self.logger = logger
    }

    private var queuedCount: Int { pending.count - pendingHead }

    /// Serves until a message arrives on the control socket, then drains and returns.
    func run() {
        var stopping = false
        var deadline = Date.distantFuture
        // Wait for every worker to announce itself before serving, so none is missed at stop.
        while known.count < workers {
            if pollReadable([backend], timeoutMs: 100)[0] { _ = try? drainBackend() }
        }
        while true {
            if stopping && queuedCount == 0 && idle.count == workers { break }
            if stopping && Date() > deadline {
                logger.warning("drain timeout: \(workers - idle.count) requests still running, \(queuedCount) queued; exiting anyway")
                break
            }
            do {
                func beginStop() {
                    guard !stopping else { return }
                    stopping = true
                    deadline = Date().addingTimeInterval(drainTimeout)
                    logger.info("stopping: finishing requests in flight", metadata: [
                        "running": "\(workers - idle.count)", "queued": "\(queuedCount)",
                    ])
                }
                if !stopping && idle.count == workers && queuedCount == 0 {
                    // Nothing is at the workers, so only the front can need us: wait on it alone,
                    // as a plain REP server would. zmq_poll over three sockets costs several
                    // system calls more per request, which a one-row request notices. The
                    // control socket is looked at every 50 ms (and on every idle timeout).
                    let now = DispatchTime.now().uptimeNanoseconds
                    if now &- lastControlCheck > 50_000_000 {
                        lastControlCheck = now
                        if try control.receive(dontWait: true) != nil { beginStop(); continue }
                    }
                    guard let first = try front.receive() else { lastControlCheck = 0; continue }  // ZMQ_RCVTIMEO
                    try drainFront(first: first)
                    continue
                }
                let readable = pollReadable(stopping ? [backend, control] : [backend, control, front], timeoutMs: stopping ? 100 : 1000)
                if readable[0] { try drainBackend() }
                if readable[1] {
                    _ = try control.receive(dontWait: true)
                    beginStop()
                }
                if readable.count > 2 && readable[2] { try drainFront() }
            } catch let error as ZMQError where error.terminated {
                break
            } catch {
                logger.error("broker: \(error)")
            }
        }
        for id in known {
            try? backend.send([ZMQFrame(id), ZMQFrame(Worker.stop)])
        }
    }

    private func drainBackend() throws {
        // Bounded: at most one message per worker per wake-up is normal; cap to avoid starving the front.
        for _ in 0..<(workers * 4 + 8) {
            guard let frames = try backend.receive(dontWait: true) else { return }
            let worker = frames[0].array
            if frames.count == 2 && frames[1].array == Worker.ready {
                known.insert(worker)
            } else if frames.count > 1 {
                try front.send(Array(frames.dropFirst()))
            }
            dispatch(to: worker)
        }
    }

    private func dispatch(to worker: [UInt8]) {
        if pendingHead < pending.count {
            let next = pending[pendingHead]
            pendingHead += 1
            if pendingHead > 1024 && pendingHead * 2 > pending.count {
                pending.removeFirst(pendingHead)
                pendingHead = 0
            }
            handler.queued.withLock { $0 = queuedCount }
            forward(next, to: worker)
        } else {
            idle.append(worker)
        }
    }

    private func forward(_ frames: [ZMQFrame], to worker: [UInt8]) {
        do {
            try backend.send([try ZMQFrame(worker)] + frames)
        } catch {
            logger.error("broker: cannot hand a request to a worker: \(error)")
        }
    }

    /// The largest feature payload a SCORE may have to be answered on the broker's thread:
    /// 32 rows of 64 features, about 0.2 ms of scoring at most.
    static let inlineBytes = 32 * 64 * 8

    /// Whether a request is cheap enough to answer here rather than hand to a worker.
    private static func isSmall(_ header: RequestHeader?, _ body: ArraySlice<ZMQFrame>) -> Bool {
        guard let header, let op = Operation(rawValue: header.op) else { return false }
        switch op {
        case .health, .info, .stats: return true
        case .score, .records, .history: return body.reduce(0) { $0 + $1.count } <= inlineBytes + 64
        case .explain, .reload: return false
        }
    }

    /// Handles what the front has queued (bounded), after `first` when one was already received
    /// (then no worker is busy, and a small `first` is answered before looking for more, so a
    /// lone client's round trip does not include that look).
    private func drainFront(first: [ZMQFrame]? = nil) throws {
        if let first { try route(first, inlineIfSmall: true) }
        // Everything readable now, so the last small one can be kept for this thread.
        var arrived: [[ZMQFrame]] = []
        while arrived.count < 256, let frames = try front.receive(dontWait: true) { arrived.append(frames) }
        for (position, frames) in arrived.enumerated() {
            try route(frames, inlineIfSmall: position == arrived.count - 1 || idle.isEmpty)
        }
    }

    /// Answers one request here (small ones, when `inlineIfSmall`), hands it to an idle worker,
    /// queues it, or refuses it as overloaded.
    private func route(_ frames: [ZMQFrame], inlineIfSmall: Bool) throws {
        let started = DispatchTime.now().uptimeNanoseconds
        guard let delimiter = frames.dropFirst().firstIndex(where: { $0.count == 0 }) else {
            // A DEALER that forgot the empty delimiter: answer on its identity, without one.
            let outcome = handler.errorReply(op: 0, requestID: 0, version: handler.store.current()?.servingVersion ?? 0,
                WireError(.badFrames, "missing the empty delimiter frame before the request header (DEALER clients must send it)"))
            return try reply(envelope: [frames[0]], outcome, started: started)
        }
        let body = frames[(delimiter + 1)...]
        let header = body.first.flatMap { RequestHeader.peek($0.bytes) }
        if inlineIfSmall && Self.isSmall(header, body) {
            try reply(envelope: Array(frames[...delimiter]), handler.handle(Array(body)), started: started)
        } else if let worker = idle.popLast() {
            forward(frames, to: worker)
        } else if queuedCount < maxQueued {
            pending.append(frames)
            handler.queued.withLock { $0 = queuedCount }
        } else {
            let outcome = handler.errorReply(op: header?.op ?? 0, requestID: header?.requestID ?? 0,
                version: handler.store.current()?.servingVersion ?? 0,
                WireError(.overloaded, "all \(workers) workers are busy and \(maxQueued) requests are queued; retry later"))
            try reply(envelope: Array(frames[...delimiter]), outcome, started: started)
        }
    }

    private func reply(envelope: [ZMQFrame], _ outcome: RequestHandler.Outcome, started: UInt64) throws {
        var frames = envelope
        frames.reserveCapacity(envelope.count + outcome.frames.count)
        for frame in outcome.frames { frames.append(try frame.toMessage()) }
        try front.send(frames)
        handler.stats.record(op: outcome.op, status: outcome.status, rows: outcome.rows,
                             nanos: DispatchTime.now().uptimeNanoseconds &- started)
    }
}
