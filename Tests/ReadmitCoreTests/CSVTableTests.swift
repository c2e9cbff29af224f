import ReadmitCore
import XCTest

final class CSVTableTests: XCTestCase {
    func testParsesCRLFQuotesAndEmptyFields() throws {
        let text = "a,b,c\r\n1,\"x, \"\"y\"\"\",\r\n2,,z\r\n"
        let t = try CSVTable(bytes: Array(text.utf8), file: "t.csv")
        XCTAssertEqual(t.header, ["a", "b", "c"])
        XCTAssertEqual(t.rowCount, 2)
        XCTAssertEqual(t.string(row: 0, column: 1), "x, \"y\"")
        XCTAssertEqual(t.string(row: 0, column: 2), "")
        XCTAssertEqual(t.string(row: 1, column: 2), "z")
        XCTAssertEqual(t.line(ofRow: 1), 3)
    }

    /// A text is one interned value whether it is first seen in a row with a quoted field (read
    /// unescaped) or in a plain row, short (7 bytes or fewer) or long: it was one value per kind
    /// of row, so "no" of a row whose other field was quoted and "no" of a plain row were two.
    func testATextIsOneValueInQuotedAndPlainRows() throws {
        let text = "k,v,w\n\"q,1\",no,Surgery-General\nplain,no,Surgery-General\n\"q,2\",yes,Surgery-General\nplain,\"no\",\"\"\nplain,,\n"
        let t = try CSVTable(bytes: Array(text.utf8), file: "t.csv")
        let (v, w) = (t.internedColumn(1), t.internedColumn(2))
        XCTAssertEqual(v.values, ["no", "yes", ""])
        XCTAssertEqual(v.codes, [0, 0, 1, 0, 2])
        XCTAssertEqual(w.values, ["Surgery-General", ""])
        XCTAssertEqual(w.codes, [0, 0, 0, 1, 1])
        // Seen first in a plain row, then in quoted ones.
        let later = try CSVTable(bytes: Array("k,v\nplain,Surgery-General\n\"q,1\",Surgery-General\nx,\"Surgery-General\"\n".utf8), file: "u.csv")
        XCTAssertEqual(later.internedColumn(1).values, ["Surgery-General"])
        XCTAssertEqual(later.internedColumn(1).codes, [0, 0, 0])
    }

    /// A quoted header name is read as a quoted field is: a comma kept, a doubled quote one.
    func testAQuotedHeaderNameIsUnescaped() throws {
        let t = try CSVTable(bytes: Array("id,\"a,b\",\"x\"\"y\",plain\n1,2,3,4\n".utf8), file: "h.csv")
        XCTAssertEqual(t.header, ["id", "a,b", "x\"y", "plain"])
        XCTAssertEqual(try t.column("x\"y"), 2)
    }

    func testWrongFieldCountNamesTheLine() {
        XCTAssertThrowsError(try CSVTable(bytes: Array("a,b\n1,2\n3\n".utf8), file: "f.csv")) { error in
            let e = error as? DataError
            XCTAssertEqual(e?.code, .malformed)
            XCTAssertEqual(e?.line, 3)
            XCTAssertEqual(e?.file, "f.csv")
        }
    }

    /// Found by fuzz/swift/FuzzCSV.swift: text after a closing quote used to end the record
    /// there and started a new record mid-line: `a\n"x"y\n` read as two rows ("x" and "y") and
    /// `"a"b\n1\n` as a header "a" with a data row "b" on line 1. Now a malformed line.
    func testTextAfterAClosingQuoteIsMalformed() {
        for text in ["a\n\"x\"y\n", "a,b\n\"x\"y,1\n", "a,b\n1,\"x\" \n", "a,b\n1,\"x\"\ry\n", "\"a\"b\n1\n"] {
            XCTAssertThrowsError(try CSVTable(bytes: Array(text.utf8), file: "q.csv"), text.debugDescription) { error in
                let e = error as? DataError
                XCTAssertEqual(e?.code, .malformed)
                XCTAssertEqual(e?.line, text.hasPrefix("\"a\"") ? 1 : 2)
                XCTAssertEqual(e?.file, "q.csv")
            }
        }
        // What may follow a closing quote: a comma, LF, CRLF, or the end of the file.
        let ok = try? CSVTable(bytes: Array("a,b\n\"x\",\"y\"\r\n\"1\",2\n3,\"4\"".utf8), file: "q.csv")
        XCTAssertEqual(ok?.rowCount, 3)
        XCTAssertEqual(ok?.string(row: 2, column: 1), "4")
    }

