import Dispatch
import Foundation
import ReadmitSpec

/// A text column stored as its distinct values and one index per row.
public struct InternedColumn: Sendable {
    /// The distinct raw texts, in order of first appearance.
    public let values: [String]
    /// Per row, the index of its text in ``values``.
    public let codes: [Int32]

    /// Creates a column.
    public init(values: [String], codes: [Int32]) { self.values = values; self.codes = codes }

    /// A column with no rows.
    public static let empty = InternedColumn(values: [], codes: [])

    /// The raw text of row `row`.
    @inline(__always)
    public subscript(row: Int) -> String { values[Int(codes[row])] }

    /// Applies `transform` to each distinct value once and returns the result per row.
    public func map<T>(_ transform: (String) -> T) -> [T] {
        let mapped = values.map(transform)
        return codes.map { mapped[Int($0)] }
    }
}

/// An open-addressing hash table from a short field's packed key (its up to 7 bytes,
/// little-endian, with the length in the top byte) to its interned code.
///
/// It starts with 16 slots: a file of a million columns has a table per column (at 256 slots
/// to start, 3 KiB each, a 10 MB file of one row and 10^6 columns took 3.5 GB).
struct ShortKeyTable {
    private var bits = 4
    private var keys = [UInt64](repeating: 0, count: 16)
    private var codes = [Int32](repeating: -1, count: 16)  // -1: empty slot
    private var count = 0

    @inline(__always)
    private func slot(_ key: UInt64) -> Int { Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> UInt64(64 - bits)) }

    /// The code of `key`, or -1.
    @inline(__always)
    func find(_ key: UInt64) -> Int32 {
        var i = slot(key)
        let mask = keys.count - 1
        while codes[i] >= 0 {
            if keys[i] == key { return codes[i] }
            i = (i + 1) & mask
        }
        return -1
    }

    /// Adds `key` (not present) with `code`; the table doubles at half full.
    mutating func insert(_ key: UInt64, _ code: Int32) {
        if 2 * (count + 1) > keys.count {
            let oldKeys = keys, oldCodes = codes
            bits += 1
            keys = [UInt64](repeating: 0, count: 1 << bits)
            codes = [Int32](repeating: -1, count: 1 << bits)
            count = 0
            for k in 0..<oldKeys.count where oldCodes[k] >= 0 { insert(oldKeys[k], oldCodes[k]) }
        }
        var i = slot(key)
        while codes[i] >= 0 { i = (i + 1) & (keys.count - 1) }
        keys[i] = key
        codes[i] = code
        count += 1
    }
}

/// Interns one column's fields, row by row (see ``CSVTable/internedColumns(_:)``).
///
/// A field of up to 7 bytes (almost every field of this data) is packed with its length into
/// one 64-bit key looked up in a ``ShortKeyTable``; a longer one is hashed (FNV-1a) and
/// compared byte for byte with the first field of that text. A field of a row with a quoted
/// field arrives unescaped, as a `String` (``add(text:row:)``), and goes through the same
/// tables, so a text is one value whichever kind of row it is first seen in (it was two
/// values, one per kind of row, when a row elsewhere quoted a field).
struct ColumnInterner {
    var values: [String] = []
    var codes: [Int32]
    private var short = ShortKeyTable()
    private var byHash: [UInt64: [Int32]] = [:]
    /// Per code, the byte range of its first field in the file ((0, -1): first seen
    /// unescaped, compared through ``values``).
    private var firstSpan: [(Int, Int)] = []
    /// The file's bytes, which the spans index (set by every add from the file; valid for the
    /// one pass ``CSVTable/internedColumns(_:)`` makes).
    private var fileBase: UnsafePointer<UInt8>?
    private var lastHash: UInt64 = 0, lastCode: Int32 = -1

    init(rows: Int) { codes = [Int32](repeating: 0, count: rows) }

    /// Adds row `row`'s field `base[start..<end]` of the file.
    @inline(__always)
    mutating func add(_ base: UnsafePointer<UInt8>, start: Int, end: Int, row: Int) {
        fileBase = base
        add(base, start: start, end: end, row: row, inFile: true)
    }

