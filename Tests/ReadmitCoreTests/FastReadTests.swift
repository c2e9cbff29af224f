import Foundation
import XCTest
import ReadmitCore
@testable import ReadmitTables
import ReadmitSpec

/// The fast read path (libdeflate, the quote-free two-thread CSV parse, the row-major column
/// reads) against the general code it replaces.
final class FastReadTests: XCTestCase {
    static let memberA: [UInt8] = [0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0x4b, 0xd4, 0x49, 0xe2, 0x32, 0xd4,
                                   0x31, 0xe2, 0x02, 0x00, 0x7b, 0x07, 0x97, 0x0a, 0x08, 0x00, 0x00, 0x00]  // "a,b\n1,2\n"
    static let memberB: [UInt8] = [0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0x33, 0xd6, 0x31, 0xe1, 0x02, 0x00,
                                   0x3e, 0x2d, 0x72, 0xa9, 0x04, 0x00, 0x00, 0x00]  // "3,4\n"

    func testGzipMembersPlainFilesAndErrors() throws {
        let dir = TestSupport.temporaryDirectory()
        func file(_ bytes: [UInt8], _ name: String) throws -> String {
            let path = dir.appendingPathComponent(name).path
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            return path
        }
        XCTAssertEqual(try CompressedFile.readAll(path: try file(Self.memberA, "one.gz")), Array("a,b\n1,2\n".utf8))
        // Concatenated members are read one after another; trailing bytes that start no member are ignored.
        XCTAssertEqual(try CompressedFile.readAll(path: try file(Self.memberA + Self.memberB + [0, 0], "two.gz")), Array("a,b\n1,2\n3,4\n".utf8))
        XCTAssertEqual(try CompressedFile.readAll(path: try file(Array("x,y\n".utf8), "plain.csv")), Array("x,y\n".utf8))
        XCTAssertEqual(try CompressedFile.readAll(path: try file([], "empty.csv")), [])
        XCTAssertThrowsError(try CompressedFile.readAll(path: try file(Array(Self.memberA.dropLast(6)), "truncated.gz"))) {
            XCTAssertEqual(($0 as? DataError)?.code, .unreadable)
        }
        XCTAssertThrowsError(try CompressedFile.readAll(path: dir.appendingPathComponent("missing.gz").path)) {
            XCTAssertEqual(($0 as? DataError)?.code, .fileNotFound)
        }
        XCTAssertThrowsError(try CompressedFile.readAll(path: dir.path)) { XCTAssertEqual(($0 as? DataError)?.code, .unreadable) }
        // The size limit, before the file is read or inflated past it: exactly at it is read.
        func refusal(_ path: String, _ maxBytes: Int) -> String? {
            do { _ = try CompressedFile.readAll(path: path, maxBytes: maxBytes); return nil } catch { return error.message }
        }
        let plain = try file(Array("x,y\n".utf8), "plain4.csv")
        XCTAssertNil(refusal(plain, 4))
        XCTAssertEqual(refusal(plain, 3), "file larger than 3 bytes is not supported")
        let inflated = try CompressedFile.readAll(path: TestSupport.dataPath).count  // 3 MB of gzip
        XCTAssertNil(refusal(TestSupport.dataPath, inflated))
        XCTAssertEqual(refusal(TestSupport.dataPath, inflated - 1), "file decompresses to more than \(inflated - 1) bytes, which is not supported")
        XCTAssertEqual(refusal(TestSupport.dataPath, 4 << 20), "file decompresses to more than 4194304 bytes, which is not supported")
        // The shipped file: as many bytes as gzip's trailer says, and the known hash.
        let data = try CompressedFile.readAll(path: TestSupport.dataPath)
        XCTAssertEqual(data.count, 19_159_383)
        XCTAssertEqual(ModelFile.sha256Hex(data), "0689e7ec031237dc63031b938805c48377748761a3b26acab621567afa24df97")
    }

