import CZeroMQ
import Foundation
import Logging
import ReadmitCore
import ReadmitKeys
import ReadmitParallel
import ReadmitWire

/// The daemon: loads the model, binds the front socket, starts the broker, the workers and
/// (with CURVE) the ZAP handler, and stops them in order.
///
/// Thread layout, one ZeroMQ socket per thread: the broker owns the front ROUTER, the inproc
/// backend ROUTER and the control PULL; each worker owns a DEALER; the ZAP handler owns a REP.
public final class Server: @unchecked Sendable {
    /// Why the daemon could not start.
    public struct StartError: Error, Sendable, CustomStringConvertible {
        /// The message.
        public let message: String
        /// The message.
        public var description: String { message }
    }

    private let config: ServerConfiguration
    private let logger: Logger
    /// The model holder (reloads go through it).
    public let store: ModelStore
    /// Counters and latencies.
    public let stats = ServerStats()
    private let phaseState = Locked(ServerPhase.starting)
    private let context: ZMQContext
    private let authorizedKeys = Locked(AuthorizedKeys(keys: [:]))
    private let zapStop = Locked(false)
    private let stopRequested = Locked(false)
    private var threads: [JoinableThread] = []
    private var brokerThread: JoinableThread?
    private var zapThread: JoinableThread?
    /// The access audit trail (`--audit-log`), open from the start.
    private var audit: AuditLog?
    /// The socket files of the ipc:// endpoints bound, removed at the stop.
    private var ipcFiles: [IPCSocketFile] = []
    private let controlEndpoint = "inproc://readmitd-control"
    private let backendEndpoint = "inproc://readmitd-workers"

    /// Prepares a server; nothing is bound until ``start()``.
    public init(configuration: ServerConfiguration, loader: @escaping ModelLoader, logger: Logger) throws {
        config = configuration
        self.logger = logger
        // Before libzmq's and the workers' threads exist: they then share the one arena.
        if !ArenaPolicy.apply() {
            logger.debug("large request buffers stay with the allocator's default (mapped and unmapped per request)")
        }
        store = ModelStore(configuredPath: configuration.modelPath, loader: loader, logger: logger)
        context = try ZMQContext(ioThreads: 1)
    }

