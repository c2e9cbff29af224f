import CZeroMQ
import Foundation
#if os(Linux)
import CMalloc
#endif
import Logging
import ReadmitParallel
import ReadmitWire

/// The front of the daemon: a ROUTER bound on every endpoint, load-balancing requests to idle
/// workers over an inproc ROUTER, with a bounded queue of waiting requests.
///
/// Requests wait here (at most `maxQueued`) only while every worker is busy; past that the
/// broker itself replies `OVERLOADED`. Admission is bounded by bytes too: a request larger than
/// ``exemptBytes`` is refused `OVERLOADED` when the bytes of requests admitted and not yet
/// answered plus the large replies not yet sent (``OutgoingMemory``) would pass `maxQueuedBytes`.
/// Replies go out without blocking: a client whose reply queue is at `ZMQ_SNDHWM` (it is not
/// reading) or that has gone loses the reply, which is counted (`replies_dropped`).
///
/// With CURVE, every request's connection key (the ZAP `User-Id`) is checked against the
/// current key set, so a key revoked by a reload is refused (`FORBIDDEN`) from its next request.
///
/// Small requests (HEALTH, INFO, STATS, and SCOREs of at most ``inlineBytes`` of features) are
/// answered on the broker's own thread: handing one to a worker and its reply back costs two
/// thread wake-ups, several times the few microseconds of scoring a row, so a lone client's
/// round trip would be dominated by the hand-off. A SCORE of a few rows without flags takes a
/// shorter path still (``RequestHandler/answerPlainScore(_:into:pool:)``): no request or
/// outcome values, and the reply's frames taken from the pool of received ones. When several
/// requests arrive together, all but the last go to idle workers first, so concurrent clients still use every core; large
/// batches, EXPLAIN and RELOAD always go to a worker, so they never stall the front. On stop it reads no new requests, lets queued and
/// running ones finish and forwards their replies, then stops the workers.
final class Broker {
    private let front: ZMQSocket
    private let backend: ZMQSocket
    private let control: ZMQSocket
    private let handler: RequestHandler
    private let maxQueued: Int
    private let maxQueuedBytes: Int
    private let authorizedKeys: Locked<AuthorizedKeys>?
    private let workers: Int
    /// Why a worker could not start, set by that worker: the start then fails.
    private let workerFailure: Locked<String?>
    private let drainTimeout: Double
    private let phase: Locked<ServerPhase>
    private let logger: Logger
    /// The access audit trail (`--audit-log`), if any.
    private let audit: AuditLog?
    /// With an audit log: what was known of each request handed to a worker (its client,
    /// address, op and rows), until the worker's reply comes back through ``drainBackend()``.
    private var auditPending: [AuditKey: [AuditLog.Request]] = [:]

    private var idle: [[UInt8]] = []
    private var known: Set<[UInt8]> = []
    private var pending: [(frames: [ZMQFrame], bytes: Int)] = []
    private var pendingHead = 0
    /// Bytes of the requests admitted and not yet answered (queued here or at a worker).
    private var heldRequestBytes = 0
    /// The bytes of the request each busy worker holds.
    private var atWorker: [[UInt8]: Int] = [:]
    /// The most bytes held (requests and replies) since memory was last handed back to the system.
    private var peakSinceTrim = 0
    private var lastTrim: UInt64 = 0
    /// Rate limits for warnings a misbehaving client could otherwise repeat at request rate.
    private var droppedSinceLog = 0
    private var lastDropLog: UInt64 = 0
    private var revokedLogged: [String: UInt64] = [:]
    /// When the fast path last looked at the control socket (uptime nanoseconds).
    private var lastControlCheck: UInt64 = 0
    /// The ROUTER identity of the last request received on the fast path: while requests keep
    /// coming from one peer, nothing else can be waiting behind them that a worker could take.
    private var lastFastPeer: [UInt8] = []

