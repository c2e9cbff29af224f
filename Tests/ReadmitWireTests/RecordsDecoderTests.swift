import XCTest
@testable import ReadmitWire

/// RECORDS decoding: a round trip, and every malformed frame a typed error naming it.
final class RecordsDecoderTests: XCTestCase {
    private let decoder = RequestDecoder(maxRows: 100)
    /// For columns long enough for the decoder's whole-column loops.
    private let largeDecoder = RequestDecoder(maxRows: 10_000)

    private func decode(_ frames: [[UInt8]], large: Bool = false) -> Result<Request, RequestDecodeError> {
        (large ? largeDecoder : decoder).decode(frames)
    }

    private func error(_ frames: [[UInt8]], large: Bool = false) -> WireError? {
        if case .failure(let e) = decode(frames, large: large) { return e.error }
        return nil
    }

    private let columns: [(name: String, column: RecordsRequest.Column)] = [
        ("time_in_hospital", .numbers([3, .nan, 7])),
        ("race", RequestEncoder.textColumn(["Caucasian", nil, "Caucasian"])),
        ("empty", .texts(values: [], codes: [-1, -1, -1])),
    ]

    func testRoundTrip() throws {
        let frames = RequestEncoder.records(requestID: 8, rows: 3, k: 2, options: 3, columns: columns)
        let request = try decode(frames).get()
        XCTAssertEqual(request.operation, .records)
        guard case .records(let r) = request.body else { return XCTFail("\(request.body)") }
        XCTAssertEqual(r.rows, 3)
        XCTAssertEqual(r.k, 2)
        XCTAssertEqual(r.options, 3)
        XCTAssertEqual(r.columns.map(\.name), ["time_in_hospital", "race", "empty"])
        XCTAssertEqual(r.columns[1].column, .texts(values: ["Caucasian"], codes: [0, -1, 0]))
        guard case .numbers(let v) = r.columns[0].column else { return XCTFail() }
        XCTAssertEqual(v[0], 3)
        XCTAssertTrue(v[1].isNaN)
    }

    /// A decoder reuses the last request's column names when the name frames are the same
    /// bytes (ColumnNameCache): the names decoded are those sent, whatever came before, and a
    /// repeated or invalid name is still refused after a valid request was decoded.
    func testNamesOfTheLastRequestAreReusedOnlyForTheSameBytes() throws {
        func names(_ sent: [String]) throws -> [String] {
            let frames = RequestEncoder.records(requestID: 1, rows: 1, columns: sent.map { ($0, .numbers([1])) })
            guard case .records(let r) = try decode(frames).get().body else { throw XCTSkip("not RECORDS") }
            return r.columns.map(\.name)
        }
        XCTAssertEqual(try names(["ab", "c", "race"]), ["ab", "c", "race"])
        XCTAssertEqual(try names(["ab", "c", "race"]), ["ab", "c", "race"])   // the kept names
        XCTAssertEqual(try names(["a", "c", "race"]), ["a", "c", "race"])     // a kept name's prefix
        XCTAssertEqual(try names(["ab", "c", "race"]), ["ab", "c", "race"])
        XCTAssertEqual(try names(["a", "bc", "race"]), ["a", "bc", "race"])   // the same bytes, split elsewhere
        XCTAssertEqual(try names(["a", "bc", "rack"]), ["a", "bc", "rack"])   // one byte differs
        XCTAssertEqual(try names(["a", "bc"]), ["a", "bc"])                   // fewer columns
        XCTAssertEqual(try names(["a", "bc", "rack", "gender"]), ["a", "bc", "rack", "gender"])
        var frames = RequestEncoder.records(requestID: 1, rows: 1, columns: [("a", .numbers([1])), ("bc", .numbers([1]))])
        frames[4] = frames[2]  // the same name twice, after a request that kept both names
        XCTAssertTrue(error(frames)?.message.contains("'a' is sent twice") ?? false)
        XCTAssertEqual(try names(["a", "bc"]), ["a", "bc"])
        frames = RequestEncoder.records(requestID: 1, rows: 1, columns: [("a", .numbers([1])), ("bc", .numbers([1]))])
        frames[4] = [0x62, 0xFF]  // not UTF-8, after the same names were kept
        XCTAssertTrue(error(frames)?.message.contains("column 1: the name must be") ?? false)
        XCTAssertEqual(try names(["a", "bc"]), ["a", "bc"])
    }