    /// Loads the model, binds every endpoint and starts the threads. Throws (and binds
    /// nothing further) on a bad key, a refused endpoint, a model that fails to load, or a
    /// bind error.
    public func start() throws {
        let curve = config.curveSecretKeyPath != nil
        if curve != (config.authorizedKeysDirectory != nil) {
            throw StartError(message: "--curve-secret-key and --authorized-keys must be given together")
        }
        guard !config.endpoints.isEmpty else { throw StartError(message: "no --endpoint given") }
        guard (1...ServerConfiguration.maxWorkers).contains(config.workers) else {
            throw StartError(message: "--workers must be from 1 to \(ServerConfiguration.maxWorkers), got \(config.workers)")
        }
        // 0 rows refused every request but HEALTH, STATS and INFO while the daemon looked well.
        guard config.maxRows >= 1 else { throw StartError(message: "--max-rows must be at least 1, got \(config.maxRows)") }
        // A NaN deadline never passes, so the drain would wait for ever (and inf means that too).
        guard config.drainTimeout.isFinite, config.drainTimeout >= 0 else {
            throw StartError(message: "--drain-timeout must be a number of seconds, 0 or more, got \(config.drainTimeout)")
        }
        guard config.maxQueuedBytes >= 1 else { throw StartError(message: "--max-queued-bytes must be at least 1") }
        guard config.maxRepliesPerClient >= 1, config.maxRepliesPerClient <= Int(Int32.max) else {
            throw StartError(message: "--max-replies-per-client must be at least 1")
        }
        for endpoint in config.endpoints {
            try EndpointPolicy.check(endpoint, curve: curve, insecure: config.insecure)
        }
        // Opened first, so that the first model load is in it; a path that cannot be an
        // append-only regular file stops the start (a trail that cannot be written is no trail).
        if let path = config.auditLogPath {
            do {
                let log = try AuditLog(path: path, logger: logger)
                log.start()
                audit = log
                store.audit.withLock { $0 = log }
                stats.setAudit(log)
            } catch {
                throw StartError(message: error.message)
            }
        }
        // Whatever stops the start from here (a model, a key, a bind), the trail says so and
        // what it holds is written before the daemon exits.
        var serving = false
        defer { if !serving { stopAudit(reason: "start failed") } }
        if config.modelPath != nil, case .failure(let error) = store.reload() {
            throw StartError(message: error.message)
        }
        if config.modelPath == nil {
            logger.warning("no --model given: serving HEALTH (not ready), STATS and RELOAD only")
        }

        // CURVE: the ZAP handler must be bound before the front socket binds.
        var serverKeys: CurveKeyPair?
        if let keyPath = config.curveSecretKeyPath, let dir = config.authorizedKeysDirectory {
            serverKeys = try CurveKeyPair.fromSecret(CurveKeyPair.readSecretKey(path: keyPath))
            let keys = try AuthorizedKeys.load(directory: dir)
            install(keys)
            logger.info("CURVE enabled", metadata: ["authorized_keys": "\(keys.keys.count)", "server_public_key": "\(serverKeys?.publicKey ?? "")"])
            let zap = SocketBox(try ZAPHandler.bind(context: context))
            let (keysRef, stats, stop, logger, audit) = (authorizedKeys, stats, zapStop, logger, audit)
            zapThread = JoinableThread(name: "readmitd-zap") {
                ZAPHandler.run(socket: zap.take(), keys: keysRef, stats: stats, stop: stop, logger: logger, audit: audit)
            }
        }

        let front = try ZMQSocket(context, type: ZMQ_ROUTER)
        try front.set(ZMQ_LINGER, 2000)
        try front.set(ZMQ_MAXMSGSIZE, int64: config.maxMessageBytes)
        // Replies wait per client up to this many; then the broker's non-blocking send fails
        // (ROUTER_MANDATORY: EAGAIN, or EHOSTUNREACH for a client gone) and the reply is dropped
        // and counted, instead of piling up for a client that never reads.
        try front.set(ZMQ_SNDHWM, Int32(config.maxRepliesPerClient))
        try front.set(ZMQ_ROUTER_MANDATORY, 1)
        stats.setMaxQueuedBytes(config.maxQueuedBytes)
        // The broker blocks on the front alone while no worker is busy; this bounds how long
        // it waits before looking at the control socket again.
        try front.set(ZMQ_RCVTIMEO, 100)
        if let serverKeys {
            try front.set(ZMQ_CURVE_SERVER, 1)
            try front.set(ZMQ_CURVE_SECRETKEY, string: serverKeys.secretKey)
            try front.set(ZMQ_ZAP_DOMAIN, string: ZAPHandler.domain)
        }
        // What each bind resolved to, for the start line: a `*` port becomes the port chosen.
        var boundEndpoints: [String] = []
        do {
            for endpoint in config.endpoints {
                for form in EndpointPolicy.bindForms(endpoint) {
                    // libzmq binds an IPv6 address only on a socket with ZMQ_IPV6 set; it is read at bind time.
                    try front.set(ZMQ_IPV6, form.ipv6 ? 1 : 0)
                    let file = IPCSocketFile(endpoint: form.endpoint)
                    try file?.checkBeforeBind()
                    do {
                        try front.bind(form.endpoint)
                        boundEndpoints.append(try front.lastEndpoint())
                    } catch {
                        guard form.optional else { throw error }
                        logger.info("\(endpoint): not also bound on \(form.endpoint) (\(error)); no IPv6 loopback here?")
                        continue
                    }
                    if var file {
                        file.recordBound()
                        ipcFiles.append(file)
                    }
                }
            }
        } catch {
            removeIPCFiles() // the ones bound before the failure
            throw error
        }
        let backend = try ZMQSocket(context, type: ZMQ_ROUTER)
        try backend.set(ZMQ_LINGER, 0)
        try backend.set(ZMQ_SNDHWM, 0)
        try backend.set(ZMQ_RCVHWM, 0)
        try backend.bind(backendEndpoint)
        let control = try ZMQSocket(context, type: ZMQ_PULL)
        try control.set(ZMQ_LINGER, 0)
        try control.bind(controlEndpoint)

        var decoder = RequestDecoder(maxRows: config.maxRows)
        decoder.deferredRecordsRows = deferredRecordsRows  // large RECORDS decoded a part per core
        let handler = RequestHandler(store: store, stats: stats, decoder: decoder,
                                     allowReloadPath: config.allowReloadPath, workers: config.workers, logger: logger)
        let workerFailure = Locked<String?>(nil)
        for i in 0..<config.workers {
            let (ctx, endpoint, logger) = (context, backendEndpoint, logger)
            threads.append(JoinableThread(name: "readmitd-worker-\(i)") {
                Worker.run(index: i, context: ctx, backend: endpoint, handler: handler, logger: logger) { failure in
                    workerFailure.withLock { $0 = $0 ?? failure }
                }
            })
        }
        let broker = SocketBox(Broker(front: front, backend: backend, control: control, handler: handler,
                                      workers: config.workers, workerFailure: workerFailure, maxQueued: config.maxQueued,
                                      maxQueuedBytes: config.maxQueuedBytes,
                                      authorizedKeys: config.authorizedKeysDirectory == nil ? nil : authorizedKeys,
                                      drainTimeout: config.drainTimeout, phase: phaseState, logger: logger, audit: audit))
        brokerThread = JoinableThread(name: "readmitd-broker") {
            let b = broker.take()
            b.run()
        }
        // The broker serves once every worker has announced itself; a worker that could not
        // open its socket never will, and the start fails naming why (it waited for ever).
        while phase == .starting && workerFailure.current == nil { usleep(1_000) }
        if let failure = workerFailure.current {
            removeIPCFiles()
            throw StartError(message: failure)
        }
        if let problem = TreeWalk.environmentProblem {
            logger.warning("\(problem); scoring with the \(TreeWalk.selected.rawValue) tree walk")
        }
        logger.info("readmitd serving", metadata: [
            "endpoints": "\(config.endpoints.joined(separator: ","))", "bound": "\(boundEndpoints.joined(separator: ","))",
            "workers": "\(config.workers)",
            "curve": "\(curve)", "model_version": "\(hexVersion(store.current()?.servingVersion ?? 0))",
            "tree_walk": "\(TreeWalk.selected.rawValue)",
        ])
        audit?.event("start", [("endpoints", .text(boundEndpoints.joined(separator: ","))), ("curve", .text(curve ? "on" : "off")),
                               ("authorized_keys", curve ? .number(UInt64(authorizedKeys.current.keys.count)) : .null),
                               ("model_version", .text(hexVersion(store.current()?.servingVersion ?? 0))),
                               ("pid", .number(UInt64(getpid())))])
        serving = true
    }