    /// Adds row `row`'s (unescaped) text from a row with a quoted field.
    mutating func add(text: String, row: Int) {
        var text = text
        text.withUTF8 { bytes in
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(bytes.count, 1)) { copy in
                // A pointer that stays valid through the add (the text's own may not be one for an empty text).
                _ = copy.initialize(from: bytes)
                guard let base = copy.baseAddress else { return }
                add(UnsafePointer(base), start: 0, end: bytes.count, row: row, inFile: false)
            }
        }
    }

    @inline(__always)
    private mutating func add(_ base: UnsafePointer<UInt8>, start: Int, end: Int, row: Int, inFile: Bool) {
        let length = end - start
        let span = inFile ? (start, end) : (0, -1)
        if length <= 7 {
            var key = UInt64(length) << 56
            for i in 0..<length { key |= UInt64(base[start + i]) << UInt64(8 * i) }
            var found = short.find(key)
            if found < 0 {
                found = newValue(String(decoding: UnsafeBufferPointer(start: base + start, count: length), as: UTF8.self), span: span)
                short.insert(key, found)
            }
            codes[row] = found
            return
        }
        var h: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a
        for i in start..<end { h = (h ^ UInt64(base[i])) &* 0x100_0000_01b3 }
        // The previous long text first: runs of one value are common.
        if h == lastHash && lastCode >= 0 && same(lastCode, base, start, length) { codes[row] = lastCode; return }
        var found: Int32 = -1
        for c in byHash[h] ?? [] where same(c, base, start, length) { found = c; break }
        if found < 0 {
            found = newValue(String(decoding: UnsafeBufferPointer(start: base + start, count: length), as: UTF8.self), span: span)
            byHash[h, default: []].append(found)
        }
        lastHash = h
        lastCode = found
        codes[row] = found
    }

    private mutating func newValue(_ text: String, span: (Int, Int)) -> Int32 {
        values.append(text)
        firstSpan.append(span)
        return Int32(values.count - 1)
    }

    /// Whether value `code` is the bytes `base[start..<start+length]`.
    @inline(__always)
    private func same(_ code: Int32, _ base: UnsafePointer<UInt8>, _ start: Int, _ length: Int) -> Bool {
        let span = firstSpan[Int(code)]
        if span.1 >= 0, let fileBase {
            return span.1 - span.0 == length && memcmp(fileBase + span.0, base + start, length) == 0
        }
        var text = values[Int(code)]
        return text.withUTF8 { $0.count == length && ($0.baseAddress.map { memcmp($0, base + start, length) == 0 } ?? (length == 0)) }
    }
}

/// A CSV file held as its bytes plus the byte range of every field.
///
/// Written by hand rather than with SwiftCSV/CSV.swift: those build a `String` per field
/// (5 million here), which costs more than the whole rest of the pipeline; this parser keeps
/// offsets and converts only the columns that are used.
///
/// The rules (docs/DATASET_SPEC.md, "CSV files"): UTF-8 text, RFC 4180 quoting, LF or CRLF line
/// endings (mixed is fine; a quoted field keeps its embedded line breaks as written), a UTF-8
/// byte-order mark at the start ignored, blank lines skipped. A field that is not valid UTF-8
/// or longer than ``maxFieldBytes``, a row whose field count differs from the header's, an
/// unclosed quote or text after a closing quote is an error naming the file, the line (the
/// first such line in the file) and the column: the reader never guesses.
public struct CSVTable: Sendable {
    /// The longest field accepted, in bytes as written (quotes excluded): 1 MiB. The data has no
    /// field near this; a longer one is a broken file (a runaway quote, a binary blob), reported
    /// as ``DataError/Code/fieldTooLong`` rather than carried into the model.
    public static let maxFieldBytes = 1 << 20

    /// The file the table was read from (for error messages).
    public let file: String
    /// Column names from the header line.
    public let header: [String]
    /// Number of data rows.
    public let rowCount: Int

    let bytes: [UInt8]
    /// `2 * (row * columns + column)` holds the start, `+1` the end (exclusive) of a field.
    let bounds: [Int32]
    /// 1-based file line on which each data row starts.
    let lines: [Int32]
    /// Rows that contain a quoted field (rare; such fields are unescaped on access).
    let quotedRows: Set<Int>

