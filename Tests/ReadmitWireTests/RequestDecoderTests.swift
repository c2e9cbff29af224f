import XCTest
@testable import ReadmitWire

/// Every structural error of docs/PROTOCOL.md gets its typed status and a message naming it.
final class RequestDecoderTests: XCTestCase {
    private let decoder = RequestDecoder(maxRows: 100)

    private func error(_ frames: [[UInt8]], columns: Int? = nil) -> RequestDecodeError? {
        if case .failure(let e) = decoder.decode(frames, expectedColumns: columns) { return e }
        return nil
    }

    func testScoreRoundTrip() throws {
        let matrix: [Double] = [1, .nan, 3, 4, 5, 6]
        let frames = RequestEncoder.score(requestID: 42, rows: 2, columns: 3, matrix: matrix)
        let request = try decoder.decode(frames, expectedColumns: 3).get()
        XCTAssertEqual(request.header.requestID, 42)
        XCTAssertEqual(request.body, .score(rows: 2, columns: 3))
        XCTAssertEqual(frames[Request.matrixFrameIndex].count, 48)
        XCTAssertEqual(ReplyDecoder.doubles(frames[2])[3], 4)
    }

    func testEveryOperationDecodes() throws {
        XCTAssertEqual(try decoder.decode(RequestEncoder.explain(requestID: 1, rows: 1, columns: 2, k: 5, matrix: [0, 0])).get().body,
                       .explain(rows: 1, columns: 2, k: 5))
        XCTAssertEqual(try decoder.decode(RequestEncoder.simple(.info, requestID: 2)).get().body, .info)
        XCTAssertEqual(try decoder.decode(RequestEncoder.simple(.health, requestID: 3)).get().body, .health)
        XCTAssertEqual(try decoder.decode(RequestEncoder.simple(.stats, requestID: 4, flags: 1)).get().body, .stats(prometheus: true))
        XCTAssertEqual(try decoder.decode(RequestEncoder.simple(.reload, requestID: 5)).get().body, .reload(path: nil))
        XCTAssertEqual(try decoder.decode(RequestEncoder.reload(requestID: 6, path: "/m.readmit")).get().body, .reload(path: "/m.readmit"))
    }

    func testBadMagic() {
        var frames = RequestEncoder.simple(.health, requestID: 9)
        frames[0][0] = 0x58
        let e = error(frames)
        XCTAssertEqual(e?.error.status, .badMagic)
        XCTAssertEqual(e?.requestID, 0, "an unreadable header echoes id 0")
        XCTAssertEqual(error([[0x52, 0x44]])?.error.status, .badMagic)
    }

    func testHeaderOfWrongSize() {
        let frames = [Array(RequestEncoder.simple(.health, requestID: 9)[0].prefix(10))]
        XCTAssertEqual(error(frames)?.error.status, .badFrames)
        XCTAssertEqual(error([])?.error.status, .badFrames)
    }

    func testBadVersionEchoesIdAndOp() {
        var frames = RequestEncoder.simple(.info, requestID: 77)
        frames[0][4] = 1  // the previous protocol version
        let e = error(frames)
        XCTAssertEqual(e?.error.status, .badVersion)
        XCTAssertEqual(e?.requestID, 77)
        XCTAssertEqual(e?.op, Operation.info.rawValue)
    }

    func testBadOp() {
        let e = error([RequestHeader(op: 99, requestID: 5).encoded()])
        XCTAssertEqual(e?.error.status, .badOp)
        XCTAssertEqual(e?.op, 99)
        XCTAssertTrue(e?.error.message.contains("99") ?? false)
    }

    func testFlags() {
        XCTAssertEqual(error(RequestEncoder.simple(.info, requestID: 1, flags: 1))?.error.status, .badArgument)
        XCTAssertEqual(error(RequestEncoder.simple(.stats, requestID: 1, flags: 2))?.error.status, .badArgument)
        // Bit 1 (interval) is SCORE's only flag.
        let interval = RequestEncoder.score(requestID: 1, rows: 1, columns: 2, matrix: [0, 0], interval: true)
        XCTAssertEqual(try decoder.decode(interval).get().header.flags, WireFormat.flagInterval)
        var prometheusScore = interval
        prometheusScore[0] = RequestHeader(operation: .score, flags: 1, requestID: 1).encoded()
        XCTAssertEqual(error(prometheusScore)?.error.status, .badArgument)
        var explain = RequestEncoder.explain(requestID: 1, rows: 1, columns: 2, k: 1, matrix: [0, 0])
        explain[0] = RequestHeader(operation: .explain, flags: WireFormat.flagInterval, requestID: 1).encoded()
        XCTAssertEqual(error(explain)?.error.status, .badArgument)
        // RECORDS takes option bit 2 (interval); HISTORY does not.
        let column: [(name: String, column: RecordsRequest.Column)] = [("x", .numbers([1]))]
        XCTAssertNotNil(try? decoder.decode(RequestEncoder.records(requestID: 1, rows: 1, options: RecordsRequest.optionInterval, columns: column)).get())
        XCTAssertEqual(error(RequestEncoder.history(requestID: 1, rows: 1, options: RecordsRequest.optionInterval, columns: column))?.error.status, .badArgument)
        XCTAssertEqual(error(RequestEncoder.records(requestID: 1, rows: 1, options: 8, columns: column))?.error.status, .badArgument)
    }