    /// A semicolon- or tab-separated file (a spreadsheet's export in a locale with a decimal
    /// comma) reads as one column: it is refused as such, not as every field missing.
    func testAnotherSeparatorIsNamed() {
        for (text, shown) in [("enc;pat;age\n1;2;3\n", "';'"), ("enc\tpat\n1\t2\n", "tab"), ("\"enc;pat\"\n1\n", "';'")] {
            XCTAssertThrowsError(try CSVTable(bytes: Array(text.utf8), file: "s.csv"), text.debugDescription) { error in
                let e = error as? DataError
                XCTAssertEqual(e?.code, .malformed)
                XCTAssertEqual(e?.line, 1)
                XCTAssertEqual(e?.message, "the header is one field that holds \(shown) characters: the file looks \(shown)-separated; "
                                   + "readmit reads comma-separated files (RFC 4180)")
            }
        }
        // One column whose name holds none of them is a table.
        XCTAssertEqual(try? CSVTable(bytes: Array("enc\n1\n".utf8), file: "s.csv").rowCount, 1)
    }

    /// Lines ended by a carriage return alone (classic Mac OS) are one line: the header held
    /// every row, and the file was refused as "header names column '1' twice". Now named as
    /// what it is. A lone CR in a data row is data, and one at the end of the file ends it.
    func testLinesEndedByACarriageReturnAloneAreNamed() throws {
        for (text, field) in [("enc,age\r1,2\r3,4\r", 2), ("\n\"enc\",age\r1,\"2\"\r", 2), ("a\rb,c\n1,2\n", 1)] {
            XCTAssertThrowsError(try CSVTable(bytes: Array(text.utf8), file: "mac.csv"), text.debugDescription) { error in
                let e = error as? DataError
                XCTAssertEqual(e?.code, .malformed)
                XCTAssertEqual(e?.line, text.hasPrefix("\n") ? 2 : 1)
                XCTAssertEqual(e?.message, "header field \(field) holds a carriage return that ends no line: lines ended by a carriage "
                                   + "return alone (classic Mac OS) are not line breaks in a CSV file; convert the file to LF or CRLF line endings")
            }
        }
        let t = try CSVTable(bytes: Array("a,b\r\n1,x\ry\r\n2,z\r".utf8), file: "cr.csv")
        XCTAssertEqual(t.rowCount, 2)
        XCTAssertEqual(t.string(row: 0, column: 1), "x\ry")
        XCTAssertEqual(t.string(row: 1, column: 1), "z")
    }

    func testEmptyAndMissingFiles() {
        XCTAssertThrowsError(try CSVTable(bytes: [], file: "empty.csv")) { XCTAssertEqual(($0 as? DataError)?.code, .empty) }
        XCTAssertThrowsError(try CSVTable(path: "/nonexistent/x.csv")) { XCTAssertEqual(($0 as? DataError)?.code, .fileNotFound) }
    }

    func testBadNumberNamesFileLineAndColumn() throws {
        let t = try CSVTable(bytes: Array("n\n1\nabc\n".utf8), file: "g.csv")
        XCTAssertEqual(try t.double(row: 0, column: 0), 1)
        XCTAssertThrowsError(try t.double(row: 1, column: 0)) { error in
            let e = error as? DataError
            XCTAssertEqual(e?.code, .badNumber)
            XCTAssertEqual(e?.line, 3)
            XCTAssertEqual(e?.column, "n")
            XCTAssertEqual(e?.description, "g.csv:3: column 'n': 'abc' is not a number")
        }
    }

    func testReadsTheShippedGzipDirectly() throws {
        let t = try CSVTable(path: TestSupport.dataPath)
        XCTAssertEqual(t.rowCount, 101_766)
        XCTAssertEqual(t.header.count, 50)
        XCTAssertEqual(t.header.last, "readmitted")  // CRLF stripped from the last column name
    }
}