    /// What the broker's thread reuses from one request to the next. ``run()`` holds it in a
    /// local variable and lends it down the request's path: an `inout` use of a class's stored
    /// property is checked for exclusive access at run time (two calls into the Swift runtime
    /// each: six such uses came to about 800 of a one-row SCORE's 35,600 instructions), a local
    /// variable's when compiled.
    struct Scratch {
        /// Frames of answered requests, received into again (optional: as ``ZMQSocket`` takes it).
        var framePool: FramePool? = FramePool()
        /// The frames of a reply answered by ``answerPlainScore(_:delimiter:started:audited:scratch:)``,
        /// kept between requests so that each reply does not allocate its list.
        var plainReply: [ZMQFrame] = []
    }

    init(front: ZMQSocket, backend: ZMQSocket, control: ZMQSocket, handler: RequestHandler,
         workers: Int, workerFailure: Locked<String?>, maxQueued: Int, maxQueuedBytes: Int, authorizedKeys: Locked<AuthorizedKeys>?,
         drainTimeout: Double, phase: Locked<ServerPhase>, logger: Logger, audit: AuditLog? = nil) {
        self.front = front
        self.backend = backend
        self.control = control
        self.handler = handler
        self.workers = workers
        self.workerFailure = workerFailure
        self.maxQueued = maxQueued
        self.maxQueuedBytes = maxQueuedBytes
        self.authorizedKeys = authorizedKeys
        self.drainTimeout = drainTimeout
        self.phase = phase
        self.logger = logger
        self.audit = audit
    }

    private var queuedCount: Int { pending.count - pendingHead }
    /// Requests read from the front (published to STATS with the next count it takes).
    private var received: UInt64 = 0

