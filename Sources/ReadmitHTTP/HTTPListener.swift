import Foundation
import Logging
import ReadmitParallel

/// readmitd's optional HTTP listener (`--http`): serves ``ProbeRoutes`` on one thread of its
/// own, apart from the ZeroMQ threads; a scrape takes the counters' lock once, as STATS does.
///
/// A plain `poll(2)` loop over non-blocking sockets, written here because what it serves is
/// three GET routes of a few KB, and what it must guarantee is that no client can make it
/// spend: a request head is at most ``HTTPRequestHead/maxBytes`` (else 431), each byte looked at
/// once; a connection that has not sent its request (or read its answer) within
/// ``requestTimeout`` is closed; at most ``maxConnections`` are open, and a new one closes the
/// longest-waiting idle one, so clients that connect and send nothing cannot keep the kubelet's
/// probe out. FlyingFox, used before, failed the first and kept idle connections forever; a
/// server on SwiftNIO would do it at the cost of a large build for three routes.
public final class HTTPListener: Sendable {
    /// Why the listener did not start (a bind error).
    public struct StartError: Error, Sendable, CustomStringConvertible {
        /// The message, naming the address.
        public let message: String
        /// The message.
        public var description: String { message }
    }

    /// Most connections open at once; one more closes the longest-waiting idle one.
    static let maxConnections = 64
    /// Seconds a connection may take to send a request head (counted from its accept or from
    /// its previous answer) and to read its answer.
    static let requestTimeout = 10.0
    /// Seconds a connection answered for the last time is read from before it is closed.
    static let lingerTimeout = 2.0

    /// The address bound (the port the system chose for port 0).
    public let boundAddress: String
    private let wakeWrite: Int32
    private let finished = DispatchSemaphore(value: 0)
    private let stopped = Locked(false)

    private init(boundAddress: String, wakeWrite: Int32) {
        self.boundAddress = boundAddress
        self.wakeWrite = wakeWrite
    }

    /// Binds `address` and starts serving `routes`; throws if it cannot listen there.
    public static func start(address: HTTPBindAddress, routes: ProbeRoutes, logger: Logger) throws(StartError) -> HTTPListener {
        func failure(_ what: String, _ code: Int32 = errno) -> StartError {
            StartError(message: "--http \(address): cannot listen: \(what): \(String(cString: strerror(code)))")
        }
        let family = address.isIPv6 ? AF_INET6 : AF_INET
        let listening = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard listening >= 0 else { throw failure("socket") }
        var one: Int32 = 1
        _ = setsockopt(listening, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        func bindTo<Address>(_ socketAddress: Address) -> Int32 {
            withUnsafePointer(to: socketAddress) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listening, $0, socklen_t(MemoryLayout<Address>.size)) }
            }
        }
        var bound: Int32
        if address.isIPv6 {
            _ = setsockopt(listening, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &one, socklen_t(MemoryLayout<Int32>.size))
            var sa = sockaddr_in6()
            sa.sin6_family = sa_family_t(AF_INET6)
            sa.sin6_port = address.port.bigEndian
            _ = inet_pton(AF_INET6, address.host, &sa.sin6_addr)
            bound = bindTo(sa)
        } else {
            var sa = sockaddr_in()
            sa.sin_family = sa_family_t(AF_INET)
            sa.sin_port = address.port.bigEndian
            _ = inet_pton(AF_INET, address.host, &sa.sin_addr)
            bound = bindTo(sa)
        }
        if bound == 0 { bound = listen(listening, 128) }
        guard bound == 0 else {
            let code = errno
            close(listening)
            throw failure("bind", code)
        }
        var pipeEnds: [Int32] = [-1, -1]
        guard pipe(&pipeEnds) == 0, nonBlockingCloseOnExec(pipeEnds[0]), nonBlockingCloseOnExec(pipeEnds[1]) else {
            let code = errno
            close(listening)
            throw failure("pipe", code)
        }
        let listener = HTTPListener(boundAddress: boundName(listening, address), wakeWrite: pipeEnds[1])
        let loop = ConnectionLoop(listening: listening, wake: pipeEnds[0], routes: routes, logger: logger)
        let thread = Thread { [finished = listener.finished] in
            loop.run()
            finished.signal()
        }
        thread.name = "readmitd-http"
        thread.start()
        return listener
    }

    /// Closes the listening socket and every connection (an answer being written is cut off:
    /// a probe cut off by the daemon's exit is retried), and waits for the thread to end.
    public func stop() {
        let first = stopped.withLock { wasStopped -> Bool in
            defer { wasStopped = true }
            return !wasStopped
        }
        guard first else { return }
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
        _ = finished.wait(timeout: .now() + 3)
        close(wakeWrite)
    }

    /// `HOST:PORT` as bound (the chosen port for port 0).
    private static func boundName(_ fd: Int32, _ address: HTTPBindAddress) -> String {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let got = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard got == 0 else { return address.description }
        let port = withUnsafePointer(to: &storage) { pointer -> UInt16 in
            if address.isIPv6 {
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) }
            }
            return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
        }
        return address.isIPv6 ? "[\(address.host)]:\(port)" : "\(address.host):\(port)"
    }
}