    func testWrongFrameCounts() {
        let score = RequestEncoder.score(requestID: 1, rows: 1, columns: 2, matrix: [0, 0])
        XCTAssertEqual(error(Array(score.prefix(2)))?.error.status, .badFrames)
        XCTAssertEqual(error(score + [[1]])?.error.status, .badFrames)
        XCTAssertEqual(error(RequestEncoder.simple(.info, requestID: 1) + [[1]])?.error.status, .badFrames)
        XCTAssertEqual(error(RequestEncoder.reload(requestID: 1, path: "x") + [[1]])?.error.status, .badFrames)
        var badCounts = score
        badCounts[1] = [1, 0, 0, 0]
        XCTAssertEqual(error(badCounts)?.error.status, .badFrames)
    }

    func testPayloadSize() {
        var frames = RequestEncoder.score(requestID: 1, rows: 2, columns: 3, matrix: [0, 0, 0, 0, 0, 0])
        frames[2].removeLast()
        let e = error(frames)
        XCTAssertEqual(e?.error.status, .badPayloadSize)
        XCTAssertTrue(e?.error.message.contains("48") ?? false, e?.error.message ?? "")
    }

    func testColumns() {
        let frames = RequestEncoder.score(requestID: 1, rows: 1, columns: 3, matrix: [0, 0, 0])
        XCTAssertEqual(error(frames, columns: 4)?.error.status, .badColumns)
        XCTAssertNil(error(frames, columns: 3))
    }

    func testTooManyRows() {
        let frames = RequestEncoder.score(requestID: 1, rows: 101, columns: 1, matrix: Array(repeating: 0, count: 101))
        XCTAssertEqual(error(frames)?.error.status, .tooManyRows)
        XCTAssertNil(error(RequestEncoder.score(requestID: 1, rows: 0, columns: 1, matrix: [])), "0 rows is valid")
    }

    func testExplainArguments() {
        XCTAssertEqual(error(RequestEncoder.explain(requestID: 1, rows: 1, columns: 1, k: 0, matrix: [0]))?.error.status, .badArgument)
        var frames = RequestEncoder.explain(requestID: 1, rows: 1, columns: 1, k: 1, matrix: [0])
        frames[1][12] = 1
        XCTAssertEqual(error(frames)?.error.status, .badArgument)
    }

    func testReloadPathMustBeUTF8() {
        XCTAssertEqual(error([RequestHeader(operation: .reload, requestID: 1).encoded(), [0xFF, 0xFE]])?.error.status, .badArgument)
        XCTAssertEqual(error([RequestHeader(operation: .reload, requestID: 1).encoded(), []])?.error.status, .badArgument)
    }