    /// Writes the trail's last event and what is still buffered, and stops its writer.
    private func stopAudit(reason: String) {
        audit?.event("stop", [("reason", .text(reason)), ("requests", .number(stats.totalRequests))])
        audit?.stop()
    }

    /// Where the daemon is in its life (starting, serving, draining, stopped).
    public var phase: ServerPhase { phaseState.current }

    /// The Prometheus text exposition of the counters: the same text as STATS with the
    /// Prometheus flag.
    public func prometheusText() -> String {
        stats.prometheus(store: store, workers: config.workers)
    }

    /// Re-reads the authorized keys (with CURVE) and the configured model: SIGHUP. Keys come
    /// first, so a revocation does not wait for a model to load and warm up.
    public func reloadFromSignal() {
        logger.info("SIGHUP: reloading")
        if let dir = config.authorizedKeysDirectory {
            do {
                let keys = try AuthorizedKeys.load(directory: dir)
                install(keys)
                audit?.event("keys_loaded", [("authorized_keys", .number(UInt64(keys.keys.count))), ("skipped", .number(UInt64(keys.skipped.count)))])
                logger.info("authorized keys reloaded", metadata: ["authorized_keys": "\(keys.keys.count)", "skipped": "\(keys.skipped.count)"])
            } catch {
                logger.error("authorized keys not reloaded; the previous set stays: \(error)")
            }
        }
        store.reload()
    }

    /// Makes `keys` the set the ZAP handler and the broker check, logging each skipped file.
    private func install(_ keys: AuthorizedKeys) {
        for file in keys.skipped {
            logger.error("authorized key file skipped", metadata: ["file": "\(file.name)", "reason": "\(file.reason)"])
        }
        if keys.keys.isEmpty { logger.warning("no authorized client keys: every CURVE client will be refused") }
        authorizedKeys.withLock { $0 = keys }
        stats.setKeys(authorized: keys.keys.count, skipped: keys.skipped.count)
    }

    /// Asks the broker to stop taking requests and drain (any thread; idempotent).
    public func requestStop() {
        let first = stopRequested.withLock { old -> Bool in defer { old = true }; return !old }
        guard first else { return }
        do {
            let push = try ZMQSocket(context, type: ZMQ_PUSH)
            try push.set(ZMQ_LINGER, 1000)
            try push.connect(controlEndpoint)
            try push.send([Array("stop".utf8)])
            push.close()
        } catch {
            logger.error("cannot signal the broker to stop: \(error)")
        }
    }

    /// Waits for the broker to drain and the workers to exit, then ends the ZeroMQ context
    /// (which flushes the last replies, up to the front socket's linger).
    public func wait() {
        brokerThread?.join()
        for thread in threads { thread.join(timeout: 5) }
        zapStop.withLock { $0 = true }
        zapThread?.join(timeout: 5)
        context.terminate()
        removeIPCFiles()
        stopAudit(reason: "stopped")
        logger.info("readmitd stopped", metadata: ["requests": "\(stats.totalRequests)"])
    }

    /// Removes the socket files of the ipc:// endpoints this daemon bound (each only while it
    /// is still the socket bound: ``IPCSocketFile/removeIfOurs()``).
    private func removeIPCFiles() {
        for file in ipcFiles { file.removeIfOurs() }
        ipcFiles = []
    }
}

/// Hands a non-Sendable value (a socket, the broker) to the one thread that will use it.
final class SocketBox<T>: @unchecked Sendable {
    private var value: T?
    init(_ value: T) { self.value = value }
    func take() -> T {
        guard let v = value else { preconditionFailure("SocketBox taken twice") }
        value = nil
        return v
    }
}
