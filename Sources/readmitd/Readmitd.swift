import ArgumentParser
import Foundation
import Logging
import ReadmitCore
import ReadmitHTTP
import ReadmitServer

/// `readmitd`: serves a readmission model over ZeroMQ until SIGTERM/SIGINT.
@main
struct Readmitd: ParsableCommand {
    /// The smallest --max-message-bytes accepted.
    static let minimumMessageBytes: Int64 = 4096

    static let configuration = CommandConfiguration(
        commandName: "readmitd",
        abstract: "Serve a readmit model over ZeroMQ (wire protocol: docs/PROTOCOL.md).",
        discussion: """
        Stops on SIGTERM or SIGINT after finishing the requests in flight (exit 0). SIGHUP re-reads \
        the model file (and the authorized keys): the new model is validated and warmed up, then \
        swapped in atomically; if it fails to load, the old model keeps serving. Non-loopback tcp \
        endpoints need CURVE (--curve-secret-key with --authorized-keys) or --insecure. With \
        --http, GET /metrics (Prometheus text), /healthz and /readyz are served over HTTP; a \
        non-loopback --http address needs --http-allow-remote.
        """
    )

    @Option(help: "Model file to serve (re-read on SIGHUP and on RELOAD without a path).")
    var model: String?

    @Option(help: "Endpoint to bind, tcp:// or ipc:// (repeatable; default tcp://127.0.0.1:5555).")
    var endpoint: [String] = []

    @Option(help: "Worker threads, 1 to 512 (default: the number of cores).")
    var workers: Int?

    @Option(help: "Largest n_rows accepted in one request (default 1000000).")
    var maxRows: Int?

    @Option(help: "Largest inbound message frame in bytes (ZMQ_MAXMSGSIZE); larger ones make libzmq drop the peer (default 268435456).")
    var maxMessageBytes: Int?

    @Option(help: "Requests that may wait for a busy worker pool before new ones get OVERLOADED (default 256).")
    var maxQueued: Int?

    @Option(help: "Bytes of requests admitted and not yet answered plus large replies not yet sent, past which requests over 64 KiB get OVERLOADED (default 268435456).")
    var maxQueuedBytes: Int?

    @Option(help: "Replies queued for one client connection; further replies to a client that is not reading them are dropped and counted (default 1000; a client reading its replies can keep about half that many requests in flight).")
    var maxRepliesPerClient: Int?

    @Option(help: "Seconds to let requests in flight finish on SIGTERM (default 30).")
    var drainTimeout: Double?

    @Option(help: "This daemon's CURVE secret key file (from `readmit keys`); enables CURVE encryption and client authentication.")
    var curveSecretKey: String?

    @Option(help: "Directory of client public key files allowed to connect (required with --curve-secret-key).")
    var authorizedKeys: String?

    @Flag(help: "Allow binding a non-loopback tcp endpoint without CURVE.")
    var insecure = false

    @Flag(help: "Allow RELOAD requests that name a model file path.")
    var allowReloadPath = false

    @Option(help: ArgumentHelp("Serve GET /metrics, /healthz and /readyz over HTTP on PORT (127.0.0.1), HOST:PORT or [IPV6]:PORT (off by default).", valueName: "address"))
    var http: String?

    @Flag(help: "Allow --http on a non-loopback address (the listener has no authentication; it serves no patient data).")
    var httpAllowRemote = false

    @Option(help: ArgumentHelp("Append the access audit trail to FILE (- for standard output): a JSON line per request answered (time, client key, address, operation, rows, status, model), per CURVE client refused, and per start, model load and stop; never a patient's values. Created with mode 0600; a rotated (moved) file is reopened at the path.", valueName: "file"))
    var auditLog: String?

    @Option(help: "Settings file of 'name = value' lines with these flags' names; flags win. Relative paths in it are read against its folder.")
    var config: String?

    @Option(help: "trace, debug, info, notice, warning, error or critical (default info).")
    var logLevel: String?

