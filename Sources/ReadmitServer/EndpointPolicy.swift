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
        if curve || insecure || isLoopback(endpoint) { return }
        throw Refusal(message: "endpoint \(endpoint) is not a loopback address: refusing to serve it without CURVE (--curve-secret-key and --authorized-keys), or pass --insecure explicitly")
    }

    /// Whether a `tcp://HOST:PORT` endpoint's host is a loopback address.
    public static func isLoopback(_ endpoint: String) -> Bool {
        var rest = Substring(endpoint.dropFirst("tcp://".count))
        // tcp://source;host:port binds nothing extra; judge the bound part.
        if let semi = rest.lastIndex(of: ";") { rest = rest[rest.index(after: semi)...] }
        let host: Substring
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { return false }
            host = rest[rest.index(after: rest.startIndex)..<close]
        } else {
            guard let colon = rest.lastIndex(of: ":") else { return false }
            host = rest[..<colon]
        }
        if host == "localhost" || host == "::1" { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }
}
