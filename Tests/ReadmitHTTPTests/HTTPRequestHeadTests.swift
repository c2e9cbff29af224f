import XCTest
@testable import ReadmitHTTP

/// The listener's request-head reader: what it takes, what it refuses, and that it stops at its
/// limit.
final class HTTPRequestHeadTests: XCTestCase {
    private func parse(_ text: String) -> HTTPRequestHead.Parse { HTTPRequestHead.parse(ArraySlice(Array(text.utf8))) }

    private func head(_ text: String, file: StaticString = #filePath, line: UInt = #line) throws -> HTTPRequestHead {
        guard case .head(let head) = parse(text) else {
            XCTFail("\(parse(text))", file: file, line: line)
            throw XCTSkip("not a head")
        }
        return head
    }

    func testAProbeAndAScrape() throws {
        let probe = try head("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:9464\r\nUser-Agent: kube-probe/1.30\r\n\r\n")
        XCTAssertEqual(probe, HTTPRequestHead(method: "GET", path: "/healthz", keepAlive: true, hasBody: false,
                                              length: "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:9464\r\nUser-Agent: kube-probe/1.30\r\n\r\n".utf8.count))
        XCTAssertEqual(try head("GET /metrics?name[]=x HTTP/1.1\r\n\r\n").path, "/metrics")
        XCTAssertEqual(try head("GET http://10.0.0.5:9464/metrics HTTP/1.1\r\n\r\n").path, "/metrics", "absolute form")
        XCTAssertEqual(try head("GET http://10.0.0.5:9464 HTTP/1.1\r\n\r\n").path, "/")
        XCTAssertEqual(try head("GET /readyz HTTP/1.1\n\n").path, "/readyz", "bare LF line ends")
        XCTAssertEqual(try head("\r\nGET /readyz HTTP/1.1\r\n\r\n").path, "/readyz", "a blank line before the request line")
    }

    func testKeepAliveAndBodies() throws {
        XCTAssertFalse(try head("GET / HTTP/1.1\r\nConnection: close\r\n\r\n").keepAlive)
        XCTAssertFalse(try head("GET / HTTP/1.1\r\nconnection: Upgrade, Close\r\n\r\n").keepAlive)
        XCTAssertFalse(try head("GET / HTTP/1.0\r\n\r\n").keepAlive)
        XCTAssertTrue(try head("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").keepAlive)
        let posted = try head("POST /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello")
        XCTAssertTrue(posted.hasBody)
        XCTAssertFalse(posted.keepAlive, "a body is not read: the connection closes after the answer")
        XCTAssertEqual(posted.length, "POST /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\n".utf8.count)
        XCTAssertTrue(try head("GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n").hasBody)
        XCTAssertFalse(try head("GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\n").hasBody)
    }

    func testRefusals() {
        XCTAssertEqual(parse("GARBAGE\r\n\r\n"), .malformed("the request line is not METHOD TARGET HTTP/VERSION"))
        XCTAssertEqual(parse("\u{0}\u{1}\r\n\r\n"), .malformed("the request line is not METHOD TARGET HTTP/VERSION"))
        XCTAssertEqual(parse("GET /  HTTP/1.1\r\n\r\n"), .malformed("the request line is not METHOD TARGET HTTP/VERSION"))
        XCTAssertEqual(parse("GET / FTP/1.1\r\n\r\n"), .malformed("the request line does not end in an HTTP version"))
        XCTAssertEqual(parse("GET / HTTP/9.9\r\n\r\n"), .unsupportedVersion("HTTP/9.9"))
        XCTAssertEqual(parse("GET / HTTP/1.1\r\nno colon\r\n\r\n"), .malformed("a header line is not NAME: VALUE"))
        XCTAssertEqual(parse("GET / HTTP/1.1\r\nBad Name: x\r\n\r\n"), .malformed("a header line is not NAME: VALUE"))
        XCTAssertEqual(parse("GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n"), .malformed("Content-Length is not a length"))
        XCTAssertEqual(parse("GET / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n"), .malformed("Content-Length is not a length"))
    }

    func testIncompleteUntilTheLimitThenTooLarge() {
        XCTAssertEqual(parse(""), .incomplete)
        XCTAssertEqual(parse("GET /metrics HTTP/1.1\r\nHost: x\r\n"), .incomplete)
        let long = "GET /metrics HTTP/1.1\r\nX: " + String(repeating: "a", count: HTTPRequestHead.maxBytes)
        XCTAssertEqual(HTTPRequestHead.parse(Array(long.utf8).prefix(HTTPRequestHead.maxBytes - 1)), .incomplete)
        XCTAssertEqual(parse(long), .tooLarge)
        // Megabytes are not looked at past the limit.
        let huge = ArraySlice(Array(long.utf8) + [UInt8](repeating: UInt8(ascii: "a"), count: 64 << 20))
        let started = Date()
        XCTAssertEqual(HTTPRequestHead.parse(huge), .tooLarge)
        XCTAssertLessThan(Date().timeIntervalSince(started), 1.0)
        // A head that fits, at the front of a slice that does not start at 0 (pipelined requests).
        let two = Array("GET /healthz HTTP/1.1\r\n\r\nGET /readyz HTTP/1.1\r\n\r\n".utf8)
        guard case .head(let first) = HTTPRequestHead.parse(two[...]) else { return XCTFail() }
        guard case .head(let second) = HTTPRequestHead.parse(two[first.length...]) else { return XCTFail() }
        XCTAssertEqual([first.path, second.path], ["/healthz", "/readyz"])
        XCTAssertEqual(first.length + second.length, two.count)
    }
}