/// The listener's thread: accepts, reads heads, writes answers, closes what is done or late.
private final class ConnectionLoop: @unchecked Sendable {
    /// One client connection.
    struct Connection {
        let fd: Int32
        /// Bytes received and not yet answered (a head, or the start of one).
        var received: [UInt8] = []
        /// Answer bytes not yet written.
        var outgoing: [UInt8] = []
        var written = 0
        /// Close once `outgoing` is written.
        var closeAfterAnswer = false
        /// Its last answer is written and its sending side shut: what it still sends is read
        /// and dropped until it closes or ``HTTPListener/lingerTimeout`` passes. Closing at once
        /// with its bytes unread (a body, the rest of a head too large) would send a reset,
        /// and the client could lose the answer before reading it.
        var lingering = false
        /// When it is closed if it has not sent a head (or read its answer) by then.
        var deadline: Double
        /// Whether it is waiting for a request with nothing received: the one closed first when
        /// a new connection needs room.
        var idle: Bool { lingering || (received.isEmpty && written >= outgoing.count) }
    }

    let listening: Int32
    let wake: Int32
    let routes: ProbeRoutes
    let logger: Logger
    private var connections: [Connection] = []
    private var readBuffer = [UInt8](repeating: 0, count: 16 << 10)
    /// Most answers queued on one connection at once.
    static let maxPipelined = 16

    init(listening: Int32, wake: Int32, routes: ProbeRoutes, logger: Logger) {
        self.listening = listening
        self.wake = wake
        self.routes = routes
        self.logger = logger
    }

    private static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

    func run() {
        defer {
            for connection in connections { close(connection.fd) }
            close(listening)
            close(wake)
        }
        while true {
            var fds = [pollfd(fd: wake, events: Int16(POLLIN), revents: 0), pollfd(fd: listening, events: Int16(POLLIN), revents: 0)]
            for connection in connections {
                let writing = connection.written < connection.outgoing.count
                fds.append(pollfd(fd: connection.fd, events: Int16(writing ? POLLOUT : POLLIN), revents: 0))
            }
            let now = Self.now()
            let nearest = connections.map(\.deadline).min() ?? now + 1
            let waitMs = Int32(max(0, min(1_000, (nearest - now) * 1_000)).rounded(.up))
            let ready = poll(&fds, nfds_t(fds.count), waitMs)
            if ready < 0 && errno != EINTR {
                logger.error("http: poll failed: \(String(cString: strerror(errno))); the listener stops")
                return
            }
            if fds[0].revents != 0 { return }
            // Connections first (their indices match `fds`), then new ones, then the late.
            var index = connections.count - 1
            while index >= 0 {
                let events = fds[index + 2].revents
                if events != 0 && !service(index, events) { drop(index) }
                index -= 1
            }
            if fds[1].revents & Int16(POLLIN) != 0 { acceptNew() }
            let after = Self.now()
            index = connections.count - 1
            while index >= 0 {
                if connections[index].deadline <= after {
                    if !connections[index].lingering {
                        logger.debug("http: connection closed: no request or answer read within \(HTTPListener.requestTimeout) s")
                    }
                    drop(index)
                }
                index -= 1
            }
        }
    }

    private func drop(_ index: Int) {
        close(connections[index].fd)
        connections.remove(at: index)
    }

    /// Accepts what is waiting (bounded), making room by closing the longest-waiting idle
    /// connection, or the oldest, when all are taken.
    private func acceptNew() {
        for _ in 0..<HTTPListener.maxConnections {
            let fd = accept(listening, nil, nil)
            guard fd >= 0 else { return }
            guard nonBlockingCloseOnExec(fd) else {
                close(fd)
                continue
            }
            if connections.count >= HTTPListener.maxConnections {
                let victim = connections.indices.filter { connections[$0].idle }.min { connections[$0].deadline < connections[$1].deadline }
                    ?? connections.indices.min { connections[$0].deadline < connections[$1].deadline }
                if let victim {
                    logger.debug("http: \(HTTPListener.maxConnections) connections open: closed the longest-waiting one")
                    drop(victim)
                }
            }
            connections.append(Connection(fd: fd, deadline: Self.now() + HTTPListener.requestTimeout))
        }
    }

