import CZeroMQ
import Foundation
import ReadmitCore
import ReadmitServer
import ReadmitWire
import XCTest

/// A full work queue is refused with OVERLOADED at once, HEALTH still answers, and every
/// accepted request completes.
final class OverloadTests: XCTestCase {
    func testFullQueueAnswersOverloaded() throws {
        let path = try DaemonProcess.fixtureModel()
        let model = try ReadmitModel.load(path: path)
        let daemon = try DaemonProcess(arguments: ["--model", path, "--workers", "1", "--max-queued", "1"])
        defer { daemon.stop() }
        let dealer = try ZMQSocket(testContext, type: ZMQ_DEALER)
        defer { dealer.close() }
        try dealer.set(ZMQ_LINGER, 0)
        try dealer.set(ZMQ_RCVTIMEO, 60_000)
        try dealer.connect(daemon.endpoint)
        // EXPLAIN (SHAP values) is the slowest operation per row, so a few requests keep the
        // single worker busy long enough for the queue to fill, whatever the machine.
        let rows = 5_000
        let matrix = TestRows.make(model.schema, rows: rows)
        let requests = 6
        for id in 0..<requests {
            try dealer.send([[]] + RequestEncoder.explain(requestID: UInt64(id), rows: rows, columns: model.schema.count, k: 3, matrix: matrix))
        }
        // While the single worker is busy, HEALTH is still answered by the front.
        let health = try WireClient(endpoint: daemon.endpoint, timeoutMs: 5000)
        XCTAssertEqual(try health.call(RequestEncoder.simple(.health, requestID: 99)).header.status, 0)
        var statuses: [Status] = []
        for _ in 0..<requests {
            let frames = try XCTUnwrap(try dealer.receive(), "a request got no reply").map(\.array)
            let reply = try ReplyDecoder.decode(Array(frames.dropFirst()))
            statuses.append(try XCTUnwrap(reply.header.knownStatus))
            if reply.header.knownStatus == .overloaded, case .error(let error) = reply.body {
                XCTAssertTrue(error.message.contains("retry"), error.message)
            }
        }
        XCTAssertGreaterThanOrEqual(statuses.filter { $0 == .ok }.count, 2, "the running and the queued request complete: \(statuses)")
        XCTAssertGreaterThanOrEqual(statuses.filter { $0 == .overloaded }.count, 1, "past the queue bound: \(statuses)")
        XCTAssertEqual(statuses.filter { $0 != .ok && $0 != .overloaded }, [])
        let after = try WireClient(endpoint: daemon.endpoint)
        XCTAssertEqual(try after.call(RequestEncoder.score(requestID: 7, rows: 1, columns: model.schema.count,
                                                           matrix: TestRows.make(model.schema, rows: 1))).header.status, 0)
    }
}