    /// Serves until a message arrives on the control socket, then drains and returns. Keeps
    /// `phase` up to date: serving once every worker is known, draining from the stop, stopped
    /// on return.
    func run() {
        defer { phase.withLock { $0 = .stopped } }
        var stopping = false
        var deadline = Date.distantFuture
        var scratch = Scratch()
        // Wait for every worker to announce itself before serving, so none is missed at stop;
        // a worker that failed to start never will (the start fails on it).
        while known.count < workers {
            if workerFailure.current != nil { return }
            if pollReadable([backend], timeoutMs: 100)[0] { _ = try? drainBackend() }
        }
        phase.withLock { $0 = .serving }
        while true {
            returnMemoryIfIdle()
            if stopping && queuedCount == 0 && idle.count == workers { break }
            if stopping && Date() > deadline {
                logger.warning("drain timeout: \(workers - idle.count) requests still running, \(queuedCount) queued; exiting anyway")
                break
            }
            do {
                func beginStop() {
                    guard !stopping else { return }
                    stopping = true
                    phase.withLock { $0 = .draining }
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
                    guard var first = try front.receive(pool: &scratch.framePool) else { lastControlCheck = 0; continue }  // ZMQ_RCVTIMEO
                    // Read before routing: a reply sends the envelope's frames, which empties them.
                    let samePeer = first[0].bytes.elementsEqual(lastFastPeer)
                    if !samePeer { lastFastPeer = first[0].array }
                    // A small request is answered before looking for more, so a lone client's
                    // round trip does not include that look.
                    try route(first, inlineIfSmall: true, scratch: &scratch)
                    scratch.framePool?.recycle(&first)
                    // Another peer's requests may have queued behind this one: hand them to the
                    // workers now. A lone client (a REQ socket waits for each reply) cannot have
                    // one queued, and looking would cost two more system calls (a dontWait
                    // receive polls libzmq's mailbox, and the next blocking receive polls it
                    // again before it waits) on every round trip.
                    if !samePeer { try drainFront(&scratch) }
                    continue
                }
                let readable = pollReadable(stopping ? [backend, control] : [backend, control, front], timeoutMs: stopping ? 100 : 1000)
                if readable[0] { try drainBackend() }
                if readable[1] {
                    _ = try control.receive(dontWait: true)
                    beginStop()
                }
                if readable.count > 2 && readable[2] { try drainFront(&scratch) }
            } catch let error as ZMQError where error.terminated {
                break
            } catch {
                logger.error("broker: \(error)")
            }
        }
        for id in known {
            try? backend.send([ZMQFrame.make(id), ZMQFrame.make(Worker.stop)])
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
                release(worker)
                let reply = Array(frames.dropFirst())
                if audit != nil { auditWorkerReply(reply) }
                try deliver(reply)
            }
            dispatch(to: worker)
        }
    }

    private func dispatch(to worker: [UInt8]) {
        if pendingHead < pending.count {
            let next = pending[pendingHead]
            pending[pendingHead] = ([], 0)  // the queue must not keep the request alive after it is answered
            pendingHead += 1
            if pendingHead > 1024 && pendingHead * 2 > pending.count {
                pending.removeFirst(pendingHead)
                pendingHead = 0
            }
            atWorker[worker] = next.bytes
            handler.stats.setLoad(atWorker: atWorker.count, queued: queuedCount, received: received)
            forward(next.frames, to: worker)
        } else {
            idle.append(worker)
        }
    }

    private func forward(_ frames: [ZMQFrame], to worker: [UInt8]) {
        do {
            try backend.send([try ZMQFrame.make(worker)] + frames)
        } catch {
            logger.error("broker: cannot hand a request to a worker: \(error)")
        }
    }

    /// The largest feature payload a SCORE may have to be answered on the broker's thread:
    /// 32 rows of 64 features, about 0.2 ms of scoring at most.
    static let inlineBytes = 32 * 64 * 8

    /// Requests up to this size (all frames after the delimiter) are never refused for bytes:
    /// they are bounded by `maxQueued`, and a client sending large requests must not starve
    /// clients sending small ones.
    static let exemptBytes = 64 << 10

    /// Largest total of requests read from the front in one batch (the batch also stops after
    /// any message that takes it past this), so a burst of large requests is looked at, and
    /// refused or admitted, one at a time.
    static let batchBytes = 1 << 20

    /// Memory is handed back to the system (`malloc_trim`) after at least this much was held:
    /// half of ``ArenaPolicy/mmapThresholdBytes``, so a request kept in the arenas is handed
    /// back once it, or a burst of them, has passed.
    static let trimAfterBytes = 32 << 20

    /// Whether a request is cheap enough to answer here rather than hand to a worker.
    private static func isSmall(_ header: RequestHeader?, _ body: ArraySlice<ZMQFrame>) -> Bool {
        guard let header, let op = Operation(rawValue: header.op) else { return false }
        switch op {
        case .health, .info, .stats: return true
        case .score, .records, .history: return body.reduce(0) { $0 + $1.count } <= inlineBytes + 64
        case .explain, .reload: return false
        }
    }

    /// Handles what the front has queued (bounded).
    private func drainFront(_ scratch: inout Scratch) throws {
        // Everything readable now, so the last small one can be kept for this thread.
        var arrived: [[ZMQFrame]] = []
        var arrivedBytes = 0
        while arrived.count < 256, arrivedBytes < Self.batchBytes, let frames = try front.receive(dontWait: true, pool: &scratch.framePool) {
            arrivedBytes += frames.reduce(0) { $0 + $1.count }
            arrived.append(frames)
        }
        for (position, frames) in arrived.enumerated() {
            try route(frames, inlineIfSmall: position == arrived.count - 1 || idle.isEmpty, scratch: &scratch)
        }
        for i in arrived.indices { scratch.framePool?.recycle(&arrived[i]) }
    }

    /// Answers one request here (small ones, when `inlineIfSmall`), hands it to an idle worker,
    /// queues it, or refuses it as overloaded.
    private func route(_ frames: [ZMQFrame], inlineIfSmall: Bool, scratch: inout Scratch) throws {
        let started = DispatchTime.now().uptimeNanoseconds
        received &+= 1
        let delimiter = frames.dropFirst().firstIndex(where: { $0.count == 0 })
        let header = delimiter.flatMap { $0 + 1 < frames.count ? RequestHeader.peek(frames[$0 + 1].bytes) : nil }
        // Who sent it, read before anything can answer it (only with an audit log).
        let audited = audit == nil ? nil : auditRequest(frames, delimiter: delimiter, header: header, started: started)
        if authorizedKeys != nil, let refusal = revokedKeyRefusal(frames) {
            let outcome = handler.errorReply(op: header?.op ?? 0, requestID: header?.requestID ?? 0,
                                             version: handler.store.current()?.servingVersion ?? 0, refusal)
            return try reply(envelope: frames[...(delimiter ?? 0)], outcome, started: started, audited: audited)
        }
        guard let delimiter else {
            // A DEALER that forgot the empty delimiter: answer on its identity, without one.
            let outcome = handler.errorReply(op: 0, requestID: 0, version: handler.store.current()?.servingVersion ?? 0,
                WireError(.badFrames, "missing the empty delimiter frame before the request header (DEALER clients must send it)"))
            return try reply(envelope: frames[...0], outcome, started: started, audited: audited)
        }
        let body = frames[(delimiter + 1)...]
        let bytes = body.reduce(0) { $0 + $1.count }
        if inlineIfSmall && Self.isSmall(header, body) {
            if header?.op == Operation.score.rawValue,
               try answerPlainScore(frames, delimiter: delimiter, started: started, audited: audited, scratch: &scratch) { return }
            // A STATS counts itself as received, as it does when a worker answers it.
            if header?.op == Operation.stats.rawValue { handler.stats.setReceived(received) }
            try reply(envelope: frames[...delimiter], handler.handle(body), started: started, audited: audited)
        } else if let refusal = admissionRefusal(bytes) {
            let outcome = handler.errorReply(op: header?.op ?? 0, requestID: header?.requestID ?? 0,
                                             version: handler.store.current()?.servingVersion ?? 0, WireError(.overloaded, refusal))
            try reply(envelope: frames[...delimiter], outcome, started: started, audited: audited)
        } else if let worker = idle.popLast() {
            hold(bytes)
            atWorker[worker] = bytes
            handler.stats.setLoad(atWorker: atWorker.count, queued: queuedCount, received: received)
            if let audited { holdForAudit(audited, frames) }
            forward(frames, to: worker)
        } else if queuedCount < maxQueued {
            hold(bytes)
            pending.append((frames, bytes))
            handler.stats.setLoad(atWorker: atWorker.count, queued: queuedCount, received: received)
            if let audited { holdForAudit(audited, frames) }
        } else {
            let outcome = handler.errorReply(op: header?.op ?? 0, requestID: header?.requestID ?? 0,
                version: handler.store.current()?.servingVersion ?? 0,
                WireError(.overloaded, "all \(workers) workers are busy and \(maxQueued) requests are queued; retry later"))
            try reply(envelope: frames[...delimiter], outcome, started: started, audited: audited)
        }
    }

    /// Answers a small SCORE without flags on the short path of
    /// ``RequestHandler/answerPlainScore(_:into:pool:)``, counted and audited as ``reply``
    /// does; false when that path does not take the request (the general one then answers it).
    private func answerPlainScore(_ frames: [ZMQFrame], delimiter: Int, started: UInt64, audited: AuditLog.Request?,
                                  scratch: inout Scratch) throws -> Bool {
        scratch.plainReply.removeAll(keepingCapacity: true)
        // After the send (or a failure) the reply's own frames go back to the pool; the
        // envelope's are still the request's, so the pool leaves them.
        defer { scratch.framePool?.recycle(&scratch.plainReply) }
        scratch.plainReply.append(contentsOf: frames[...delimiter])
        guard let answer = handler.answerPlainScore(frames[(delimiter + 1)...], into: &scratch.plainReply, pool: &scratch.framePool) else {
            return false
        }
        handler.stats.recordAtBroker(op: Operation.score.rawValue, status: .ok, rows: answer.rows,
                                     nanos: DispatchTime.now().uptimeNanoseconds &- started, received: received,
                                     served: answer.served, version: answer.version)
        if let audited, let audit {
            audited.finish(op: Operation.score.rawValue, status: 0, modelVersion: answer.version)
            audit.record(audited)
        }
        try deliver(scratch.plainReply)
        return true
    }

    private func reply(envelope: ArraySlice<ZMQFrame>, _ outcome: RequestHandler.Outcome, started: UInt64,
                       audited: AuditLog.Request? = nil) throws {
        // One allocation for the reply's frames.
        var frames: [ZMQFrame] = []
        frames.reserveCapacity(envelope.count + 1 + outcome.frames.count)
        frames.append(contentsOf: envelope)
        frames.append(try OutgoingFrame.header(outcome.header).toMessage())
        for frame in outcome.frames { frames.append(try frame.toMessage()) }
        // Counted before it is sent, as the workers do.
        handler.stats.recordAtBroker(op: outcome.op, status: outcome.status, rows: outcome.rows,
                                     nanos: DispatchTime.now().uptimeNanoseconds &- started, received: received,
                                     served: outcome.served, messages: outcome.servedMessages, version: outcome.header.modelVersion)
        if let audited, let audit {
            audited.finish(op: outcome.header.op, status: outcome.header.status, modelVersion: outcome.header.modelVersion)
            audit.record(audited)
        }
        try deliver(frames)
    }
}

