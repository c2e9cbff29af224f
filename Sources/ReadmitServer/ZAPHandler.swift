import CZeroMQ
import Foundation
import Logging
import ReadmitParallel

/// The ZAP (ZeroMQ authentication protocol, RFC 27) handler: libzmq asks it about every CURVE
/// handshake on the front socket. It accepts only the daemon's ZAP domain, the CURVE
/// mechanism and client keys in ``AuthorizedKeys``; everything else is refused and logged.
/// An accepted connection's ZAP `User-Id` is the client's Z85 public key.
/// Without a handler libzmq would encrypt but accept any client key.
enum ZAPHandler {
    /// The ZAP domain the front socket announces.
    static let domain = "readmit"
    /// libzmq's fixed ZAP endpoint.
    static let endpoint = "inproc://zeromq.zap.01"

    /// Binds the ZAP endpoint (must happen before the front socket binds); returns the socket
    /// for ``run(socket:keys:stats:stop:logger:)`` on the handler thread.
    static func bind(context: ZMQContext) throws(ZMQError) -> ZMQSocket {
        let socket = try ZMQSocket(context, type: ZMQ_REP)
        try socket.set(ZMQ_LINGER, 0)
        try socket.bind(endpoint)
        return socket
    }

    /// Answers ZAP requests until `stop` is set.
    static func run(socket: ZMQSocket, keys: Locked<AuthorizedKeys>, stats: ServerStats, stop: Locked<Bool>, logger: Logger,
                    audit: AuditLog? = nil) {
        defer { socket.close() }
        while !stop.current {
            guard pollReadable([socket], timeoutMs: 200)[0] else { continue }
            guard let frames = try? socket.receive(dontWait: true) else { continue }
            let parts = frames.map(\.array)
            // version, request id, domain, address, identity, mechanism, credentials...
            guard parts.count >= 6 else {
                try? socket.send([Array("1.0".utf8), parts.count > 1 ? parts[1] : [], Array("500".utf8), Array("malformed ZAP request".utf8), [], []])
                continue
            }
            let requestID = parts[1]
            let requestDomain = String(decoding: parts[2], as: UTF8.self)
            let address = String(decoding: parts[3], as: UTF8.self)
            let mechanism = String(decoding: parts[5], as: UTF8.self)
            var status = "400", text = "", user = ""
            if requestDomain != domain {
                text = "ZAP domain '\(requestDomain)' is not '\(domain)'"
            } else if mechanism != "CURVE" || parts.count < 7 || parts[6].count != 32 {
                text = "mechanism \(mechanism) is not allowed; CURVE is required"
            } else if let name = keys.withLock({ $0.keys[parts[6]] }), let z85 = AuthorizedKeys.z85(parts[6]) {
                // User-Id is the key itself: the broker reads it from every request's metadata
                // and checks it against the current set, so a revoked key stops at its next request.
                status = "200"; text = "OK"; user = z85
                logger.debug("client authorized", metadata: ["address": "\(address)", "key_file": "\(name)"])
            } else {
                text = "client public key is not authorized"
            }
            if status != "200" {
                stats.recordAuthFailure()
                let z85 = parts.count >= 7 ? AuthorizedKeys.z85(parts[6]) ?? "" : ""
                logger.warning("client refused", metadata: ["address": "\(address)", "reason": "\(text)", "client_key": "\(z85)"])
                audit?.event("refused", [("client_key", z85.isEmpty ? .null : .text(z85)), ("address", .text(address)), ("reason", .text(text))])
            }
            try? socket.send([Array("1.0".utf8), requestID, Array(status.utf8), Array(text.utf8), Array(user.utf8), []])
        }
    }
}