    func testMalformedFramesAreTypedErrors() {
        let valid = RequestEncoder.records(requestID: 1, rows: 3, columns: columns, codeWidth: .wide)
        XCTAssertEqual(error(Array(valid.dropLast()))?.status, .badFrames)
        var frames = valid
        frames[1] = Array(frames[1].prefix(12))
        XCTAssertEqual(error(frames)?.status, .badFrames)
        frames = valid
        frames[1][12] = 8  // an unknown option bit (0x4 is interval)
        XCTAssertEqual(error(frames)?.status, .badArgument)
        frames = valid
        frames[1][0] = 101  // over --max-rows
        XCTAssertEqual(error(frames)?.status, .tooManyRows)
        frames = valid
        frames[2] = []
        XCTAssertEqual(error(frames)?.status, .badArgument)
        frames = valid
        frames[4] = frames[2]  // the same name twice
        XCTAssertTrue(error(frames)?.message.contains("twice") ?? false)
        frames = valid
        frames[3][0] = 9
        XCTAssertTrue(error(frames)?.message.contains("unknown values type 9") ?? false)
        frames = valid
        frames[3].removeLast()
        XCTAssertEqual(error(frames)?.status, .badPayloadSize)
        frames = valid
        frames[5][5] = 200  // the first text's length runs past the frame
        XCTAssertEqual(error(frames)?.status, .badPayloadSize)
        frames = valid
        frames[5][9] = 0xFF  // not UTF-8
        XCTAssertTrue(error(frames)?.message.contains("UTF-8") ?? false)
        frames = valid
        frames[5][frames[5].count - 4] = 7  // a code past the distinct texts
        XCTAssertTrue(error(frames)?.message.contains("code 7") ?? false)
        frames = valid
        frames[5].replaceSubrange((frames[5].count - 4)..., with: [0xFE, 0xFF, 0xFF, 0xFF])  // -2 in the last row
        XCTAssertTrue(error(frames)?.message.contains("row 2: code -2 is not -1") ?? false, "\(String(describing: error(frames)))")
        frames = valid
        frames[7] = [2, 0xFF, 0xFF, 0xFF, 0xFF]  // 2^32 - 1 distinct texts announced in 5 bytes
        XCTAssertEqual(error(frames)?.status, .badPayloadSize)
    }

    /// A text column with 8-bit (type 3), 16-bit (type 4) or 32-bit codes (type 2) decodes to
    /// the same column; a narrow code past the texts, too many texts for the width, or a frame
    /// of the wrong size is a typed error naming the column.
    func testNarrowCodesDecodeAsWideOnes() throws {
        let many = (0..<300).map { "level \($0)" }
        let wide: [(name: String, column: RecordsRequest.Column)] = columns + [
            ("many", .texts(values: many, codes: [299, -1, 254])),
            ("few", .texts(values: ["a", "b"], codes: [1, -1, 0])),
        ]
        let narrow = RequestEncoder.records(requestID: 1, rows: 3, columns: wide)
        let plain = RequestEncoder.records(requestID: 1, rows: 3, columns: wide, codeWidth: .wide)
        XCTAssertEqual(narrow[5][0], 3, "a column of one text goes with 8-bit codes")
        XCTAssertEqual(narrow[9][0], 4, "300 texts go with 16-bit codes")
        XCTAssertEqual(plain[5][0], 2)
        XCTAssertLessThan(narrow[5].count, plain[5].count)
        guard case .records(let a) = try decode(narrow).get().body, case .records(let b) = try decode(plain).get().body else {
            return XCTFail("not RECORDS")
        }
        XCTAssertEqual(a.columns.map(\.name), b.columns.map(\.name))
        for c in 1..<a.columns.count { XCTAssertEqual(a.columns[c].column, b.columns[c].column, a.columns[c].name) }  // 0: NaN
        XCTAssertEqual(a.columns[3].column, .texts(values: many, codes: [299, -1, 254]))
        XCTAssertEqual(a.columns[4].column, .texts(values: ["a", "b"], codes: [1, -1, 0]))
        var frames = narrow
        frames[11][frames[11].count - 1] = 2  // 8-bit code 2 of two texts
        XCTAssertTrue(error(frames)?.message.contains("column 'few': row 2: code 2") ?? false, "\(String(describing: error(frames)))")
        frames = narrow
        frames[9].replaceSubrange((frames[9].count - 2)..., with: [0x2C, 0x01])  // 16-bit code 300 of 300 texts
        XCTAssertTrue(error(frames)?.message.contains("code 300") ?? false, "\(String(describing: error(frames)))")
        frames = narrow
        frames[11].removeLast()
        XCTAssertTrue(error(frames)?.message.contains("n_rows * 1") ?? false, "\(String(describing: error(frames)))")
        frames = narrow
        frames[9][0] = 3  // 300 texts announced with 8-bit codes
        XCTAssertTrue(error(frames)?.message.contains("do not fit 8-bit codes") ?? false, "\(String(describing: error(frames)))")
    }

