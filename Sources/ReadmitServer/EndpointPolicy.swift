/// Which endpoints the daemon may bind: `ipc://` always, `tcp://` on loopback always, and
/// `tcp://` elsewhere only with CURVE or an explicit `--insecure`.
public enum EndpointPolicy {
    /// Why an endpoint was refused.
    public struct Refusal: Error, Sendable, CustomStringConvertible {
        /// The message, naming the endpoint and the fix.
        public let message: String
        /// The message.
        public var description: String { message }
    }

    /// Checks `endpoint`; throws a refusal naming the problem.
    public static func check(_ endpoint: String, curve: Bool, insecure: Bool) throws(Refusal) {
        if endpoint.hasPrefix("ipc://") { return }
        guard endpoint.hasPrefix("tcp://") else {
            throw Refusal(message: "endpoint \(endpoint): only tcp:// and ipc:// endpoints are supported")
        }
        // libzmq reads the port with strtoul and keeps its low 16 bits: `:99999` bound port
        // 34463 while the log said 99999, and a client given the same text reached that port.
        guard let (_, port) = hostAndPort(endpoint) else {
            throw Refusal(message: "endpoint \(endpoint): expected tcp://HOST:PORT (a port is required)")
        }
        guard port == "*" || (port.allSatisfy(\.isASCIIDigitCharacter) && UInt16(port) != nil) else {
            throw Refusal(message: "endpoint \(endpoint): port '\(port)' is not a number from 0 to 65535 (or * for any free port)")
        }
        if curve || insecure || isLoopback(endpoint) { return }
        throw Refusal(message: "endpoint \(endpoint) is not a loopback address: refusing to serve it without CURVE (--curve-secret-key and --authorized-keys), or pass --insecure explicitly")
    }

    /// Whether a `tcp://HOST:PORT` endpoint's host is a loopback address: `127.a.b.c`, `[::1]`
    /// or `localhost` (which ``bindForms(_:)`` binds as those literals, never by name lookup).
    public static func isLoopback(_ endpoint: String) -> Bool {
        guard let (host, _) = hostAndPort(endpoint) else { return false }
        if host == "localhost" || host == "::1" { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }

    /// One address to bind for an endpoint: whether it needs `ZMQ_IPV6`, and whether a
    /// failure to bind it may be skipped (the IPv6 half of `localhost`).
    public struct BindForm: Sendable, Equatable {
        /// The endpoint given to `zmq_bind`.
        public let endpoint: String
        /// Whether the socket needs `ZMQ_IPV6` for it.
        public let ipv6: Bool
        /// Whether failing to bind it is not an error (a host without IPv6 loopback).
        public let optional: Bool

        /// Creates a bind form.
        public init(endpoint: String, ipv6: Bool, optional: Bool) {
            self.endpoint = endpoint
            self.ipv6 = ipv6
            self.optional = optional
        }
    }

    /// What to bind for `endpoint`. libzmq binds only interface names and numeric addresses
    /// (`tcp://localhost:P` fails with "No such device") and an IPv6 address only with
    /// `ZMQ_IPV6`; so `localhost` becomes `127.0.0.1` and, where the host has it, `[::1]` (the
    /// loopback literals, never a name lookup, which could map it elsewhere), and a bracketed
    /// host is bound with `ZMQ_IPV6`. A wildcard port (`localhost:*`) is bound on 127.0.0.1 only,
    /// since the two families would get different ports.
    public static func bindForms(_ endpoint: String) -> [BindForm] {
        guard endpoint.hasPrefix("tcp://"), let (host, port) = hostAndPort(endpoint), !endpoint.contains(";") else {
            return [BindForm(endpoint: endpoint, ipv6: false, optional: false)]
        }
        if host == "localhost" {
            let v4 = BindForm(endpoint: "tcp://127.0.0.1:\(port)", ipv6: false, optional: false)
            if port == "*" || port == "0" { return [v4] }
            return [v4, BindForm(endpoint: "tcp://[::1]:\(port)", ipv6: true, optional: true)]
        }
        return [BindForm(endpoint: endpoint, ipv6: host.contains(":"), optional: false)]
    }

    /// The host (without brackets) and port of `tcp://[source;]HOST:PORT`.
    private static func hostAndPort(_ endpoint: String) -> (Substring, Substring)? {
        var rest = Substring(endpoint.dropFirst("tcp://".count))
        // tcp://source;host:port binds nothing extra; judge the bound part.
        if let semi = rest.lastIndex(of: ";") { rest = rest[rest.index(after: semi)...] }
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { return nil }
            let after = rest[rest.index(after: close)...]
            guard after.hasPrefix(":") else { return nil }
            return (rest[rest.index(after: rest.startIndex)..<close], after.dropFirst())
        }
        guard let colon = rest.lastIndex(of: ":") else { return nil }
        return (rest[..<colon], rest[rest.index(after: colon)...])
    }
}

private extension Character {
    /// `0`-`9` only (`isNumber` also takes other scripts' digits, which `UInt16(_:)` refuses anyway).
    var isASCIIDigitCharacter: Bool { ("0"..."9").contains(self) }
}