    /// Reads or writes what `events` allow on connection `index`; false when it is to be closed.
    private func service(_ index: Int, _ events: Int16) -> Bool {
        if connections[index].written < connections[index].outgoing.count {
            return writeSome(index)
        }
        guard events & Int16(POLLIN | POLLHUP | POLLERR) != 0 else { return true }
        let got = readBuffer.withUnsafeMutableBytes { recv(connections[index].fd, $0.baseAddress, $0.count, 0) }
        if got == 0 { return false }
        if got < 0 { return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR }
        if connections[index].lingering { return true }
        connections[index].received.append(contentsOf: readBuffer[0..<got])
        return answerWhatArrived(index)
    }

    /// Answers every complete head received (pipelined requests in order), then writes.
    private func answerWhatArrived(_ index: Int) -> Bool {
        var consumed = 0, answered = 0
        // At most `maxPipelined` answers are queued at once (the rest once they are written), so
        // a read of many tiny requests does not become megabytes of answers held here.
        while !connections[index].closeAfterAnswer && answered < Self.maxPipelined {
            let received = connections[index].received
            switch HTTPRequestHead.parse(received[consumed...]) {
            case .incomplete:
                break
            case .tooLarge:
                queue(index, status: 431, reason: "Request Header Fields Too Large",
                      body: "request head larger than \(HTTPRequestHead.maxBytes) bytes\n", close: true)
            case .malformed(let why):
                queue(index, status: 400, reason: "Bad Request", body: "bad request: \(why)\n", close: true)
            case .unsupportedVersion(let version):
                queue(index, status: 505, reason: "HTTP Version Not Supported",
                      body: "\(version.prefix(32)) is not supported: HTTP/1.1 or HTTP/1.0\n", close: true)
            case .head(let head):
                consumed += head.length
                answered += 1
                let answer = routes.respond(method: head.method, path: head.path)
                // A HEAD's answer has the headers a GET's would have, and no body (RFC 9110).
                queue(index, status: answer.status, reason: answer.reason, body: answer.body,
                      contentType: answer.contentType, headers: answer.headers, close: !head.keepAlive,
                      withBody: head.method != "HEAD")
                continue
            }
            break
        }
        if connections[index].closeAfterAnswer {
            connections[index].received = []
        } else if consumed > 0 {
            connections[index].received.removeFirst(consumed)
        }
        return connections[index].written < connections[index].outgoing.count ? writeSome(index) : true
    }

    private func queue(_ index: Int, status: Int, reason: String, body: String,
                       contentType: String = "text/plain; charset=utf-8", headers: [String: String] = [:], close: Bool,
                       withBody: Bool = true) {
        var head = "HTTP/1.1 \(status) \(reason)\r\nContent-Type: \(contentType)\r\nContent-Length: \(body.utf8.count)\r\n"
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) { head += "\(name): \(value)\r\n" }
        if close { head += "Connection: close\r\n" }
        head += "\r\n"
        if connections[index].written >= connections[index].outgoing.count {
            connections[index].outgoing = []
            connections[index].written = 0
        }
        connections[index].outgoing.append(contentsOf: head.utf8)
        if withBody { connections[index].outgoing.append(contentsOf: body.utf8) }
        connections[index].closeAfterAnswer = close
        connections[index].deadline = Self.now() + HTTPListener.requestTimeout
    }

    /// Writes what the socket takes now; false when the connection is to be closed (a write
    /// error, or its last answer written).
    private func writeSome(_ index: Int) -> Bool {
        while connections[index].written < connections[index].outgoing.count {
            let (fd, from) = (connections[index].fd, connections[index].written)
            let sent = connections[index].outgoing.withUnsafeBytes { bytes -> Int in
                guard let base = bytes.baseAddress else { return 0 }
                return send(fd, base + from, bytes.count - from, Int32(MSG_NOSIGNAL))
            }
            if sent < 0 { return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR }
            connections[index].written += sent
        }
        if connections[index].closeAfterAnswer {
            guard shutdown(connections[index].fd, Int32(SHUT_WR)) == 0 else { return false }
            connections[index].lingering = true
            connections[index].deadline = Self.now() + HTTPListener.lingerTimeout
            return true
        }
        // Answered: the next request's time starts now, and requests already received
        // (pipelined past `maxPipelined`) are answered.
        connections[index].deadline = Self.now() + HTTPListener.requestTimeout
        return connections[index].received.isEmpty ? true : answerWhatArrived(index)
    }
}

/// Makes `fd` non-blocking and closed on exec (`pipe2` and `accept4`, which set both at once,
/// are GNU extensions Glibc's Swift module does not import).
private func nonBlockingCloseOnExec(_ fd: Int32) -> Bool {
    let flags = fcntl(fd, F_GETFL)
    return flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0 && fcntl(fd, F_SETFD, FD_CLOEXEC) == 0
}