    /// Number columns sent as 8-, 16- or 32-bit integers (value types 5, 6, 7; the type's
    /// minimum is missing) decode to exactly the numbers of the same column sent as float64
    /// (type 1), in a one-row, a short and a long column (the whole-column loop from 256 rows),
    /// whole or deferred and read by ranges; a frame of the wrong size is a typed error naming
    /// the column. The encoder picks the narrowest type the values allow, as libreadmit does.
    func testIntegerNumbersDecodeAsFloat64Ones() throws {
        XCTAssertEqual(RequestEncoder.narrowestNumberWidth([0, .nan, -127, 127]), 1)
        XCTAssertEqual(RequestEncoder.narrowestNumberWidth([.nan, .nan]), 1)
        XCTAssertEqual(RequestEncoder.narrowestNumberWidth([-128]), 2)
        XCTAssertEqual(RequestEncoder.narrowestNumberWidth([128, -32767, 32767]), 2)
        XCTAssertEqual(RequestEncoder.narrowestNumberWidth([-32768]), 4)
        XCTAssertEqual(RequestEncoder.narrowestNumberWidth([2_147_483_647, -2_147_483_647]), 4)
        for wide in [-2_147_483_648, 2_147_483_648, 0.5, -0.0, .infinity, -.infinity, 1e300] {
            XCTAssertEqual(RequestEncoder.narrowestNumberWidth([1, wide]), 8, "\(wide)")
        }
        for rows in [1, 3, 1_000] {
            var i8: [Double] = [], i16: [Double] = [], i32: [Double] = [], f64: [Double] = []
            for r in 0..<rows {
                let small: Int = r % 255 - 127, middle: Int = (r * 131) % 65_535 - 32_767
                i8.append(r % 5 == 1 ? Double.nan : Double(small))
                i16.append(r % 7 == 2 ? Double.nan : Double(middle))
                i32.append(r % 3 == 0 ? -2_147_483_647.0 : Double(r * 2_000_003))
                f64.append(Double(r) + 0.5)
            }
            let columns: [(name: String, column: RecordsRequest.Column)] = [
                ("i8", .numbers(i8)), ("i16", .numbers(i16)), ("i32", .numbers(i32)), ("f64", .numbers(f64)),
                ("t", .texts(values: ["a"], codes: Array(repeating: 0, count: rows))),
            ]
            let narrow = RequestEncoder.records(requestID: 1, rows: rows, columns: columns, numberWidth: .narrowest)
            let plain = RequestEncoder.records(requestID: 1, rows: rows, columns: columns)
            XCTAssertEqual([3, 5, 7, 9, 11].map { narrow[$0][0] }, [5, 6, 7, 1, 3], "\(rows) rows")
            XCTAssertEqual([3, 5, 7].map { narrow[$0].count }, [1 + rows, 1 + 2 * rows, 1 + 4 * rows])
            guard case .records(let a) = try decode(narrow, large: true).get().body,
                  case .records(let b) = try decode(plain, large: true).get().body else { return XCTFail("not RECORDS") }
            XCTAssertTrue(Self.same(a, b), "\(rows) rows")
            XCTAssertTrue(Self.same(a, RecordsRequest(rows: rows, k: 0, options: 0, columns: columns)), "\(rows) rows")
            // Deferred (a large request's parts): any range reads as that range of the whole.
            var deferring = RequestDecoder(maxRows: 10_000)
            deferring.deferredRecordsRows = 1
            try withFrameBytes(of: narrow) { bytes in
                guard case .success(let request) = deferring.decode(bytes), case .deferredRecords(let d) = request.body else {
                    return XCTFail("not deferred")
                }
                for range in [0..<rows, 0..<(rows / 2), (rows / 2)..<rows] {
                    XCTAssertTrue(Self.same(try d.request(rows: range).get(), RecordsRequest(rows: range.count, k: 0, options: 0,
                                                                                             columns: Self.slice(columns, range))),
                                  "rows \(range) of \(rows)")
                }
            }
            for c in [3, 5, 7] {
                var frames = narrow
                frames[c].removeLast()
                let e = error(frames, large: true)
                XCTAssertEqual(e?.status, .badPayloadSize)
                XCTAssertTrue(e?.message.contains("bit integers take 1 + n_rows * ") ?? false, "\(String(describing: e))")
            }
        }
    }

