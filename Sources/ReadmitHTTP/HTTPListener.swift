import FlyingFox
import FlyingSocks
import Foundation
import Logging
import ReadmitParallel
import ReadmitServer

/// readmitd's optional HTTP listener (`--http`): serves ``ProbeRoutes`` with FlyingFox on its
/// own tasks, apart from the ZeroMQ threads; a scrape takes the counters' lock once, as STATS does.
public final class HTTPListener: Sendable {
    /// Why the listener did not start (a bind error, or no answer within the wait).
    public struct StartError: Error, Sendable, CustomStringConvertible {
        /// The message, naming the address.
        public let message: String
        /// The message.
        public var description: String { message }
    }

    /// Whether it listens: FlyingFox's own error lines are logged only then (a failed start
    /// is reported by the caller, and closing the socket at stop ends its accept loop with one).
    enum State { case starting, listening, stopping }

    private let server: HTTPServer
    private let state: Locked<State>
    /// The address bound (the port the system chose for port 0).
    public let boundAddress: String

    private init(server: HTTPServer, state: Locked<State>, boundAddress: String) {
        self.server = server
        self.state = state
        self.boundAddress = boundAddress
    }

    /// Binds `address` and starts serving `routes`; returns once it listens, or throws if the
    /// bind failed or it did not listen within `timeout` seconds.
    public static func start(address: HTTPBindAddress, routes: ProbeRoutes, logger: Logger,
                             timeout: Double = 10) throws(StartError) -> HTTPListener {
        let server: HTTPServer
        let handler = ProbeHandler(routes: routes)
        let state = Locked(State.starting)
        let log = SwiftLogAdapter(logger: logger, state: state)
        do {
            if address.isIPv6 {
                server = HTTPServer(address: try sockaddr_in6.inet6(ip6: address.host, port: address.port),
                                    timeout: 10, pool: HTTPServer.defaultPool(), logger: log, handler: handler)
            } else {
                server = HTTPServer(address: try sockaddr_in.inet(ip4: address.host, port: address.port),
                                    timeout: 10, pool: HTTPServer.defaultPool(), logger: log, handler: handler)
            }
        } catch {
            throw StartError(message: "--http \(address): \(error)")
        }
        // The first of: listening (with the bound address), or run() failing (the bind).
        let outcome = Locked<Result<String, StartError>?>(nil)
        let settled = DispatchSemaphore(value: 0)
        @Sendable func settle(_ result: Result<String, StartError>) {
            let first = outcome.withLock { current -> Bool in
                guard current == nil else { return false }
                current = result
                return true
            }
            if first { settled.signal() }
        }
        Task {
            do {
                try await server.run()
            } catch {
                settle(.failure(StartError(message: "--http \(address): cannot listen: \(error)")))
                // After it listened and before stop(): the probes are gone, so say so.
                if state.current == .listening {
                    logger.error("HTTP listener stopped: \(error)", metadata: ["address": "\(address)"])
                }
            }
        }
        Task {
            do {
                try await server.waitUntilListening(timeout: timeout)
                let bound: String
                switch await server.listeningAddress {
                case .ip4(let host, let port): bound = "\(host):\(port)"
                case .ip6(let host, let port): bound = "[\(host)]:\(port)"
                default: bound = "\(address)"
                }
                settle(.success(bound))
            } catch {
                settle(.failure(StartError(message: "--http \(address): not listening after \(timeout) s: \(error)")))
            }
        }
        guard settled.wait(timeout: .now() + timeout + 5) == .success, let result = outcome.current else {
            throw StartError(message: "--http \(address): not listening after \(timeout) s")
        }
        switch result {
        case .success(let bound):
            state.withLock { $0 = .listening }
            return HTTPListener(server: server, state: state, boundAddress: bound)
        case .failure(let error): throw error
        }
    }

    /// Closes the listening socket, lets responses being written finish for up to 0.1 s, and
    /// ends the listener.
    ///
    /// FlyingFox's accept loop does not notice the closed socket (its poll is not woken), so
    /// its task always runs to the grace period's end: a grace of a second made every daemon
    /// with `--http` take a second longer to exit. A probe's response is a few hundred bytes,
    /// written in well under 0.1 s; a probe cut off by the daemon's own exit is retried.
    public func stop() {
        state.withLock { $0 = .stopping }
        let done = DispatchSemaphore(value: 0)
        let server = self.server
        Task {
            await server.stop(timeout: 0.1)
            done.signal()
        }
        _ = done.wait(timeout: .now() + 3)
    }
}

/// FlyingFox's handler over ``ProbeRoutes``.
private struct ProbeHandler: HTTPHandler {
    let routes: ProbeRoutes

    func handleRequest(_ request: HTTPRequest) async throws -> HTTPResponse {
        let answer = routes.respond(method: request.method.rawValue, path: request.path)
        var headers: HTTPHeaders = [.contentType: answer.contentType]
        for (name, value) in answer.headers { headers[HTTPHeader(name)] = value }
        return HTTPResponse(statusCode: HTTPStatusCode(answer.status, phrase: answer.reason), headers: headers,
                            body: Data(answer.body.utf8))
    }
}

/// FlyingFox's log lines into the daemon's logger: its per-connection and per-request lines
/// (info there) at debug, so a scrape every few seconds does not fill the log; its errors at
/// error only while the listener is up (see ``HTTPListener/State``).
private struct SwiftLogAdapter: FlyingSocks.Logging {
    let logger: Logger
    let state: Locked<HTTPListener.State>

    func logDebug(_ debug: @autoclosure () -> String) { logger.trace("http: \(debug())") }
    func logInfo(_ info: @autoclosure () -> String) { logger.debug("http: \(info())") }
    func logWarning(_ warning: @autoclosure () -> String) { logger.warning("http: \(warning())") }
    func logError(_ error: @autoclosure () -> String) { problem(error()) }
    func logCritical(_ critical: @autoclosure () -> String) { problem(critical()) }

    private func problem(_ message: String) {
        if state.current == .listening { logger.error("http: \(message)") } else { logger.debug("http: \(message)") }
    }
}