    /// Parses `bytes`; `file` names the source in errors.
    public init(bytes: [UInt8], file: String) throws(DataError) {
        try self.init(bytes: bytes, file: file, parallel: true)
    }

    /// Parses `bytes`. A file without any quote character (the shipped data) takes the fast
    /// path: fields split at commas, records at line feeds, the body cut at a line boundary into
    /// two halves parsed on two threads when `parallel`; the result is identical to the
    /// single-threaded parse (the tests compare them), errors included (the first in file order).
    /// Files with quotes take the general RFC 4180 parser.
    init(bytes: [UInt8], file: String, parallel: Bool) throws(DataError) {
        guard bytes.count < Int(Int32.max) else {
            throw DataError(code: .unreadable, file: file, message: "file larger than 2 GiB is not supported")
        }
        let hasQuote = bytes.withUnsafeBufferPointer { b in b.baseAddress.map { memchr($0, 0x22, b.count) != nil } ?? false }
        // A UTF-8 byte-order mark (Excel and Windows tools write one) is not part of the first name.
        let start = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        let parsed = hasQuote ? try Self.parseGeneral(bytes, from: start, file: file)
                              : try Self.parseUnquoted(bytes, from: start, file: file, parallel: parallel)
        if parsed.header.isEmpty || parsed.header == [""] {
            throw DataError(code: .empty, file: file, message: "file is empty (no header line)")
        }
        // A file from a tool that writes another separator (a spreadsheet in a locale with a
        // decimal comma writes ';') reads as one column, and every field the spec names was
        // reported missing with no word of why.
        if parsed.header.count == 1, let separator = [";", "\t", "|"].first(where: { parsed.header[0].contains($0) }) {
            let shown = separator == "\t" ? "tab" : "'\(separator)'"
            throw DataError(code: .malformed, file: file, line: Int(parsed.headerLine),
                            message: "the header is one field that holds \(shown) characters: the file looks \(shown)-separated; "
                                + "readmit reads comma-separated files (RFC 4180)")
        }
        // A file whose lines end with a carriage return alone (classic Mac OS; Excel for Mac's
        // "CSV" before 2016) is one line here, as a lone CR is data: its header was every row,
        // reported as a name twice or as every spec field missing. Said as what it is.
        if let field = parsed.header.firstIndex(where: { $0.utf8.contains(13) }) {
            throw DataError(code: .malformed, file: file, line: Int(parsed.headerLine),
                            message: "header field \(field + 1) holds a carriage return that ends no line: lines ended by a carriage "
                                + "return alone (classic Mac OS) are not line breaks in a CSV file; convert the file to LF or CRLF line endings")
        }
        // A name twice is ambiguous: the tables took its first column, raw records its last, and
        // the wire refuses it. Unnamed columns (a spreadsheet's trailing commas) are never read.
        var firstField: [String: Int] = [:]
        for (field, name) in parsed.header.enumerated() where !name.isEmpty {
            if let first = firstField.updateValue(field, forKey: name) {
                throw DataError(code: .malformed, file: file, line: Int(parsed.headerLine), column: name,
                                message: "header names column '\(name)' twice (fields \(first + 1) and \(field + 1)): rename or drop one")
            }
        }
        self.file = file
        self.bytes = bytes
        self.header = parsed.header
        self.bounds = parsed.bounds
        self.lines = parsed.lines
        self.quotedRows = parsed.quotedRows
        self.rowCount = parsed.lines.count
    }

    /// What a parse produces.
    struct Parsed {
        var header: [String]
        var bounds: [Int32]
        var lines: [Int32]
        var quotedRows: Set<Int>
        /// The 1-based line of the header (after any blank lines).
        var headerLine: Int32 = 1
    }