    /// A large column's 8-bit codes (the vectorised path, from 256 rows) decode as the same
    /// column's 32-bit codes: every code from 0 to 253 of 254 texts and missing rows (byte 255),
    /// and a code past the texts is still an error naming its row, anywhere in the column.
    func testLargeColumnsOfByteCodesDecodeAsWideOnes() throws {
        let levels = (0..<254).map { "t\($0)" }
        let rows = 1_000
        var codes = (0..<rows).map { Int32($0 % 255) - 1 }  // -1 (missing), then 0 ... 253, again
        codes.swapAt(3, 600)
        let wide: [(name: String, column: RecordsRequest.Column)] = [("c", .texts(values: levels, codes: codes))]
        let narrow = RequestEncoder.records(requestID: 1, rows: rows, columns: wide)
        let plain = RequestEncoder.records(requestID: 1, rows: rows, columns: wide, codeWidth: .wide)
        XCTAssertEqual(narrow[3][0], 3, "254 texts go with 8-bit codes")
        guard case .records(let a) = try decode(narrow, large: true).get().body, case .records(let b) = try decode(plain, large: true).get().body else {
            return XCTFail("not RECORDS")
        }
        XCTAssertEqual(a.columns[0].column, b.columns[0].column)
        XCTAssertEqual(a.columns[0].column, .texts(values: levels, codes: codes))
        for row in [0, 500, 777, rows - 1] {
            var frames = narrow
            frames[3][frames[3].count - rows + row] = 254
            XCTAssertTrue(error(frames, large: true)?.message.contains("row \(row): code 254") ?? false, "\(String(describing: error(frames, large: true)))")
        }
    }