// The access audit trail: who sent each request, and how it ended.
extension Broker {
    /// A request handed to a worker, by its connection (the ROUTER identity) and request id.
    struct AuditKey: Hashable {
        var identity: [UInt8]
        var requestID: UInt64
    }

    /// What the audit trail says of a request before it is answered: its client key and that
    /// key's file (with CURVE), its peer's address, its op and id, and the rows it sends.
    private func auditRequest(_ frames: [ZMQFrame], delimiter: Int?, header: RequestHeader?, started: UInt64) -> AuditLog.Request {
        let wire = frames.count > 1 ? frames[1] : nil  // frames[0] is the ROUTER's identity, made here
        let client = authorizedKeys == nil ? nil : wire?.property("User-Id")
        let keyFile = client.flatMap { key in authorizedKeys?.withLock { $0.file(z85: key) } }
        let address = wire?.property("Peer-Address").flatMap { $0.isEmpty ? nil : $0 }
        var rows: Int?
        if let header, let delimiter, delimiter + 2 < frames.count,
           [Operation.score, .explain, .records, .history].contains(where: { $0.rawValue == header.op }) {
            let counts = frames[delimiter + 2].bytes
            if counts.count >= 4 { rows = Int(UInt32(littleEndian: counts.loadUnaligned(as: UInt32.self))) }
        }
        return AuditLog.Request(client: client, keyFile: keyFile, address: address, op: header?.op ?? 0,
                                requestID: header?.requestID ?? 0, rows: rows, started: started)
    }

