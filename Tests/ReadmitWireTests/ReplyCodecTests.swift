import XCTest
@testable import ReadmitWire

/// Reply headers and error frames round-trip byte for byte in the documented layout.
final class ReplyCodecTests: XCTestCase {
    func testReplyHeaderLayout() {
        let header = ReplyHeader(op: 1, status: 7, requestID: 0x0102030405060708, modelVersion: 0x9f2c4e0a1b3d5f70)
        let bytes = header.encoded()
        XCTAssertEqual(bytes.count, 24)
        XCTAssertEqual(Array(bytes[0..<6]), [0x52, 0x44, 0x4D, 0x54, WireFormat.version, 1])
        XCTAssertEqual(Array(bytes[6..<8]), [7, 0])
        XCTAssertEqual(bytes[8], 0x08, "request id is little-endian")
        XCTAssertEqual(bytes[23], 0x9f)
        XCTAssertEqual(bytes.withUnsafeBytes { ReplyHeader.decode($0) }, header)
    }

    func testRequestHeaderLayout() {
        let bytes = RequestHeader(operation: .stats, flags: 1, requestID: 5).encoded()
        XCTAssertEqual(bytes, [0x52, 0x44, 0x4D, 0x54, WireFormat.version, 5, 1, 0, 5, 0, 0, 0, 0, 0, 0, 0])
    }

    func testErrorReplyRoundTrip() throws {
        let error = WireError(.badValue, row: 3, feature: 5, "row 3, feature 'age' (index 5): value inf is not finite")
        let header = ReplyHeader(op: 1, status: error.status.rawValue, requestID: 9, modelVersion: 1)
        let reply = try ReplyDecoder.decode([header.encoded(), error.locationFrame(), error.messageFrame()])
        XCTAssertEqual(reply.body, .error(error))
        XCTAssertEqual(WireError(.badOp, "x").locationFrame(), [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
    }

    func testScoreReplyDecodes() throws {
        var counts: [UInt8] = []
        counts.appendLE(UInt32(2)); counts.appendLE(UInt32(0))
        let header = ReplyHeader(op: 1, status: 0, requestID: 1, modelVersion: 2)
        let reply = try ReplyDecoder.decode([header.encoded(), counts, RequestEncoder.matrixBytes([0.5, 0.25]),
                                             RequestEncoder.matrixBytes([1, 2]), [0, 2]])
        XCTAssertEqual(reply.body, .score(risk: [0.5, 0.25], atypicality: [1, 2], tier: [0, 2]))
        XCTAssertThrowsError(try ReplyDecoder.decode([header.encoded(), counts, [], [], []]))
        // With intervals: two more frames of n_rows float64; wrong sizes are an error.
        let base = [header.encoded(), counts, RequestEncoder.matrixBytes([0.5, 0.25]), RequestEncoder.matrixBytes([1, 2]), [0, 2]]
        let withInterval = try ReplyDecoder.decode(base + [RequestEncoder.matrixBytes([0.4, 0.2]), RequestEncoder.matrixBytes([0.6, 0.3])])
        XCTAssertEqual(withInterval.intervalLow, [0.4, 0.2])
        XCTAssertEqual(withInterval.intervalHigh, [0.6, 0.3])
        XCTAssertNil(reply.intervalLow)
        XCTAssertThrowsError(try ReplyDecoder.decode(base + [RequestEncoder.matrixBytes([0.4]), RequestEncoder.matrixBytes([0.6, 0.3])]))
        XCTAssertThrowsError(try ReplyDecoder.decode(base + [RequestEncoder.matrixBytes([0.4, 0.2])]))
    }

    /// An EXPLAIN reply whose counts multiply past Int (2^32-1 rows x 2^32-1 explanations) is
    /// a decode error, not an arithmetic-overflow trap (found by fuzz/ `wire` in CI).
    func testExplainReplyWithHugeCountsIsAnError() {
        var counts: [UInt8] = []
        counts.appendLE(UInt32.max); counts.appendLE(UInt32.max)
        let header = ReplyHeader(op: 2, status: 0, requestID: 1, modelVersion: 2)
        XCTAssertThrowsError(try ReplyDecoder.decode([header.encoded(), counts, [0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0]]))
        counts = []
        counts.appendLE(UInt32(1) << 31); counts.appendLE(UInt32(1) << 31)
        XCTAssertThrowsError(try ReplyDecoder.decode([header.encoded(), counts, [], []]))
    }

    func testStatusNamesMatchTheDocument() {
        XCTAssertEqual(Status.allCases.count, 16)
        XCTAssertEqual(Status.tooManyRows.rawValue, 9)
        XCTAssertEqual(Status.internal.name, "INTERNAL")
    }
}