    /// Whole numbers read without the general parser give `Double(_:)`'s bits (the sign of
    /// zero too), and every other text is left to it.
    func testWholeNumbersReadAsTheGeneralParserReadsThem() {
        func same(_ text: String, line: UInt = #line) {
            guard let fast = SourceTable.wholeNumber(text) else { return XCTFail("'\(text)' not read as a whole number", line: line) }
            guard let general = Double(text) else { return XCTFail("Double('\(text)') is nil", line: line) }
            XCTAssertEqual(fast.bitPattern, general.bitPattern, "'\(text)'", line: line)
            XCTAssertEqual(SourceTable.number(text)?.bitPattern, general.bitPattern, "'\(text)'", line: line)
        }
        for v in 0...100_000 { same(String(v)); same("-\(v)") }
        for text in ["0", "-0", "00", "-000", "007", "999999999999999", "-999999999999999", "100000000000000",
                     "9007199254740", "123456789012345", "000000000000001"] {
            same(text)
        }
        var rng = SplitMix64(seed: 15)
        for _ in 0..<20_000 {
            let digits = 1 + Int(rng.next() % 15)
            let text = (rng.next() % 2 == 0 ? "-" : "") + String((0..<digits).map { _ in Character(String(rng.next() % 10)) })
            same(text)
        }
        // Left to Double(_:): 16 digits and more, fractions, exponents, signs other than a
        // leading '-', spaces, non-ASCII digits, nothing.
        for text in ["", "-", "+5", " 5", "5 ", "1.0", "1e3", "1234567890123456", "-1234567890123456", "--1",
                     "1-", "٣", "５", "NaN", "inf", "1_000"] {
            XCTAssertNil(SourceTable.wholeNumber(text), "'\(text)'")
            XCTAssertEqual(SourceTable.number(text)?.bitPattern, Double(text).flatMap { $0.isFinite ? $0 : nil }?.bitPattern, "'\(text)'")
        }
    }

    /// Numbers are decimal: `Double(_:)` reads hexadecimal too (`0x29` as 41), which in an
    /// EHR field is a garbled value, an error as `three` is.
    func testOnlyDecimalTextsAreNumbers() throws {
        for text in ["41", "-41", "+41", "41.", ".5", "-.5", "4.1e1", "4.1E+1", "1e-400", "0.000", "1234567890123456789", "-0"] {
            XCTAssertTrue(DecimalText.isDecimal(text), "'\(text)'")
            XCTAssertEqual(SourceTable.number(text)?.bitPattern, Double(text)?.bitPattern, "'\(text)'")
        }
        for text in ["0x29", "0X29", "-0x1p3", "0x1.8p1", "", ".", "+", "-.", "e5", "1e", "1e+", "1.2.3", "1e5.5", " 41", "41 ",
                     "nan", "inf", "Infinity", "1_000", "4,1", "٤١", "1e309"] {
            XCTAssertNil(SourceTable.number(text), "'\(text)'")
        }
        XCTAssertFalse(DecimalText.isDecimal("0x29"))
        // The training tables read numbers by the same rule.
        let table = try CSVTable(bytes: Array("id,n\n1,0x29\n2,41\n".utf8), file: "t.csv")
        XCTAssertEqual(try table.double(row: 1, column: 1), 41)
        XCTAssertThrowsError(try table.double(row: 0, column: 1)) { error in
            XCTAssertEqual((error as? DataError)?.code, .badNumber)
            XCTAssertTrue("\(error)".contains("t.csv:2: column 'n': '0x29' is not a number"), "\(error)")
        }
    }

    /// Parsed with the two-thread path, the one-thread path and the general (quote-aware) parser.
    func assertSameParses(_ bytes: [UInt8], file: String = "t.csv", line: UInt = #line) throws {
        let parallel = try CSVTable(bytes: bytes, file: file, parallel: true)
        let serial = try CSVTable(bytes: bytes, file: file, parallel: false)
        let general = try CSVTable.parseGeneral(bytes, file: file)
        for t in [parallel, serial] {
            XCTAssertEqual(t.header, general.header, line: line)
            XCTAssertEqual(t.bounds, general.bounds, line: line)
            XCTAssertEqual(t.lines, general.lines, line: line)
        }
    }

    /// The same error (code, line, message) from all three parsers.
    func assertSameError(_ bytes: [UInt8], line: UInt = #line) -> DataError? {
        func failure(_ body: () throws(DataError) -> Void) -> DataError? {
            do { try body(); return nil } catch { return error }
        }
        let errors = [failure { () throws(DataError) in _ = try CSVTable(bytes: bytes, file: "e.csv", parallel: true) },
                      failure { () throws(DataError) in _ = try CSVTable(bytes: bytes, file: "e.csv", parallel: false) },
                      failure { () throws(DataError) in _ = try CSVTable.parseGeneral(bytes, file: "e.csv") }]
        XCTAssertNotNil(errors[0], line: line)
        XCTAssertEqual(errors[0], errors[1], line: line)
        XCTAssertEqual(errors[0], errors[2], line: line)
        return errors[0]
    }