    /// A request of at least `deferredRecordsRows` rows decodes with its rows left in the frames
    /// (what readmitd does for a large RECORDS, a part per core): any range of rows reads as that
    /// range of the request decoded whole, in every value type, and a code past the texts fails
    /// exactly the ranges that hold its row, naming it as a row of the whole request, with the
    /// message of the whole request's decoding. Smaller requests, HISTORY, and the byte-array
    /// convenience decode in full.
    func testDeferredRecordsReadAnyRangeAsTheWholeRequest() throws {
        let rows = 1_000
        var state: UInt64 = 99
        func next() -> UInt64 { state = state &* 6364136223846793005 &+ 1442695040888963407; return state >> 33 }
        func texts(_ n: Int) -> RecordsRequest.Column {
            .texts(values: (0..<n).map { "level \($0)" }, codes: (0..<rows).map { _ in Int32(next() % UInt64(n + 1)) - 1 })
        }
        let columns: [(name: String, column: RecordsRequest.Column)] = [
            ("numbers", .numbers((0..<rows).map { _ in next() % 7 == 0 ? .nan : Double(next() % 1_000) / 8 })),
            ("narrow", texts(200)), ("middle", texts(300)), ("wide", texts(5)), ("none", .texts(values: [], codes: Array(repeating: -1, count: rows))),
        ]
        let frames = RequestEncoder.records(requestID: 4, rows: rows, k: 2, options: RecordsRequest.optionMissingFieldsOk,
                                            columns: columns, codeWidth: .perColumn([0, 1, 2, 4, 1]))
        XCTAssertEqual(frames.dropFirst(2).enumerated().filter { $0.offset % 2 == 1 }.map { $0.element[0] }, [1, 3, 4, 2, 3])
        guard case .records(let whole) = try decode(frames, large: true).get().body else { return XCTFail("not RECORDS") }
        func part(_ range: Range<Int>) -> RecordsRequest {
            RecordsRequest(rows: range.count, k: 2, options: whole.options, columns: whole.columns.map { name, column in
                switch column {
                case .numbers(let v): return (name, .numbers(Array(v[range])))
                case .texts(let values, let codes): return (name, .texts(values: values, codes: Array(codes[range])))
                }
            })
        }
        var deferring = RequestDecoder(maxRows: 10_000)
        deferring.deferredRecordsRows = 500
        guard case .records(let full) = try deferring.decode(frames).get().body else { return XCTFail("byte arrays are not decoded in full") }
        XCTAssertTrue(Self.same(full, whole))
        try withFrameBytes(of: frames) { bytes in
            guard case .success(let request) = deferring.decode(bytes), case .deferredRecords(let d) = request.body else {
                return XCTFail("not deferred")
            }
            XCTAssertEqual(request.operation, .records)
            XCTAssertEqual([d.rows, d.k], [rows, 2])
            XCTAssertEqual(d.options, RecordsRequest.optionMissingFieldsOk)
            for range in [0..<rows, 0..<1, 0..<256, 255..<257, 999..<1000, 300..<700, 500..<500] {
                XCTAssertTrue(Self.same(try d.request(rows: range).get(), part(range)), "rows \(range)")
            }
        }
        // Below the threshold, and HISTORY of any size: in full.
        let small = RequestEncoder.records(requestID: 5, rows: 499, columns: Self.slice(columns, 0..<499))
        let history = RequestEncoder.history(requestID: 6, rows: rows, columns: columns)
        for (frames, what) in [(small, "499 rows"), (history, "HISTORY")] {
            withFrameBytes(of: frames) { bytes in
                guard case .success(let request) = deferring.decode(bytes) else { return XCTFail(what) }
                if case .deferredRecords = request.body { XCTFail("\(what) deferred") }
            }
        }
        // A 16-bit code past the 300 texts at row 777.
        var bad = frames
        let middle = 2 + 2 * 2 + 1, at = bad[middle].count - 2 * (rows - 777)
        bad[middle].replaceSubrange(at..<(at + 2), with: [0x2C, 0x01])  // 300
        let expected = try XCTUnwrap(error(bad, large: true))
        XCTAssertEqual(expected.message, "column 'middle': row 777: code 300 is not -1 (missing) or an index below 300")
        try withFrameBytes(of: bad) { bytes in
            guard case .success(let request) = deferring.decode(bytes), case .deferredRecords(let d) = request.body else {
                return XCTFail("the layout is sound: deferred")
            }
            XCTAssertTrue(Self.same(try d.request(rows: 0..<777).get(), part(0..<777)))
            XCTAssertTrue(Self.same(try d.request(rows: 778..<rows).get(), part(778..<rows)))
            for range in [777..<778, 500..<1000, 0..<rows] {
                guard case .failure(let e) = d.request(rows: range) else { return XCTFail("rows \(range) read") }
                XCTAssertEqual(e, expected, "rows \(range)")
            }
        }
        // A later column's malformed name or texts, met before any row is read, still yields
        // to the earlier column's bad code, as decoding whole finds them (found by fuzz_wire).
        for (frame, byte) in [(10, 0), (11, 0xFF)] {  // "none"'s name: a NUL; its values: an unknown type
            var worse = bad
            worse[frame][0] = UInt8(byte)
            XCTAssertNotNil(error(worse, large: true))
            withFrameBytes(of: worse) { bytes in
                guard case .failure(let e) = deferring.decode(bytes) else { return XCTFail("frame \(frame) accepted") }
                XCTAssertEqual(e.error, expected, "frame \(frame)")
            }
        }
    }