    /// The daemon's check for the common SCORE (``RequestDecoder/plainScoreRows``) accepts
    /// exactly what the full decode returns as a SCORE without flags, with
    /// the same row count: on valid requests, on each single-field change that makes them
    /// invalid, and on random mutations of the header and counts frames and the matrix's size.
    func testPlainScoreCheckAgreesWithTheFullDecode() {
        func agree(_ frames: [[UInt8]], columns: Int, decoder: RequestDecoder, file: StaticString = #filePath,
                   line: UInt = #line) -> Int? {
            var expected: Int?
            if case .success(let request) = decoder.decode(frames, expectedColumns: columns), request.header.flags == 0,
               case .score(let rows, _) = request.body { expected = rows }
            let plain = frames.count != 3 ? nil : frames[0].withUnsafeBytes { header in
                frames[1].withUnsafeBytes { counts in
                    decoder.plainScoreRows(header: header, counts: counts, matrixBytes: frames[2].count, expectedColumns: columns)
                }
            }
            XCTAssertEqual(plain, expected, "frames \(frames.map { $0.count }) header \(frames.first ?? []) counts \(frames.count > 1 ? frames[1] : [])",
                           file: file, line: line)
            return plain
        }
        XCTAssertEqual(Array(withUnsafeBytes(of: RequestDecoder.magicWord.littleEndian) { Array($0) }), WireFormat.magic)
        let valid = RequestEncoder.score(requestID: 7, rows: 2, columns: 3, matrix: [Double](repeating: 0.5, count: 6))
        XCTAssertEqual(agree(valid, columns: 3, decoder: decoder), 2)
        XCTAssertNil(agree(valid, columns: 4, decoder: decoder), "the model's feature count")
        XCTAssertEqual(agree(RequestEncoder.score(requestID: 7, rows: 0, columns: 3, matrix: []), columns: 3, decoder: decoder), 0)
        XCTAssertNil(agree(RequestEncoder.score(requestID: 7, rows: 101, columns: 1, matrix: [Double](repeating: 0, count: 101)),
                           columns: 1, decoder: decoder), "over --max-rows")
        for (frame, byte, value) in [(0, 0, 0x58), (0, 3, 0), (0, 4, 1), (0, 5, Operation.explain.rawValue), (0, 6, 2), (0, 7, 1),
                                     (1, 0, 3), (1, 4, 2), (1, 7, 1)] {
            var frames = valid
            frames[frame][byte] = UInt8(value)
            XCTAssertNil(agree(frames, columns: 3, decoder: decoder), "frame \(frame) byte \(byte) = \(value)")
        }
        // A product of rows and columns past Int.max (possible only with a limit that high).
        let unlimited = RequestDecoder(maxRows: Int.max)
        var huge = valid
        huge[1] = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]
        XCTAssertNil(agree(huge, columns: Int(UInt32.max), decoder: unlimited))

        var rng = SplitMix64(seed: 0x5C0E)
        var accepted = 0, refused = 0
        for _ in 0..<20_000 {
            var frames = valid
            for _ in 0..<Int(rng.next() % 3) + 1 where frames.count == 3 && !frames[0].isEmpty && !frames[1].isEmpty {
                switch rng.next() % 8 {
                case 0: frames[2].append(contentsOf: [UInt8](repeating: 0, count: Int(rng.next() % 17)))
                case 1: frames[2].removeLast(Int(rng.next() % UInt64(frames[2].count + 1)))
                case 2: frames[Int(rng.next() % 2)].removeLast()
                case 3: frames[1][Int(rng.next() % UInt64(frames[1].count))] = UInt8(truncatingIfNeeded: rng.next() % 4)
                case 4: frames[1] = [UInt8(rng.next() % 5), 0, 0, 0, UInt8(rng.next() % 5), 0, 0, 0]
                        frames[2] = [UInt8](repeating: 0, count: Int(frames[1][0]) * Int(frames[1][4]) * 8)
                case 5: if rng.next() % 4 == 0 { frames.append([]) } else { frames.removeLast() }
                default: frames[0][Int(rng.next() % UInt64(frames[0].count))] = UInt8(truncatingIfNeeded: rng.next() % 4 == 0 ? rng.next() : rng.next() % 8)
                }
            }
            if agree(frames, columns: 3, decoder: decoder) != nil { accepted += 1 } else { refused += 1 }
        }
        XCTAssertGreaterThan(accepted, 1_000, "the mutations leave many requests valid")
        XCTAssertGreaterThan(refused, 1_000)
    }

    /// Random frames never trap and always produce a request or a typed, non-OK error.
    func testFuzzNeverTraps() {
        var rng = SplitMix64(seed: 0x5EED)
        let valid = RequestEncoder.explain(requestID: 3, rows: 2, columns: 2, k: 1, matrix: [1, 2, 3, 4])
        for _ in 0..<20_000 {
            var frames = valid
            let mutations = Int(rng.next() % 4) + 1
            for _ in 0..<mutations {
                switch rng.next() % 4 {
                case 0: frames.append((0..<Int(rng.next() % 20)).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
                case 1: if !frames.isEmpty { frames.removeLast() }
                default:
                    let f = Int(rng.next() % UInt64(max(frames.count, 1)))
                    if f < frames.count, !frames[f].isEmpty {
                        frames[f][Int(rng.next() % UInt64(frames[f].count))] = UInt8(truncatingIfNeeded: rng.next())
                    }
                }
            }
            switch decoder.decode(frames, expectedColumns: 2) {
            case .success: break
            case .failure(let e): XCTAssertNotEqual(e.error.status, .ok); XCTAssertFalse(e.error.message.isEmpty)
            }
        }
    }
}

/// A small deterministic generator for the fuzz test.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