    /// The fast parse of a file without quotes (see ``init(bytes:file:parallel:)``), from byte
    /// `from` (after a byte-order mark).
    static func parseUnquoted(_ bytes: [UInt8], from: Int = 0, file: String, parallel: Bool) throws(DataError) -> Parsed {
        let n = bytes.count
        return try bytes.withUnsafeBufferPointer { (b: UnsafeBufferPointer<UInt8>) throws(DataError) -> Parsed in
            guard let base = b.baseAddress, n > from else { return Parsed(header: [], bounds: [], lines: [], quotedRows: []) }
            // Header: the first line that is not blank.
            var i = from, line: Int32 = 1, headerLine: Int32 = 1
            var header: [String] = []
            while i < n {
                let end = newline(base, from: i, to: n)
                var fieldsEnd = end
                if fieldsEnd > i && base[fieldsEnd - 1] == UInt8(ascii: "\r") { fieldsEnd -= 1 }
                let lineStart = i
                i = end < n ? end + 1 : n
                if fieldsEnd == lineStart { line += 1; continue }  // blank line
                headerLine = line
                var start = lineStart
                for k in lineStart...fieldsEnd where k == fieldsEnd || base[k] == UInt8(ascii: ",") {
                    if let problem = fieldProblem(base, start: start, end: k, field: header.count, checkEncoding: true) {
                        throw DataError(code: problem.code, file: file, line: Int(line), message: "header " + problem.message)
                    }
                    header.append(String(decoding: UnsafeBufferPointer(start: base + start, count: k - start), as: UTF8.self))
                    start = k + 1
                }
                line += 1
                break
            }
            let columns = header.count
            if columns == 0 { return Parsed(header: [], bounds: [], lines: [], quotedRows: []) }
            // Cut the body at a line feed near its middle; count each part's line feeds (an
            // upper bound on its records, and the line number where the second part starts).
            var split = n
            if parallel && n - i > 1 << 20, let mid = memchr(base + i + (n - i) / 2, 0x0a, n - i - (n - i) / 2) {
                split = base.distance(to: mid.assumingMemoryBound(to: UInt8.self)) + 1
            }
            let firstFeeds = countFeeds(base, from: i, to: split), secondFeeds = countFeeds(base, from: split, to: n)
            let parts = split < n ? [(i, split, line, 0), (split, n, line + Int32(firstFeeds), firstFeeds)] : [(i, n, line, 0)]
            let capacityRows = firstFeeds + secondFeeds + 1
            var results = [Chunk?](repeating: nil, count: parts.count)
            var lines = [Int32](repeating: 0, count: capacityRows)
            let bounds = [Int32](unsafeUninitializedCapacity: capacityRows * columns * 2) { out, initialized in
                initialized = 0
                guard let outBase = out.baseAddress else { return }
                nonisolated(unsafe) let src = base, dst = outBase
                lines.withUnsafeMutableBufferPointer { linesBuffer in
                    results.withUnsafeMutableBufferPointer { resultBuffer in
                        nonisolated(unsafe) let lineDst = linesBuffer.baseAddress, result = resultBuffer
                        let work = { @Sendable (k: Int) in
                            let (lo, hi, startLine, firstRow) = parts[k]
                            guard let lineDst else { return }
                            result[k] = scanUnquoted(src, from: lo, to: hi, line: startLine, columns: columns,
                                                     bounds: dst + firstRow * columns * 2, lines: lineDst + firstRow)
                        }
                        if parts.count > 1 { DispatchQueue.concurrentPerform(iterations: parts.count, execute: work) } else { work(0) }
                    }
                }
                // The first part may have had fewer records than line feeds (blank lines): move the
                // second part's records down to follow it.
                var rows = 0
                for (k, part) in parts.enumerated() {
                    guard let r = results[k], r.error == nil else { break }
                    if rows != part.3 {
                        (outBase + rows * columns * 2).update(from: outBase + part.3 * columns * 2, count: r.rows * columns * 2)
                        lines.withUnsafeMutableBufferPointer { l in
                            guard let lb = l.baseAddress else { return }
                            (lb + rows).update(from: lb + part.3, count: r.rows)
                        }
                    }
                    rows += r.rows
                }
                initialized = rows * columns * 2
            }
            for r in results {
                if let r, let e = r.error {
                    throw DataError(code: e.code, file: file, line: Int(e.line), column: e.field.flatMap { $0 < columns ? header[$0] : nil },
                                    message: e.message)
                }
            }
            lines.removeLast(capacityRows - bounds.count / (2 * columns))
            return Parsed(header: header, bounds: bounds, lines: lines, quotedRows: [], headerLine: headerLine)
        }
    }

    /// One part's result: its record count, or the first error in it (with the 0-based field
    /// it is in, when it is in one field).
    struct Chunk: Sendable {
        var rows: Int
        var error: (line: Int32, field: Int?, code: DataError.Code, message: String)?
    }