    /// Keeps a request handed to a worker (or queued for one) until its reply comes back.
    private func holdForAudit(_ entry: AuditLog.Request, _ frames: [ZMQFrame]) {
        auditPending[AuditKey(identity: frames[0].array, requestID: entry.requestID), default: []].append(entry)
    }

    /// Records a worker's reply (envelope, delimiter, reply header, ...) with what was kept of
    /// its request.
    private func auditWorkerReply(_ reply: [ZMQFrame]) {
        guard let audit, let delimiter = reply.dropFirst().firstIndex(where: { $0.count == 0 }),
              delimiter + 1 < reply.count else { return }
        let header = reply[delimiter + 1].bytes
        guard header.count >= WireFormat.replyHeaderSize else { return }
        let op = header[5]
        let status = UInt16(littleEndian: header.loadUnaligned(fromByteOffset: 6, as: UInt16.self))
        let requestID = UInt64(littleEndian: header.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        let version = UInt64(littleEndian: header.loadUnaligned(fromByteOffset: 16, as: UInt64.self))
        let key = AuditKey(identity: reply[0].array, requestID: requestID)
        let entry: AuditLog.Request
        if var held = auditPending[key], !held.isEmpty {
            entry = held.removeFirst()
            auditPending[key] = held.isEmpty ? nil : held
        } else {
            // Not expected: every request handed to a worker is held. Said, not dropped.
            entry = AuditLog.Request(client: nil, keyFile: nil, address: nil, op: op, requestID: requestID, rows: nil, started: 0)
        }
        entry.finish(op: op, status: status, modelVersion: version)
        audit.record(entry)
    }
}

// Admission by bytes, reply delivery, per-request key checks and handing memory back.
extension Broker {
    /// Why a request of `bytes` cannot be admitted now, or nil when it can.
    private func admissionRefusal(_ bytes: Int) -> String? {
        guard bytes > Self.exemptBytes else { return nil }
        let queued = heldRequestBytes + OutgoingMemory.current
        peakSinceTrim = max(peakSinceTrim, queued + bytes)  // a refused request was in memory too
        if bytes > maxQueuedBytes {
            return "the request's \(bytes) bytes are more than the daemon's --max-queued-bytes (\(maxQueuedBytes)); send smaller batches"
        }
        if queued + bytes > maxQueuedBytes {
            return "\(queued) bytes of requests and replies are queued and this request's \(bytes) would pass --max-queued-bytes (\(maxQueuedBytes)); retry later"
        }
        return nil
    }

