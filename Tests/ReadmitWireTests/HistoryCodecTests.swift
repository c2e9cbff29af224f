import XCTest
@testable import ReadmitWire

/// HISTORY: the request is laid out as RECORDS (k 0); the reply's columns round-trip bit for
/// bit, and every malformed reply is an error, never a trap.
final class HistoryCodecTests: XCTestCase {
    private let columns: [(name: String, column: RecordsRequest.Column)] = [
        ("patient", RequestEncoder.textColumn(["7", "7", "9"])),
        ("order", .numbers([2, 1, .nan])),
    ]

    func testRequestIsRecordsLayoutWithKZero() throws {
        let frames = RequestEncoder.history(requestID: 4, rows: 3, options: 1, columns: columns)
        let request = try RequestDecoder(maxRows: 10).decode(frames).get()
        XCTAssertEqual(request.operation, .history)
        guard case .history(let r) = request.body else { return XCTFail("\(request.body)") }
        XCTAssertEqual(r.rows, 3)
        XCTAssertEqual(r.k, 0)
        XCTAssertEqual(r.options, 1)
        XCTAssertEqual(r.columns.map(\.name), ["patient", "order"])
        // The same frames as RECORDS but for the op byte.
        let records = RequestEncoder.records(requestID: 4, rows: 3, options: 1, columns: columns)
        XCTAssertEqual(Array(frames.dropFirst()), Array(records.dropFirst()))
        var withK = frames
        withK[1][8] = 2
        guard case .failure(let e) = RequestDecoder().decode(withK) else { return XCTFail("k 2 accepted") }
        XCTAssertEqual(e.error.status, .badArgument)
        XCTAssertEqual(e.op, Operation.history.rawValue)
        XCTAssertTrue(e.error.message.contains("HISTORY k"), e.error.message)
    }

    func testReplyRoundTripsBitForBit() throws {
        let quietNaN = Double(bitPattern: 0x7FF8_0000_0000_0001)
        let sent = [HistoryColumn(name: "prior", values: [0, 1, .nan]), HistoryColumn(name: "gap", values: [-0.0, quietNaN, 1e-300])]
        let header = ReplyHeader(op: Operation.history.rawValue, status: 0, requestID: 5, modelVersion: 9).encoded()
        let reply = try ReplyDecoder.decode([header] + HistoryReply.encode(rows: 3, columns: sent, json: "{\"messages\":[]}"))
        guard case .history(let rows, let got, let json) = reply.body else { return XCTFail("\(reply.body)") }
        XCTAssertEqual(rows, 3)
        XCTAssertEqual(got, sent)
        XCTAssertEqual(got[1].values[1].bitPattern, quietNaN.bitPattern)
        XCTAssertEqual(json, "{\"messages\":[]}")
        let none = try ReplyDecoder.decode([header] + HistoryReply.encode(rows: 0, columns: [], json: "{}"))
        guard case .history(0, let empty, _) = none.body else { return XCTFail("\(none.body)") }
        XCTAssertTrue(empty.isEmpty)
    }

    func testMalformedRepliesAreErrors() {
        let valid = HistoryReply.encode(rows: 2, columns: [HistoryColumn(name: "a", values: [1, 2])], json: "{}")
        func fails(_ frames: [[UInt8]], _ why: String) {
            if case .success = HistoryReply.decode(frames) { XCTFail("accepted: \(why)") }
        }
        fails([], "no frames")
        fails(Array(valid.dropLast()), "no JSON frame")
        var f = valid; f[0] = Array(f[0].prefix(7)); fails(f, "short counts")
        f = valid; f[0][4] = 2; fails(f, "more columns than frames")
        f = valid; f[0][4] = 0xFF; f[0][5] = 0xFF; f[0][6] = 0xFF; f[0][7] = 0xFF; fails(f, "n_columns 2^32-1")
        f = valid; f[0][0] = 0xFF; f[0][1] = 0xFF; f[0][2] = 0xFF; f[0][3] = 0xFF; fails(f, "n_rows 2^32-1")
        f = valid; f[1] = []; fails(f, "empty name")
        f = valid; f[1] = [0xFF]; fails(f, "name not UTF-8")
        f = valid; f[2][0] = 2; fails(f, "texts type")
        f = valid; f[2].removeLast(); fails(f, "short values")
        f = valid; f[2] = []; fails(f, "empty values")
        f = valid; f[3] = [0xC3]; fails(f, "JSON not UTF-8")
        // Random truncations and byte flips: an error or a value, never a trap.
        var state: UInt64 = 42
        for _ in 0..<2000 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            var g = valid
            let i = Int(state >> 33) % g.count
            if g[i].isEmpty { continue }
            let j = Int(state >> 17) % g[i].count
            if state & 1 == 0 { g[i][j] ^= UInt8(truncatingIfNeeded: state >> 40) } else { g[i] = Array(g[i].prefix(j)) }
            _ = HistoryReply.decode(g)
        }
    }
}
