import Foundation
import XCTest
import ReadmitCore
@testable import ReadmitTables

/// The CSV rules of docs/DATASET_SPEC.md ("CSV files"): line endings and a byte-order mark never
/// change what is read; invalid UTF-8, an oversized field and text after a closing quote are
/// errors naming the file, the first bad line and the column. Every case goes through the
/// two-thread, one-thread and general (quote-aware) parsers.
final class CSVRulesTests: XCTestCase {
    /// The two fast parses of `bytes` (the file has no quote) or the general one (it has), after
    /// checking that the general parser gives the same result or the same error.
    func parses(_ bytes: [UInt8], file: String = "e.csv", line: UInt = #line) -> Result<[CSVTable], DataError> {
        func attempt<T>(_ body: () throws(DataError) -> T) -> Result<T, DataError> {
            do { return .success(try body()) } catch { return .failure(error) }
        }
        let start = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        let general = attempt { () throws(DataError) in try CSVTable.parseGeneral(bytes, from: start, file: file) }
        let tables = [attempt { () throws(DataError) in try CSVTable(bytes: bytes, file: file, parallel: true) },
                      attempt { () throws(DataError) in try CSVTable(bytes: bytes, file: file, parallel: false) }]
        for t in tables {
            switch (t, general) {
            case (.success(let t), .success(let g)):
                XCTAssertEqual(t.header, g.header, line: line)
                XCTAssertEqual(t.bounds, g.bounds, line: line)
                XCTAssertEqual(t.lines, g.lines, line: line)
            case (.failure(let e), .failure(let g)): XCTAssertEqual(e, g, "fast vs general", line: line)
            default: XCTFail("fast \(t) vs general \(general)", line: line)
            }
        }
        switch (tables[0], tables[1]) {
        case (.success(let a), .success(let b)): return .success([a, b])
        case (.failure(let e), _): return .failure(e)
        case (_, .failure(let e)): return .failure(e)
        }
    }

    /// Every field of `t` as text.
    func cells(_ t: CSVTable) -> [[String]] {
        (0..<t.rowCount).map { r in t.header.indices.map { t.string(row: r, column: $0) } }
    }

    func error(_ bytes: [UInt8], line: UInt = #line) -> DataError? {
        if case .failure(let e) = parses(bytes, line: line) { return e }
        XCTFail("no error", line: line)
        return nil
    }

    func testLineEndingsAndByteOrderMarkReadTheSame() throws {
        let rows = ["id,name,n", "1,Caucasian,3", "", "2,?,", "3,None,12"]
        let lf = rows.joined(separator: "\n") + "\n"
        let crlf = rows.joined(separator: "\r\n") + "\r\n"
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
        let variants: [[UInt8]] = [Array(lf.utf8), Array(crlf.utf8), bom + Array(lf.utf8), bom + Array(crlf.utf8),
                                   bom + Array(crlf.utf8.dropLast(2)),  // no final line break
                                   bom + Array(crlf.replacingOccurrences(of: "None", with: "\"None\"").utf8)]  // quoted: the general parser
        let expected = try parses(Array(lf.utf8)).get()[0]
        XCTAssertEqual(expected.header, ["id", "name", "n"])
        XCTAssertEqual(cells(expected), [["1", "Caucasian", "3"], ["2", "?", ""], ["3", "None", "12"]])
        for (k, bytes) in variants.enumerated() {
            for t in try parses(bytes).get() {
                XCTAssertEqual(t.header, expected.header, "variant \(k)")
                XCTAssertEqual(try t.column("id"), 0)
                XCTAssertEqual(cells(t), cells(expected), "variant \(k)")
                XCTAssertEqual((0..<t.rowCount).map { t.line(ofRow: $0) }, [2, 4, 5], "variant \(k)")
                XCTAssertEqual(t.internedColumns([0, 1, 2]).map { $0.map { $0 } }, expected.internedColumns([0, 1, 2]).map { $0.map { $0 } })
            }
        }
        // A byte-order mark anywhere else is data (and only at the very start is it skipped).
        let inner = try parses(Array("a\n".utf8) + bom + Array("x\n".utf8)).get()[0]
        XCTAssertEqual(inner.string(row: 0, column: 0), "\u{FEFF}x")
    }

    func testQuotedFieldsKeepEmbeddedLineBreaks() throws {
        let t = try parses([0xEF, 0xBB, 0xBF] + Array("a,b\r\n\"two\r\nlines\",\"x,\"\"y\"\"\"\r\n3,4\r\n".utf8)).get()[0]
        XCTAssertEqual(t.header, ["a", "b"])
        XCTAssertEqual(cells(t), [["two\r\nlines", "x,\"y\""], ["3", "4"]])
        XCTAssertEqual([t.line(ofRow: 0), t.line(ofRow: 1)], [2, 4])
    }

    func testInvalidUTF8NamesFileLineAndColumn() throws {
        // Valid multi-byte text is read as written.
        let ok = try parses(Array("a,b\n1,é日本😀\n".utf8)).get()[0]
        XCTAssertEqual(ok.string(row: 0, column: 1), "é日本😀")
        let e = error(Array("a,b\n1,2\n3,4\u{FF}5\n6,\u{C3}\n".utf8.map { $0 }).replacingBytes())
        XCTAssertEqual(e?.code, .badEncoding)
        XCTAssertEqual(e?.line, 3)
        XCTAssertEqual(e?.column, "b")
        XCTAssertEqual(e?.description, "e.csv:3: column 'b': field 2 is not valid UTF-8 (byte 0xFF at byte 2 of the field)")
        // Truncated, overlong, surrogate and beyond U+10FFFF sequences, in a quoted field too.
        for bad: [UInt8] in [[0xC3], [0xC0, 0xAF], [0xE0, 0x80, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0x80], [0xE6, 0x97]] {
            for quoted in [false, true] {
                let field = quoted ? [0x22] + bad + [0x22] : bad
                let e = error(Array("a,b\r\n1,2\r\n".utf8) + field + Array(",x\r\n".utf8))
                XCTAssertEqual(e?.code, .badEncoding, "\(bad)")
                XCTAssertEqual(e?.line, 3)
                XCTAssertEqual(e?.column, "a")
            }
        }
        // In the header: the line, and the field's number (there is no column name yet).
        let h = error(Array("a,\u{FF}b\n1,2\n".utf8.map { $0 }).replacingBytes())
        XCTAssertEqual(h?.description, "e.csv:1: header field 2 is not valid UTF-8 (byte 0xFF at byte 1 of the field)")
    }

