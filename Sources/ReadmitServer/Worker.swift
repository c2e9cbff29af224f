import CZeroMQ
import Foundation
import Logging

/// One worker thread: a DEALER on the broker's inproc backend that handles one request at a time.
///
/// Protocol with the broker: the worker announces itself with one frame `R`; afterwards each
/// message it receives is a client's envelope (identity frames through the empty delimiter)
/// followed by the request frames, and it answers with the envelope and the reply frames.
/// A single frame `STOP` ends the thread.
enum Worker {
    static let ready: [UInt8] = Array("R".utf8)
    static let stop: [UInt8] = Array("STOP".utf8)

    /// Runs the worker loop until told to stop or the context ends; `failedToStart` is called
    /// (instead of announcing the worker) when its socket cannot be opened.
    static func run(index: Int, context: ZMQContext, backend: String, handler: RequestHandler, logger: Logger,
                    failedToStart: @Sendable (String) -> Void) {
        let socket: ZMQSocket
        do {
            socket = try ZMQSocket(context, type: ZMQ_DEALER)
        } catch {
            failedToStart("worker \(index) cannot open its socket: \(error)")
            return
        }
        defer { socket.close() }
        do {
            try socket.set(ZMQ_LINGER, 0)
            try socket.set(ZMQ_ROUTING_ID, bytes: Array("w\(index)".utf8))
            try socket.connect(backend)
        } catch {
            failedToStart("worker \(index) cannot connect its socket: \(error)")
            return
        }
        do {
            try socket.send([ready])
            while let frames = try socket.receive() {
                if frames.count == 1 && frames[0].count == stop.count && frames[0].array == stop { break }
                let started = DispatchTime.now().uptimeNanoseconds
                // The broker guarantees an empty delimiter frame is present.
                let delimiter = frames.firstIndex { $0.count == 0 } ?? 0
                let outcome = handler.handle(frames[(delimiter + 1)...])
                var reply: [ZMQFrame] = []
                reply.reserveCapacity(delimiter + 2 + outcome.frames.count)
                reply.append(contentsOf: frames[...delimiter])
                reply.append(try OutgoingFrame.header(outcome.header).toMessage())
                for frame in outcome.frames { reply.append(try frame.toMessage()) }
                // Counted before it is sent: a client that has its reply and asks for STATS
                // finds its request among the answered ones, and not among the running.
                let nanos = DispatchTime.now().uptimeNanoseconds &- started
                handler.stats.recordAtWorker(op: outcome.op, status: outcome.status, rows: outcome.rows, nanos: nanos,
                                             served: outcome.served, messages: outcome.servedMessages, version: outcome.header.modelVersion)
                try socket.send(reply)
                if outcome.status != .ok {
                    // Status and location only: error messages may quote a feature value.
                    logger.debug("request refused", metadata: ["op": "\(outcome.op)", "status": "\(outcome.status.name)"])
                }
            }
        } catch let error where error.terminated {
            // Context shut down: normal exit.
        } catch {
            logger.critical("worker \(index) stopped: \(error)")
        }
    }
}
