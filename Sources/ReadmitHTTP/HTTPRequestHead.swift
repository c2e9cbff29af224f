/// One HTTP/1.x request head read from the front of a connection's bytes, within a size limit.
///
/// The listener needs only the request line and three headers (`Connection`, `Content-Length`,
/// `Transfer-Encoding`): the routes take no body and no other header. Written here rather than
/// taken from FlyingFox (what the listener used before): its decoder collects a line byte by
/// byte and compares the whole collected line's suffix after each byte, so a 3 MB header line
/// from one client kept a core busy for hours after the client had gone, and it has no limit on
/// a head's size. This one looks at each byte once and stops at ``maxBytes``.
struct HTTPRequestHead: Equatable {
    /// The method, as sent (`GET`).
    var method: String
    /// The path, without the query (`/metrics` for `/metrics?x=1` or `http://host/metrics`).
    var path: String
    /// Whether the connection stays open for another request after the answer.
    var keepAlive: Bool
    /// Whether the request says a body follows (`Content-Length` above 0, or any
    /// `Transfer-Encoding`). The routes read no body, so the connection is closed after the
    /// answer rather than the body read.
    var hasBody: Bool
    /// Bytes of the head, through its blank line.
    var length: Int

    /// The largest head read: a probe or a scrape sends a few hundred bytes.
    static let maxBytes = 8 << 10

    /// What the bytes at the front of a connection hold.
    enum Parse: Equatable {
        /// No blank line yet, and fewer than ``maxBytes``: read more.
        case incomplete
        /// No blank line within ``maxBytes``: answered 431 and closed.
        case tooLarge
        /// Not an HTTP/1.x request head (the reason, for the 400 answer).
        case malformed(String)
        /// An HTTP version other than 1.0 and 1.1: answered 505.
        case unsupportedVersion(String)
        /// A complete head.
        case head(HTTPRequestHead)
    }

    /// Parses the head at the front of `bytes` (a head ends at its first empty line; lines end in
    /// CRLF, or a bare LF, which RFC 9112 lets a server accept).
    static func parse(_ bytes: ArraySlice<UInt8>) -> Parse {
        let newline = UInt8(ascii: "\n"), cr = UInt8(ascii: "\r")
        var lines: [ArraySlice<UInt8>] = []
        var lineStart = bytes.startIndex
        var end: Int?
        var index = bytes.startIndex
        let limit = min(bytes.endIndex, bytes.startIndex + maxBytes)
        while index < limit {
            if bytes[index] == newline {
                var line = bytes[lineStart..<index]
                if line.last == cr { line = line.dropLast() }
                if line.isEmpty {
                    // Blank lines before the request line are skipped (RFC 9112, section 2.2).
                    if !lines.isEmpty { end = index + 1; break }
                } else {
                    lines.append(line)
                }
                lineStart = index + 1
            }
            index += 1
        }
        guard let end else { return bytes.count >= maxBytes ? .tooLarge : .incomplete }
        guard let requestLine = lines.first else { return .malformed("no request line") }
        let parts = requestLine.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
        guard parts.count == 3, let method = token(parts[0]), !parts[1].isEmpty else {
            return .malformed("the request line is not METHOD TARGET HTTP/VERSION")
        }
        let version = String(decoding: parts[2], as: UTF8.self)
        guard version.hasPrefix("HTTP/") else { return .malformed("the request line does not end in an HTTP version") }
        guard version == "HTTP/1.1" || version == "HTTP/1.0" else { return .unsupportedVersion(version) }
        var keepAlive = version == "HTTP/1.1"
        var hasBody = false
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")), let name = token(line[line.startIndex..<colon]) else {
                return .malformed("a header line is not NAME: VALUE")
            }
            let value = String(decoding: line[(colon + 1)...], as: UTF8.self).trimmingSpaces.lowercased()
            switch name.lowercased() {
            case "connection":
                let options = value.split(separator: ",").map { $0.trimmingSpaces }
                if options.contains("close") { keepAlive = false } else if options.contains("keep-alive") { keepAlive = true }
            case "content-length":
                guard let length = UInt64(value) else { return .malformed("Content-Length is not a length") }
                if length > 0 { hasBody = true }
            case "transfer-encoding":
                hasBody = true
            default:
                break
            }
        }
        return .head(HTTPRequestHead(method: method, path: path(of: parts[1]), keepAlive: keepAlive && !hasBody,
                                     hasBody: hasBody, length: end - bytes.startIndex))
    }

    /// A method or header name: one or more of RFC 9110's token characters.
    private static func token(_ bytes: ArraySlice<UInt8>) -> String? {
        guard !bytes.isEmpty, bytes.allSatisfy(isTokenByte) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func isTokenByte(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(b)
        }
    }

    /// The path of a request target: origin form (`/metrics?x`) or absolute form
    /// (`http://host:9464/metrics`), without the query or fragment.
    private static func path(of target: ArraySlice<UInt8>) -> String {
        var text = String(decoding: target, as: UTF8.self)
        if let scheme = text.range(of: "://"), !text.hasPrefix("/") {
            let afterHost = text[scheme.upperBound...].firstIndex(of: "/") ?? text.endIndex
            text = afterHost == text.endIndex ? "/" : String(text[afterHost...])
        }
        if let cut = text.firstIndex(where: { $0 == "?" || $0 == "#" }) { text = String(text[..<cut]) }
        return text
    }
}

extension StringProtocol {
    /// The text without leading and trailing spaces and tabs (HTTP's optional whitespace).
    var trimmingSpaces: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}