    /// What is wrong with the field `b[start..<end]` (number `field`, 0-based), if anything: too
    /// long, or (when `checkEncoding`, i.e. it has a byte of 0x80 or more) not valid UTF-8.
    /// The message starts with "field N" (1-based).
    static func fieldProblem(_ b: UnsafePointer<UInt8>, start: Int, end: Int, field: Int, checkEncoding: Bool) -> (code: DataError.Code, message: String)? {
        if end - start > maxFieldBytes {
            return (.fieldTooLong, "field \(field + 1) is \(end - start) bytes long, over the limit of \(maxFieldBytes) bytes (1 MiB)")
        }
        if checkEncoding, let bad = firstInvalidUTF8(b, from: start, to: end) {
            let hex = String(b[bad], radix: 16, uppercase: true)
            return (.badEncoding, "field \(field + 1) is not valid UTF-8 (byte 0x\(hex.count < 2 ? "0" : "")\(hex) at byte \(bad - start + 1) of the field)")
        }
        return nil
    }

    /// The offset of the first byte of `b[from..<to]` that does not belong to a valid UTF-8
    /// sequence (overlong forms, surrogates and code points above U+10FFFF are invalid), or nil.
    static func firstInvalidUTF8(_ b: UnsafePointer<UInt8>, from: Int, to: Int) -> Int? {
        var i = from
        while i < to {
            let c = b[i]
            if c < 0x80 { i += 1; continue }
            let need: Int
            var low: UInt8 = 0x80, high: UInt8 = 0xBF  // the allowed range of the second byte
            switch c {
            case 0xC2...0xDF: need = 1
            case 0xE0: need = 2; low = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: need = 2
            case 0xED: need = 2; high = 0x9F
            case 0xF0: need = 3; low = 0x90
            case 0xF1...0xF3: need = 3
            case 0xF4: need = 3; high = 0x8F
            default: return i
            }
            if to - i <= need || b[i + 1] < low || b[i + 1] > high { return i }
            for k in stride(from: 2, through: need, by: 1) where b[i + k] & 0xC0 != 0x80 { return i }
            i += need + 1
        }
        return nil
    }

    /// The index of the first line feed in `b[from..<to]`, or `to`.
    @inline(__always)
    static func newline(_ b: UnsafePointer<UInt8>, from: Int, to: Int) -> Int {
        guard from < to, let p = memchr(b + from, 0x0a, to - from) else { return to }
        return b.distance(to: p.assumingMemoryBound(to: UInt8.self))
    }

    /// The number of line feeds in `b[from..<to]`.
    static func countFeeds(_ b: UnsafePointer<UInt8>, from: Int, to: Int) -> Int {
        var count = 0, i = from
        while i < to {
            i = newline(b, from: i, to: to)
            if i < to { count += 1; i += 1 }
        }
        return count
    }

    /// Splits the records of `b[from..<to]` (no quotes; `from` at a record start, `to` just
    /// after a line feed or at the end of the file) into field bounds, `columns` per record,
    /// with the same rules as the general parser: a carriage return before a line feed (or the
    /// end) is not part of the last field, and a blank line is skipped.
    static func scanUnquoted(_ b: UnsafePointer<UInt8>, from: Int, to: Int, line startLine: Int32, columns: Int,
                             bounds: UnsafeMutablePointer<Int32>, lines: UnsafeMutablePointer<Int32>) -> Chunk {
        var i = from, line = startLine, rows = 0
        var out = bounds
        while i < to {
            let rowLine = line
            var fields = 0
            var firstStart = i, firstEnd = i
            while true {
                let start = i
                var bits: UInt8 = 0  // every byte or-ed: bit 7 set when the field is not ASCII
                while i < to {
                    let c = b[i]
                    if c == UInt8(ascii: ",") || c == UInt8(ascii: "\n") { break }
                    bits |= c
                    i += 1
                }
                var end = i
                if end > start && b[end - 1] == UInt8(ascii: "\r") && (i == to || b[i] == UInt8(ascii: "\n")) { end -= 1 }
                if end - start > maxFieldBytes || bits >= 0x80,
                   let problem = fieldProblem(b, start: start, end: end, field: fields, checkEncoding: bits >= 0x80) {
                    return Chunk(rows: rows, error: (rowLine, fields, problem.code, problem.message))
                }
                if fields < columns { out[2 * fields] = Int32(start); out[2 * fields + 1] = Int32(end) }
                if fields == 0 { firstStart = start; firstEnd = end }
                fields += 1
                if i < to && b[i] == UInt8(ascii: ",") { i += 1; continue }
                if i < to { i += 1; line += 1 }  // the line feed
                break
            }
            if fields == 1 && firstStart == firstEnd { continue }  // blank line
            if fields != columns {
                return Chunk(rows: rows, error: (rowLine, nil, .malformed, "row has \(fields) fields, the header has \(columns)"))
            }
            lines[rows] = rowLine
            rows += 1
            out += 2 * columns
        }
        return Chunk(rows: rows, error: nil)
    }