    /// Counts an admitted request's bytes until its worker answers.
    private func hold(_ bytes: Int) {
        heldRequestBytes += bytes
        peakSinceTrim = max(peakSinceTrim, heldRequestBytes + OutgoingMemory.current)
        handler.stats.setHeldRequestBytes(heldRequestBytes)
    }

    /// Releases the bytes of the request `worker` has just answered.
    private func release(_ worker: [UInt8]) {
        guard let bytes = atWorker.removeValue(forKey: worker) else { return }
        handler.stats.setLoad(atWorker: atWorker.count, queued: queuedCount, received: received, takingBack: true)
        heldRequestBytes -= bytes
        peakSinceTrim = max(peakSinceTrim, heldRequestBytes + OutgoingMemory.current)
        handler.stats.setHeldRequestBytes(heldRequestBytes)
    }

    /// Sends a reply to its client without blocking; a client that is not reading (its queue
    /// is at `ZMQ_SNDHWM`) or has gone loses it, counted and logged at most every 10 s.
    private func deliver(_ frames: [ZMQFrame]) throws {
        if try front.trySend(frames) { return }
        // The send side learns how far libzmq's I/O thread has read only from commands it
        // processes at most once a millisecond while sending: a burst of replies to a client
        // that is reading can look like a full queue. Reading ZMQ_EVENTS processes them now.
        _ = try? front.get(ZMQ_EVENTS)
        if try front.trySend(frames) { return }
        handler.stats.recordReplyDropped()
        droppedSinceLog += 1
        let now = DispatchTime.now().uptimeNanoseconds
        if lastDropLog == 0 || now &- lastDropLog > 10_000_000_000 {
            logger.warning("replies dropped: the client is not reading its replies (its queue is at --max-replies-per-client) or has disconnected",
                           metadata: ["dropped": "\(droppedSinceLog)"])
            lastDropLog = now
            droppedSinceLog = 0
        }
    }

    /// With CURVE: a refusal when the key of the connection `frames` came on (the ZAP
    /// `User-Id` of a frame read from the wire) is no longer in the authorized set.
    private func revokedKeyRefusal(_ frames: [ZMQFrame]) -> WireError? {
        guard let keys = authorizedKeys else { return nil }
        let user = frames.count > 1 ? frames[1].property("User-Id") : nil
        if let user, keys.withLock({ $0.contains(z85: user) }) { return nil }
        handler.stats.recordRevokedKeyRequest()
        let key = user ?? "unknown"
        let now = DispatchTime.now().uptimeNanoseconds
        if revokedLogged.count > 1024 { revokedLogged.removeAll() }
        if revokedLogged[key].map({ now &- $0 > 10_000_000_000 }) ?? true {
            revokedLogged[key] = now
            logger.warning("request refused: client key no longer authorized", metadata: [
                "client_key": "\(key)", "address": "\(frames.count > 1 ? frames[1].property("Peer-Address") ?? "" : "")",
            ])
        }
        return WireError(.forbidden, "this connection's CURVE key is no longer in the daemon's --authorized-keys directory")
    }

    /// Hands freed memory back to the system (`malloc_trim`) once the bytes held have fallen
    /// to a quarter of a peak of at least ``trimAfterBytes``, at most once a second: glibc
    /// otherwise keeps large freed buffers in its arenas, and the daemon would stay at its
    /// peak size long after the client that caused it has left.
    private func returnMemoryIfIdle() {
        guard peakSinceTrim >= Self.trimAfterBytes else { return }
        let now = DispatchTime.now().uptimeNanoseconds
        guard now &- lastTrim > 1_000_000_000 else { return }
        let queued = heldRequestBytes + OutgoingMemory.current
        guard queued * 4 < peakSinceTrim else { return }
        lastTrim = now
        peakSinceTrim = queued
        #if os(Linux)
        malloc_trim(0)
        #endif
    }
}
