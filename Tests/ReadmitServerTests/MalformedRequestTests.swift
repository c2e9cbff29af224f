import CZeroMQ
import Foundation
import ReadmitCore
import ReadmitServer
import ReadmitWire
import XCTest

/// Every malformed request of the issue gets its typed error reply, and a valid request
/// right after still succeeds (the daemon keeps serving).
final class MalformedRequestTests: XCTestCase {
    var daemon: DaemonProcess!
    var model: ReadmitModel!
    var client: WireClient!
    var columns: Int { model.schema.count }

    override func setUpWithError() throws {
        let path = try DaemonProcess.fixtureModel()
        model = try ReadmitModel.load(path: path)
        daemon = try DaemonProcess(arguments: ["--model", path, "--workers", "2", "--max-rows", "50",
                                               "--max-message-bytes", "65536"])
        client = try WireClient(endpoint: daemon.endpoint, timeoutMs: 5000)
    }

    override func tearDown() {
        daemon?.stop()
        daemon = nil
    }

    /// Sends `frames`, expects `status` (and row/feature when given), then checks a valid SCORE.
    private func expectError(_ frames: [[UInt8]], _ status: Status, row: Int32? = nil, feature: Int32? = nil,
                             mentions: String? = nil, file: StaticString = #filePath, line: UInt = #line) throws {
        let reply = try client.call(frames)
        guard case .error(let error) = reply.body else {
            return XCTFail("expected \(status.name), got \(reply.body)", file: file, line: line)
        }
        XCTAssertEqual(error.status, status, error.message, file: file, line: line)
        XCTAssertEqual(reply.header.status, status.rawValue, file: file, line: line)
        XCTAssertFalse(error.message.isEmpty, file: file, line: line)
        if let row { XCTAssertEqual(error.row, row, error.message, file: file, line: line) }
        if let feature { XCTAssertEqual(error.feature, feature, error.message, file: file, line: line) }
        if let mentions { XCTAssertTrue(error.message.contains(mentions), "\(error.message) should mention \(mentions)", file: file, line: line) }
        try expectValidScoreWorks(file: file, line: line)
    }

    private func expectValidScoreWorks(file: StaticString = #filePath, line: UInt = #line) throws {
        let matrix = TestRows.make(model.schema, rows: 2)
        let reply = try client.call(RequestEncoder.score(requestID: 999, rows: 2, columns: columns, matrix: matrix))
        XCTAssertEqual(reply.header.status, 0, "valid request after an error: \(reply.body)", file: file, line: line)
        XCTAssertEqual(reply.header.requestID, 999, file: file, line: line)
    }

    private var valid: [[UInt8]] { RequestEncoder.score(requestID: 1, rows: 2, columns: columns, matrix: TestRows.make(model.schema, rows: 2)) }

    func testBadMagic() throws {
        var frames = valid
        frames[0][0...3] = [0x48, 0x54, 0x54, 0x50]
        try expectError(frames, .badMagic)
    }

    func testBadVersion() throws {
        var frames = valid
        frames[0][4] = 9
        try expectError(frames, .badVersion, mentions: "9")
        XCTAssertEqual(try client.call(frames).header.requestID, 1, "the id is echoed")
    }

    func testBadOp() throws {
        try expectError([RequestHeader(op: 42, requestID: 5).encoded()], .badOp, mentions: "42")
    }

    func testWrongFrameCount() throws {
        try expectError(Array(valid.prefix(2)), .badFrames)
        try expectError(valid + [[1, 2, 3]], .badFrames)
        try expectError([Array(valid[0].prefix(12))], .badFrames)
    }

    func testPayloadSizeMismatch() throws {
        var frames = valid
        frames[2].removeLast(8)
        try expectError(frames, .badPayloadSize)
    }

    func testColumnCountDiffersFromSchema() throws {
        try expectError(RequestEncoder.score(requestID: 1, rows: 1, columns: columns + 1, matrix: Array(repeating: 0, count: columns + 1)),
                        .badColumns, mentions: "\(columns)")
    }

    func testInfinityIsABadValueWithRowAndFeature() throws {
        var matrix = TestRows.make(model.schema, rows: 3)
        let numeric = try XCTUnwrap(model.schema.features.firstIndex { $0.kind == .numeric })
        matrix[2 * columns + numeric] = -.infinity
        try expectError(RequestEncoder.score(requestID: 1, rows: 3, columns: columns, matrix: matrix), .badValue,
                        row: 2, feature: Int32(numeric), mentions: model.schema.features[numeric].name)
    }

