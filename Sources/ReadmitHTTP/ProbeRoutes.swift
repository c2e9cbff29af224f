import ReadmitServer

/// What the HTTP listener answers, without any socket: `GET /metrics` (the Prometheus text
/// of the daemon's counters, the same as STATS with the Prometheus flag), `GET /healthz`
/// (200 while the serving loop runs), `GET /readyz` (200 only while requests can be scored);
/// `HEAD` as `GET` (the listener leaves the body out: RFC 9110 asks every server for both, and
/// monitors that check with `curl -I` saw a healthy daemon as 405); 405 for another method on
/// those paths, 404 for any other path.
public struct ProbeRoutes: Sendable {
    /// One answer: status code, reason phrase, content type and body.
    public struct Response: Sendable, Equatable {
        /// The HTTP status code.
        public var status: Int
        /// The reason phrase.
        public var reason: String
        /// The Content-Type header.
        public var contentType: String
        /// The body.
        public var body: String
        /// Extra headers (`Allow` on a 405).
        public var headers: [String: String] = [:]
    }

    /// The daemon's phase now.
    public var phase: @Sendable () -> ServerPhase
    /// Whether a model is loaded now.
    public var modelLoaded: @Sendable () -> Bool
    /// The Prometheus text now.
    public var metrics: @Sendable () -> String

    /// The Prometheus text format's content type (version 0.0.4).
    public static let prometheusContentType = "text/plain; version=0.0.4; charset=utf-8"
    private static let plain = "text/plain; charset=utf-8"

    /// Routes over explicit sources (tests, or another daemon).
    public init(phase: @escaping @Sendable () -> ServerPhase, modelLoaded: @escaping @Sendable () -> Bool,
                metrics: @escaping @Sendable () -> String) {
        self.phase = phase
        self.modelLoaded = modelLoaded
        self.metrics = metrics
    }

    /// Routes over a running `Server`.
    public init(server: Server) {
        self.init(phase: { server.phase }, modelLoaded: { server.store.current() != nil },
                  metrics: { server.prometheusText() })
    }

    /// The answer to `method` on `path` (the path without its query).
    public func respond(method: String, path: String) -> Response {
        let known = ["/metrics", "/healthz", "/readyz"]
        guard known.contains(path) else { return Response(status: 404, reason: "Not Found", contentType: Self.plain, body: "not found: \(path) (serving /metrics, /healthz, /readyz)\n") }
        guard method == "GET" || method == "HEAD" else {
            return Response(status: 405, reason: "Method Not Allowed", contentType: Self.plain,
                            body: "method \(method) not allowed on \(path): GET or HEAD only\n", headers: ["Allow": "GET, HEAD"])
        }
        switch path {
        case "/metrics":
            return Response(status: 200, reason: "OK", contentType: Self.prometheusContentType, body: metrics())
        case "/healthz":
            let now = phase()
            return now.loopRunning ? ok("ok: \(now.rawValue)\n") : unavailable("not serving: \(now.rawValue)\n")
        default:
            let now = phase()
            guard now == .serving else { return unavailable("not ready: \(now.rawValue)\n") }
            guard modelLoaded() else { return unavailable("not ready: no model loaded\n") }
            return ok("ready\n")
        }
    }

    private func ok(_ body: String) -> Response { Response(status: 200, reason: "OK", contentType: Self.plain, body: body) }
    private func unavailable(_ body: String) -> Response {
        Response(status: 503, reason: "Service Unavailable", contentType: Self.plain, body: body)
    }
}