    func testFastParseEqualsGeneralParse() throws {
        try assertSameParses(Array("a,b,c\r\n1,,3\r\n\r\n4,5,6\r\n,,\r\n7,8,9".utf8))  // CRLF, blank line, empty fields, no final newline
        try assertSameParses(Array("\n\r\na,b\n1,2\n".utf8))  // blank lines before the header
        try assertSameParses(Array("a,b\n1,2\r\r\n3,\r\n".utf8))  // a CR inside the last field stays
        try assertSameParses(Array("a\n\n\n".utf8))
        try assertSameParses(try CompressedFile.readAll(path: TestSupport.dataPath))
        // Large enough to be split (over 1 MiB), with blank lines in the first half.
        var text = "x,y,z\n"
        for i in 0..<120_000 { text += i % 9_999 == 0 ? "\n" : "\(i),\(i % 7),v\(i % 3)\r\n" }
        try assertSameParses(Array(text.utf8))
    }

    func testFastParseErrorsNameTheFirstBadLine() throws {
        var text = "x,y\n"
        for i in 0..<200_000 { text += "\(i),\(i)\n" }
        var second = Array(text.utf8)
        second += Array("1,2,3\n4\n".utf8)  // bad rows in the second half only: the first of them
        XCTAssertEqual(assertSameError(second)?.line, 200_002)
        var first = Array("x,y\n1\n".utf8)
        first += Array(text.utf8.dropFirst(4)) + Array("1,2,3\n".utf8)  // bad rows in both halves: the first half's
        XCTAssertEqual(assertSameError(first)?.line, 2)
        XCTAssertEqual(assertSameError(first)?.message, "row has 1 fields, the header has 2")
    }

    func testRowMajorColumnsEqualCellByCell() throws {
        let text = "id,n,t\n1,2.5,a\n2,?,bb\n3,x,abcdefghij\n4,7,\"q,\"\"r\"\n5,-3,abcdefghij\n6,1e3,a\n"
        let t = try CSVTable(bytes: Array(text.utf8), file: "r.csv")
        let ints = t.integerColumns([0])[0]
        XCTAssertEqual(ints.values, [1, 2, 3, 4, 5, 6])
        XCTAssertTrue(ints.errors.isEmpty)
        let doubles = t.doubleColumns([1])[0]
        XCTAssertEqual(doubles.values.map { $0.isNaN ? -999 : $0 }, [2.5, -999, -999, 7, -3, 1000])
        XCTAssertEqual(doubles.errors.map(\.row), [2])
        XCTAssertEqual(doubles.errors.first?.error, DataError(code: .badNumber, file: "r.csv", line: 4, column: "n", message: "'x' is not a number"))
        let texts = t.internedColumns([2, 0])
        XCTAssertEqual((0..<t.rowCount).map { texts[0][$0] }, ["a", "bb", "abcdefghij", "q,\"r", "abcdefghij", "a"])
        XCTAssertEqual(texts[0].values, ["a", "bb", "abcdefghij", "q,\"r"])
        XCTAssertEqual(texts[1].values, ["1", "2", "3", "4", "5", "6"])
        // The shipped data: every categorical column interned row-major equals its text per row.
        let data = try CSVTable(path: TestSupport.dataPath)
        let columns = try TestSupport.spec.features.filter(\.isCategorical).compactMap(\.column).map { try data.column($0) }
        let interned = data.internedColumns(columns)
        for (k, c) in columns.enumerated() {
            XCTAssertEqual(Set(interned[k].values).count, interned[k].values.count)
            for r in Swift.stride(from: 0, to: data.rowCount, by: 97) { XCTAssertEqual(interned[k][r], data.string(row: r, column: c)) }
        }
    }

    /// The short-text table starts small (a file of 10^6 columns has one per column) and grows:
    /// 5,000 distinct short texts, each seen twice, intern to 5,000 values in order.
    func testInterningGrowsFromASmallTable() throws {
        let texts = (0..<5_000).map { "v\($0)" }
        let text = "c\n" + (texts + texts).joined(separator: "\n") + "\n"
        let t = try CSVTable(bytes: Array(text.utf8), file: "g.csv")
        let column = t.internedColumn(0)
        XCTAssertEqual(column.values, texts)
        XCTAssertEqual(column.codes, (0..<10_000).map { Int32($0 % 5_000) })
    }
}
