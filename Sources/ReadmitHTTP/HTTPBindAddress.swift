import Foundation

/// Where `readmitd --http` listens: `PORT` (on 127.0.0.1), `HOST:PORT` or `[IPV6]:PORT`, the
/// host a numeric address or `localhost` (bound as 127.0.0.1, never looked up by name).
///
/// As with the ZeroMQ endpoints (`EndpointPolicy`), only loopback is bound unless the caller
/// allows more explicitly: the listener has no authentication, so `0.0.0.0` or a pod's address
/// needs `--http-allow-remote` (what a Kubernetes probe or a Prometheus scrape from another
/// host needs). Nothing it serves carries feature values or patient data.
public struct HTTPBindAddress: Sendable, Equatable, CustomStringConvertible {
    /// Why a `--http` value was refused: malformed, or not loopback without the allowance.
    public struct Invalid: Error, Sendable, CustomStringConvertible {
        /// The message, naming the value and the fix.
        public let message: String
        /// The message.
        public var description: String { message }
    }

    /// The numeric host (no brackets).
    public let host: String
    /// The TCP port (0: the system picks one).
    public let port: UInt16
    /// Whether `host` is an IPv6 address.
    public let isIPv6: Bool

    /// Whether the host is a loopback address (127.0.0.0/8 or ::1).
    public var isLoopback: Bool {
        if isIPv6 {
            var addr = in6_addr()
            guard inet_pton(AF_INET6, host, &addr) == 1 else { return false }
            return withUnsafeBytes(of: &addr) { b in b.prefix(15).allSatisfy { $0 == 0 } && b[15] == 1 }
        }
        return host.split(separator: ".").first == "127"
    }

    /// `HOST:PORT`, brackets around an IPv6 host.
    public var description: String { isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// Parses a `--http` value and checks it against the loopback policy.
    public static func parse(_ value: String, allowRemote: Bool) throws(Invalid) -> HTTPBindAddress {
        let address = try parse(value)
        guard allowRemote || address.isLoopback else {
            throw Invalid(message: "--http \(value) is not a loopback address: the probes and metrics are unauthenticated, so binding \(address.host) needs --http-allow-remote (as in a Kubernetes pod, where the kubelet and Prometheus connect from outside)")
        }
        return address
    }

    private static func parse(_ value: String) throws(Invalid) -> HTTPBindAddress {
        func invalid(_ why: String) -> Invalid {
            Invalid(message: "--http \(value): \(why) (expected PORT, HOST:PORT or [IPV6]:PORT with a numeric host or localhost)")
        }
        func port(_ text: Substring) throws(Invalid) -> UInt16 {
            guard let p = UInt16(text) else { throw invalid("port '\(text)' is not a number from 0 to 65535") }
            return p
        }
        if !value.contains(":") {
            return HTTPBindAddress(host: "127.0.0.1", port: try port(Substring(value)), isIPv6: false)
        }
        if value.hasPrefix("[") {
            guard let close = value.firstIndex(of: "]"), value[value.index(after: close)...].hasPrefix(":") else {
                throw invalid("an IPv6 host must be bracketed and followed by :PORT")
            }
            let host = String(value[value.index(after: value.startIndex)..<close])
            var addr = in6_addr()
            guard inet_pton(AF_INET6, host, &addr) == 1 else { throw invalid("'\(host)' is not an IPv6 address") }
            return HTTPBindAddress(host: host, port: try port(value[value.index(close, offsetBy: 2)...]), isIPv6: true)
        }
        guard let colon = value.lastIndex(of: ":"), value.firstIndex(of: ":") == colon else {
            throw invalid("an IPv6 host must be bracketed")
        }
        var host = String(value[..<colon])
        if host == "localhost" { host = "127.0.0.1" }
        var addr = in_addr()
        guard inet_pton(AF_INET, host, &addr) == 1 else { throw invalid("'\(host)' is not a numeric IPv4 address") }
        return HTTPBindAddress(host: host, port: try port(value[value.index(after: colon)...]), isIPv6: false)
    }
}