    func testOversizedFieldNamesFileLineAndColumn() throws {
        let limit = CSVTable.maxFieldBytes
        XCTAssertEqual(limit, 1 << 20)
        let atLimit = try parses(Array("a,b\n1,".utf8) + [UInt8](repeating: 0x78, count: limit) + Array("\n".utf8)).get()[0]
        XCTAssertEqual(atLimit.string(row: 0, column: 1).utf8.count, limit)
        for quoted in [false, true] {
            let big = [UInt8](repeating: 0x78, count: limit + 1)
            let e = error(Array("a,b\r\n1,2\r\n3,4\r\n5,".utf8) + (quoted ? [0x22] + big + [0x22] : big) + Array("\r\n".utf8))
            XCTAssertEqual(e?.code, .fieldTooLong)
            XCTAssertEqual(e?.line, 4)
            XCTAssertEqual(e?.column, "b")
            XCTAssertEqual(e?.message, "field 2 is \(limit + 1) bytes long, over the limit of \(limit) bytes (1 MiB)")
        }
    }

    func testTheFirstBadLineIsReported() throws {
        // Over 1 MiB, so the fast parser splits it in two halves read on two threads.
        var body = ""
        for i in 0..<200_000 { body += "\(i),\(i)\r\n" }
        let header = Array("x,y\r\n".utf8)
        let badUTF8 = Array("1,\u{FF}\r\n".utf8.map { $0 }).replacingBytes(), badCount = Array("1,2,3\r\n".utf8)
        // Second half only: its first bad line, whatever the kind.
        XCTAssertEqual(error(header + Array(body.utf8) + badUTF8 + badCount)?.line, 200_002)
        XCTAssertEqual(error(header + Array(body.utf8) + badUTF8 + badCount)?.code, .badEncoding)
        XCTAssertEqual(error(header + Array(body.utf8) + badCount + badUTF8)?.code, .malformed)
        // Both halves: the first half's.
        XCTAssertEqual(error(header + badCount + Array(body.utf8) + badUTF8)?.line, 2)
        let e = error(header + badUTF8 + Array(body.utf8) + badCount)
        XCTAssertEqual(e?.line, 2)
        XCTAssertEqual(e?.code, .badEncoding)
        XCTAssertEqual(e?.column, "y")
    }

    func testTextAfterAClosingQuoteIsAnError() throws {
        let e = error(Array("a,b\n1,2\n\"x\"y,2\n".utf8))
        XCTAssertEqual(e?.code, .malformed)
        XCTAssertEqual(e?.line, 3)
        XCTAssertEqual(e?.column, "a")
        XCTAssertEqual(error(Array("a,b\n1,\"2\"\r3\n".utf8))?.line, 2)  // a lone CR is not a line break
    }

    /// A name the header gives twice is an error naming the header's line, the name and both
    /// fields, in every parser: the tables read a name's first column and raw records its last,
    /// so the same file gave two answers. Unnamed columns may repeat (they are never read).
    func testAHeaderNameGivenTwiceIsAnError() throws {
        let files: [(text: String, line: Int)] = [
            ("id,race,age,race\n1,A,3,B\n", 1),
            ("\n\r\nid,race,age,race\r\n1,A,3,B\r\n", 3),
            ("\u{FEFF}id,race,age,race\n1,\"A\",3,B\n", 1),
            ("id,\"race\",age,race\n1,A,3,B\n", 1),
        ]
        for (text, line) in files {
            for parallel in [true, false] {
                XCTAssertThrowsError(try CSVTable(bytes: Array(text.utf8), file: "d.csv", parallel: parallel), text) {
                    let e = $0 as? DataError
                    XCTAssertEqual(e?.code, .malformed)
                    XCTAssertEqual(e?.line, line, text)
                    XCTAssertEqual(e?.column, "race")
                    XCTAssertEqual(e?.message, "header names column 'race' twice (fields 2 and 4): rename or drop one")
                }
            }
        }
        let unnamed = try CSVTable(bytes: Array("id,,race,\n1,,A,\n".utf8), file: "d.csv")
        XCTAssertEqual(unnamed.header, ["id", "", "race", ""])
    }
}

private extension Array where Element == UInt8 {
    /// The bytes with each U+00FF (written `\u{FF}` in the literals) made the single
    /// byte 0xFF, and U+00C3 at a field end the lone byte 0xC3: invalid UTF-8 on purpose.
    func replacingBytes() -> [UInt8] {
        var out: [UInt8] = []
        var i = 0
        while i < count {
            if i + 1 < count && self[i] == 0xC3 && self[i + 1] == 0xBF { out.append(0xFF); i += 2; continue }
            if i + 1 < count && self[i] == 0xC3 && self[i + 1] == 0x83 { out.append(0xC3); i += 2; continue }
            out.append(self[i])
            i += 1
        }
        return out
    }
}