    /// The same request, numbers compared by their bits (NaN is missing, and equal to itself here).
    private static func same(_ a: RecordsRequest, _ b: RecordsRequest) -> Bool {
        func bits(_ c: RecordsRequest.Column) -> RecordsRequest.Column {
            guard case .numbers(let v) = c else { return c }
            return .texts(values: [], codes: v.flatMap { [Int32(truncatingIfNeeded: $0.bitPattern >> 32), Int32(truncatingIfNeeded: $0.bitPattern)] })
        }
        return a.rows == b.rows && a.k == b.k && a.options == b.options && a.columns.count == b.columns.count
            && zip(a.columns, b.columns).allSatisfy { $0.name == $1.name && bits($0.column) == bits($1.column) }
    }

    private static func slice(_ columns: [(name: String, column: RecordsRequest.Column)], _ range: Range<Int>) -> [(name: String, column: RecordsRequest.Column)] {
        columns.map { name, column in
            switch column {
            case .numbers(let v): return (name, .numbers(Array(v[range])))
            case .texts(let values, let codes): return (name, .texts(values: values, codes: Array(codes[range])))
            }
        }
    }

    /// A one-row column of at most one text (a raw encounter's every text column) decodes to the
    /// same column through its shared codes, in each code width; an invalid code is still an
    /// error naming the row.
    func testOneRowColumnsOfEachWidth() throws {
        let one: [(name: String, column: RecordsRequest.Column)] = [
            ("race", .texts(values: ["Caucasian"], codes: [0])),
            ("unread", .texts(values: [], codes: [-1])),
            ("sent_missing", .texts(values: ["?"], codes: [-1])),
        ]
        for width in [1, 2, 4] {
            let frames = RequestEncoder.records(requestID: 2, rows: 1, columns: one, codeWidth: .perColumn([width, width, width]))
            XCTAssertEqual(frames[3][0], width == 1 ? 3 : (width == 2 ? 4 : 2))
            guard case .records(let r) = try decode(frames).get().body else { return XCTFail("not RECORDS") }
            XCTAssertEqual(r.columns.map(\.column), one.map(\.column), "width \(width)")
            for (column, code) in [(3, [UInt8](repeating: 0, count: width - 1) + [1]), (5, [UInt8](repeating: 0, count: width))] {
                var bad = frames
                bad[column].replaceSubrange((bad[column].count - width)..., with: code.reversed())  // little-endian 1, or 0 of no text
                XCTAssertTrue(error(bad)?.message.contains("row 0: code") ?? false, "width \(width): \(String(describing: error(bad)))")
            }
        }
    }

    /// rows * columns * 8 past Int.max is a size error, not an arithmetic trap (it was one).
    func testHugeScoreCountsDoNotOverflow() {
        let big = RequestDecoder(maxRows: Int(UInt32.max))
        var counts: [UInt8] = []
        counts.appendLE(UInt32(268_435_457))
        counts.appendLE(UInt32.max)
        let frames = [RequestHeader(operation: .score, requestID: 1).encoded(), counts, [0, 0, 0, 0, 0, 0, 0, 0]]
        guard case .failure(let e) = big.decode(frames) else { return XCTFail("accepted") }
        XCTAssertEqual(e.error.status, .badPayloadSize)
        XCTAssertTrue(e.error.message.contains("more than Int.max"), e.error.message)
    }

    /// Random bytes in each frame: a value or a typed error, never a trap.
    func testRandomFramesNeverTrap() {
        var state: UInt64 = 0x1234_5678
        func next() -> UInt64 { state = state &* 6364136223846793005 &+ 1442695040888963407; return state >> 33 }
        let valid = RequestEncoder.records(requestID: 1, rows: 3, columns: columns)
        for _ in 0..<2000 {
            var frames = valid
            let f = Int(next() % UInt64(frames.count - 1)) + 1
            for _ in 0..<(1 + Int(next() % 4)) where !frames[f].isEmpty {
                frames[f][Int(next() % UInt64(frames[f].count))] = UInt8(truncatingIfNeeded: next())
            }
            if next() % 5 == 0 { frames[f] = Array(frames[f].prefix(Int(next() % UInt64(frames[f].count + 1)))) }
            _ = decode(frames)
        }
    }
}