    /// The general parser (RFC 4180 quoting), from byte `from` (after a byte-order mark): used
    /// when the file contains a quote character. A quoted field keeps its embedded line breaks
    /// (CRLF included) as written; after its closing quote only a comma, a line break or the
    /// end of the file may follow.
    static func parseGeneral(_ bytes: [UInt8], from: Int = 0, file: String) throws(DataError) -> Parsed {
        var bounds: [Int32] = []
        var lines: [Int32] = []
        var quotedRows = Set<Int>()
        var header: [String] = []
        var line: Int32 = 1
        var i = from
        let n = bytes.count
        var rowFields: [Int32] = []
        var rowHasQuote = false
        var rowStartLine: Int32 = 1
        var rowIndex = -1  // -1 while reading the header
        var headerLine: Int32 = 1

        /// An error in field `field` (0-based) of the current row.
        func fieldError(_ code: DataError.Code, _ message: String, field: Int) -> DataError {
            if rowIndex < 0 { return DataError(code: code, file: file, line: Int(rowStartLine), message: "header " + message) }
            return DataError(code: code, file: file, line: Int(rowStartLine), column: field < header.count ? header[field] : nil, message: message)
        }

        /// Checks the field `bytes[start..<end]` (its size, and its encoding when `bits`, its
        /// bytes or-ed, say it is not ASCII), then adds it to the row.
        func addField(_ start: Int, _ end: Int, bits: UInt8) throws(DataError) {
            if end - start > maxFieldBytes || bits >= 0x80 {
                let problem = bytes.withUnsafeBufferPointer { b in
                    b.baseAddress.flatMap { fieldProblem($0, start: start, end: end, field: rowFields.count / 2, checkEncoding: bits >= 0x80) }
                }
                if let problem { throw fieldError(problem.code, problem.message, field: rowFields.count / 2) }
            }
            rowFields.append(Int32(start)); rowFields.append(Int32(end))
        }

        func finishRow() throws(DataError) {
            // A blank line (one empty field) is skipped.
            if rowFields.count == 2 && rowFields[0] == rowFields[1] && !rowHasQuote { rowFields.removeAll(keepingCapacity: true); return }
            if rowIndex < 0 {
                headerLine = rowStartLine
                header = stride(from: 0, to: rowFields.count, by: 2).map {
                    let start = Int(rowFields[$0])
                    let name = String(decoding: bytes[start..<Int(rowFields[$0 + 1])], as: UTF8.self)
                    // A quoted name is unescaped as a quoted field is (`"x""y"` names x"y): the
                    // spec names the column as a person reads it.
                    let quoted = start > 0 && bytes[start - 1] == UInt8(ascii: "\"")
                    return quoted ? name.replacingOccurrences(of: "\"\"", with: "\"") : name
                }
            } else {
                let expected = header.count
                if rowFields.count / 2 != expected {
                    throw DataError(code: .malformed, file: file, line: Int(rowStartLine),
                                    message: "row has \(rowFields.count / 2) fields, the header has \(expected)")
                }
                bounds.append(contentsOf: rowFields)
                lines.append(rowStartLine)
                if rowHasQuote { quotedRows.insert(rowIndex) }
            }
            rowIndex += 1
            rowFields.removeAll(keepingCapacity: true)
            rowHasQuote = false
        }

        while i < n {
            rowStartLine = line
            // Parse one record.
            while true {
                var bits: UInt8 = 0
                if i < n && bytes[i] == UInt8(ascii: "\"") {
                    rowHasQuote = true
                    let start = i + 1
                    i += 1
                    var closed = false
                    while i < n {
                        let c = bytes[i]
                        if c == UInt8(ascii: "\"") {
                            if i + 1 < n && bytes[i + 1] == UInt8(ascii: "\"") { i += 2; continue }
                            closed = true
                            break
                        }
                        if c == UInt8(ascii: "\n") { line += 1 }
                        bits |= c
                        i += 1
                    }
                    if !closed {
                        throw fieldError(.malformed, "field \(rowFields.count / 2 + 1): quoted field is not closed", field: rowFields.count / 2)
                    }
                    try addField(start, i, bits: bits)
                    i += 1  // closing quote
                    let atEnd = i == n || bytes[i] == UInt8(ascii: ",") || bytes[i] == UInt8(ascii: "\n")
                        || (bytes[i] == UInt8(ascii: "\r") && (i + 1 == n || bytes[i + 1] == UInt8(ascii: "\n")))
                    if !atEnd {
                        // `"a"b,`: RFC 4180 has no reading of it; guessing would shift the columns.
                        throw fieldError(.malformed, "field \(rowFields.count / 2): text after the closing quote", field: rowFields.count / 2 - 1)
                    }
                } else {
                    let start = i
                    while i < n {
                        let c = bytes[i]
                        if c == UInt8(ascii: ",") || c == UInt8(ascii: "\n") { break }
                        bits |= c
                        i += 1
                    }
                    var end = i
                    if end > start && bytes[end - 1] == UInt8(ascii: "\r") && (i == n || bytes[i] == UInt8(ascii: "\n")) { end -= 1 }
                    try addField(start, end, bits: bits)
                }
                if i < n && bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                if i < n && bytes[i] == UInt8(ascii: "\r") { i += 1 }
                if i < n && bytes[i] == UInt8(ascii: "\n") { i += 1; line += 1 }
                break
            }
            try finishRow()
        }
        return Parsed(header: header, bounds: bounds, lines: lines, quotedRows: quotedRows, headerLine: headerLine)
    }