    mutating func run() throws {
        // Before any thread exists, so only the signal thread receives them.
        SignalWatcher.blockSignals()
        let file = try config.map(ConfigFile.load) ?? ConfigFile()
        let levelName = logLevel ?? file.string("log-level") ?? "info"
        guard let level = Logger.Level(rawValue: levelName) else {
            throw ValidationError("--log-level \(levelName) is not one of trace, debug, info, notice, warning, error, critical")
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "readmitd")

        var settings = ServerConfiguration()
        settings.modelPath = model ?? file.path("model")
        let endpoints = endpoint.isEmpty ? file.endpoints : endpoint
        if !endpoints.isEmpty { settings.endpoints = endpoints }
        settings.workers = try workers ?? file.int("workers") ?? ProcessInfo.processInfo.activeProcessorCount
        settings.maxRows = try maxRows ?? file.int("max-rows") ?? settings.maxRows
        settings.maxMessageBytes = Int64(try maxMessageBytes ?? file.int("max-message-bytes") ?? Int(settings.maxMessageBytes))
        settings.maxQueued = try maxQueued ?? file.int("max-queued") ?? settings.maxQueued
        settings.maxQueuedBytes = try maxQueuedBytes ?? file.int("max-queued-bytes") ?? settings.maxQueuedBytes
        settings.maxRepliesPerClient = try maxRepliesPerClient ?? file.int("max-replies-per-client") ?? settings.maxRepliesPerClient
        settings.drainTimeout = try drainTimeout ?? file.seconds("drain-timeout") ?? settings.drainTimeout
        settings.curveSecretKeyPath = curveSecretKey ?? file.path("curve-secret-key")
        settings.authorizedKeysDirectory = authorizedKeys ?? file.path("authorized-keys")
        settings.insecure = try insecure || (file.bool("insecure") ?? false)
        settings.allowReloadPath = try allowReloadPath || (file.bool("allow-reload-path") ?? false)
        settings.auditLogPath = auditLog ?? (file.string("audit-log") == "-" ? "-" : file.path("audit-log"))
        // libzmq drops the peer of a larger frame, and its client sees only a timeout: 10 bytes
        // dropped every request. 4 KiB holds the one-row SCORE matrix of a model of 512
        // features (8 bytes each); a smaller limit bounds nothing that --max-rows does not.
        guard settings.maxMessageBytes >= Self.minimumMessageBytes else {
            throw ValidationError("--max-message-bytes must be at least \(Self.minimumMessageBytes) (the one-row request of a model of 512 features), got \(settings.maxMessageBytes)")
        }
        guard settings.maxQueued >= 0 else {
            throw ValidationError("--max-queued must not be negative, got \(settings.maxQueued)")
        }
        guard settings.maxQueuedBytes > 0, (1...Int(Int32.max)).contains(settings.maxRepliesPerClient) else {
            throw ValidationError("--max-queued-bytes and --max-replies-per-client must be at least 1")
        }

        let httpAddress: HTTPBindAddress?
        do {
            let allowRemote = try httpAllowRemote || (file.bool("http-allow-remote") ?? false)
            httpAddress = try (http ?? file.string("http")).map { value throws(HTTPBindAddress.Invalid) in
                try HTTPBindAddress.parse(value, allowRemote: allowRemote)
            }
        } catch {
            logger.critical("cannot start: \(error)")
            throw ExitCode(1)
        }

        let server = try Server(configuration: settings, loader: { path in try ReadmitModel.load(path: path) }, logger: logger)
        // The HTTP listener starts first, so /readyz answers 503 (and /healthz 503 "starting")
        // while the model loads.
        var listener: HTTPListener?
        do {
            if let httpAddress {
                listener = try HTTPListener.start(address: httpAddress, routes: ProbeRoutes(server: server), logger: logger)
                logger.info("HTTP probes and metrics listening", metadata: ["address": "\(listener?.boundAddress ?? "")"])
            }
            try server.start()
        } catch {
            logger.critical("cannot start: \(error)")
            listener?.stop()
            throw ExitCode(1)
        }
        SignalWatcher.start(onStop: { signal in
            logger.info("received \(signal == SIGINT ? "SIGINT" : "SIGTERM")")
            server.requestStop()
        }, onReload: { server.reloadFromSignal() })
        server.wait()
        listener?.stop()
    }
}