    func testCategoryOutOfRangeWithRowAndFeature() throws {
        var matrix = TestRows.make(model.schema, rows: 2)
        let categorical = try XCTUnwrap(model.schema.features.firstIndex { $0.kind == .categorical })
        matrix[columns + categorical] = Double(model.schema.features[categorical].levels.count)
        try expectError(RequestEncoder.score(requestID: 1, rows: 2, columns: columns, matrix: matrix), .badCategory,
                        row: 1, feature: Int32(categorical))
        matrix[columns + categorical] = 0.5
        try expectError(RequestEncoder.explain(requestID: 1, rows: 2, columns: columns, k: 3, matrix: matrix), .badCategory,
                        row: 1, feature: Int32(categorical))
    }

    func testTooManyRows() throws {
        try expectError(RequestEncoder.score(requestID: 1, rows: 51, columns: columns, matrix: Array(repeating: .nan, count: 51 * columns)),
                        .tooManyRows, mentions: "50")
    }

    func testExplainKZeroAndFlags() throws {
        try expectError(RequestEncoder.explain(requestID: 1, rows: 1, columns: columns, k: 0, matrix: Array(repeating: .nan, count: columns)),
                        .badArgument)
        try expectError(RequestEncoder.simple(.info, requestID: 1, flags: 1), .badArgument)
    }

    func testReloadPathIsForbiddenWithoutTheFlag() throws {
        try expectError(RequestEncoder.reload(requestID: 1, path: "/etc/passwd"), .forbidden)
    }

    func testDealerWithoutDelimiterGetsBadFrames() throws {
        let dealer = try ZMQSocket(testContext, type: ZMQ_DEALER)
        defer { dealer.close() }
        try dealer.set(ZMQ_LINGER, 0)
        try dealer.set(ZMQ_RCVTIMEO, 5000)
        try dealer.connect(daemon.endpoint)
        try dealer.send(RequestEncoder.simple(.info, requestID: 3))
        let frames = try XCTUnwrap(try dealer.receive()).map(\.array)
        let reply = try ReplyDecoder.decode(frames)
        XCTAssertEqual(reply.header.knownStatus, .badFrames)
        try expectValidScoreWorks()
    }

    /// A frame over --max-message-bytes: libzmq drops that peer (it times out); others go on.
    func testOversizedMessageDropsOnlyThatPeer() throws {
        let rows = 65536 / (columns * 8) + 1
        let oversized = RequestEncoder.score(requestID: 1, rows: rows, columns: columns, matrix: Array(repeating: .nan, count: rows * columns))
        let victim = try WireClient(endpoint: daemon.endpoint, timeoutMs: 1000)
        XCTAssertThrowsError(try victim.call(oversized)) { XCTAssertTrue($0 is ReplyTimeout, "\($0)") }
        try expectValidScoreWorks()
    }

    func testRandomGarbageNeverStopsTheDaemon() throws {
        var state: UInt64 = 77
        for i in 0..<200 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            var frames = valid
            let f = Int(state >> 60) % frames.count
            if !frames[f].isEmpty { frames[f][Int(state >> 33) % frames[f].count] ^= UInt8(truncatingIfNeeded: state >> 20) | 1 }
            if i % 7 == 0 { frames.append(Array(repeating: UInt8(i), count: i)) }
            _ = try client.call(frames)   // any reply (OK or typed error) is fine; a timeout throws
        }
        try expectValidScoreWorks()
    }
}

/// A daemon without a model is live but not ready.
final class NotReadyTests: XCTestCase {
    func testNoModelMeansNotReady() throws {
        let daemon = try DaemonProcess(arguments: ["--workers", "1"])
        defer { daemon.stop() }
        let client = try WireClient(endpoint: daemon.endpoint)
        let health = try client.call(RequestEncoder.simple(.health, requestID: 1))
        XCTAssertEqual(health.header.status, 0)
        XCTAssertEqual(health.header.modelVersion, 0)
        guard case .text(let json) = health.body else { return XCTFail("\(health.body)") }
        XCTAssertTrue(json.contains("\"ready\": false"), json)
        let score = try client.call(RequestEncoder.score(requestID: 2, rows: 1, columns: 3, matrix: [0, 0, 0]))
        XCTAssertEqual(score.header.knownStatus, .notReady)
        XCTAssertEqual(try client.call(RequestEncoder.simple(.info, requestID: 3)).header.knownStatus, .notReady)
        XCTAssertEqual(try client.call(RequestEncoder.simple(.stats, requestID: 4)).header.status, 0)
    }
}