    /// Reads and parses a CSV file (gzip-compressed or plain).
    public init(path: String) throws(DataError) {
        try self.init(bytes: try CompressedFile.readAll(path: path), file: path)
    }

    /// The index of column `name`, or a `missingColumn` error naming the file and column.
    public func column(_ name: String) throws(DataError) -> Int {
        guard let index = header.firstIndex(of: name) else {
            throw DataError(code: .missingColumn, file: file, line: 1, column: name, message: "required column '\(name)' is missing from the header")
        }
        return index
    }

    /// The 1-based file line of data row `row`.
    public func line(ofRow row: Int) -> Int { Int(lines[row]) }

    /// The raw text of a field.
    public func string(row: Int, column: Int) -> String {
        let k = 2 * (row * header.count + column)
        let text = String(decoding: bytes[Int(bounds[k])..<Int(bounds[k + 1])], as: UTF8.self)
        if quotedRows.contains(row) { return text.replacingOccurrences(of: "\"\"", with: "\"") }
        return text
    }

    /// Calls `body` with the raw bytes of a field (no copy; quotes not unescaped).
    @inline(__always)
    public func withFieldBytes<R>(row: Int, column: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        let k = 2 * (row * header.count + column)
        let start = Int(bounds[k]), end = Int(bounds[k + 1])
        return try bytes.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[start..<end])) }
    }

    /// The field as a plain decimal integer (optional minus sign, at most 18 digits), or nil
    /// when it is anything else: the allocation-free fast path of ``double(row:column:missing:)``
    /// and ``integer(row:column:)``.
    @inline(__always)
    func plainInteger(row: Int, column: Int) -> Int? {
        let k = 2 * (row * header.count + column)
        var i = Int(bounds[k]), end = Int(bounds[k + 1])
        if end == i || end - i > 19 { return nil }
        return bytes.withUnsafeBufferPointer { b -> Int? in
            var negative = false
            if b[i] == UInt8(ascii: "-") { negative = true; i += 1; if i == end { return nil } }
            var v = 0
            while i < end {
                let d = Int(b[i]) &- 48
                if d < 0 || d > 9 { return nil }
                v = v &* 10 &+ d
                i += 1
            }
            _ = end
            return negative ? -v : v
        }
    }

    /// The column's values interned: each distinct text once, and per row the index of its text.
    public func internedColumn(_ column: Int) -> InternedColumn { internedColumns([column])[0] }

    /// Several columns interned (see ``InternedColumn``) in one pass over the rows.
    ///
    /// Works on the field bytes in place instead of building a `String` per field (5 million
    /// here), and row by row: a row's fields lie together in the file, so one sequential pass
    /// serves every column (a pass per column would read the whole file from memory each time).
    public func internedColumns(_ columns: [Int]) -> [InternedColumn] {
        var interners = columns.map { _ in ColumnInterner(rows: rowCount) }
        let stride = 2 * header.count
        bytes.withUnsafeBufferPointer { b in
            guard let base = b.baseAddress else { return }
            bounds.withUnsafeBufferPointer { bd in
                for r in 0..<rowCount {
                    if !quotedRows.isEmpty && quotedRows.contains(r) {
                        for (k, c) in columns.enumerated() { interners[k].add(text: string(row: r, column: c), row: r) }
                        continue
                    }
                    for (k, c) in columns.enumerated() {
                        let f = r * stride + 2 * c
                        interners[k].add(base, start: Int(bd[f]), end: Int(bd[f + 1]), row: r)
                    }
                }
            }
        }
        return interners.map { InternedColumn(values: $0.values, codes: $0.codes) }
    }

    /// Numeric columns (as ``double(row:column:missing:)``), in one pass over the rows: NaN
    /// where missing, and per column the rows whose value is not a number with their errors.
    public func doubleColumns(_ columns: [Int], missing: String = "?") -> [(values: [Double], errors: [(row: Int, error: DataError)])] {
        var out = columns.map { _ in (values: [Double](repeating: .nan, count: rowCount), errors: [(row: Int, error: DataError)]()) }
        for r in 0..<rowCount {
            for (k, c) in columns.enumerated() {
                if let v = plainInteger(row: r, column: c) { out[k].values[r] = Double(v); continue }
                do throws(DataError) { out[k].values[r] = try double(row: r, column: c, missing: missing) ?? .nan } catch { out[k].errors.append((r, error)) }
            }
        }
        return out
    }

    /// Integer columns (as ``integer(row:column:)``), in one pass over the rows: -1 where a value
    /// is not an integer, and per column those rows with their errors.
    public func integerColumns(_ columns: [Int]) -> [(values: [Int], errors: [(row: Int, error: DataError)])] {
        var out = columns.map { _ in (values: [Int](repeating: -1, count: rowCount), errors: [(row: Int, error: DataError)]()) }
        for r in 0..<rowCount {
            for (k, c) in columns.enumerated() {
                if let v = plainInteger(row: r, column: c) { out[k].values[r] = v; continue }
                do throws(DataError) { out[k].values[r] = try integer(row: r, column: c) } catch { out[k].errors.append((r, error)) }
            }
        }
        return out
    }

    /// A numeric field: `nil` when it equals `missing` (e.g. `?`), an error naming file, line and
    /// column when it is not a number.
    public func double(row: Int, column: Int, missing: String = "?") throws(DataError) -> Double? {
        if let v = plainInteger(row: row, column: column) { return Double(v) }
        let text = string(row: row, column: column)
        if text == missing || text.isEmpty { return nil }
        guard DecimalText.isDecimal(text), let value = Double(text), value.isFinite else {
            throw DataError(code: .badNumber, file: file, line: line(ofRow: row), column: header[column],
                            message: "'\(text)' is not a number")
        }
        return value
    }

    /// An integer field, or an error naming file, line and column.
    public func integer(row: Int, column: Int) throws(DataError) -> Int {
        if let v = plainInteger(row: row, column: column) { return v }
        let text = string(row: row, column: column)
        guard let value = Int(text) else {
            throw DataError(code: .badNumber, file: file, line: line(ofRow: row), column: header[column],
                            message: "'\(text)' is not an integer")
        }
        return value
    }
}
