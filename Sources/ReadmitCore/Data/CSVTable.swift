import Foundation

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

/// A CSV file held as its bytes plus the byte range of every field.
///
/// Written by hand rather than with SwiftCSV/CSV.swift: those build a `String` per field
/// (5 million here), which costs more than the whole rest of the pipeline; this parser keeps
/// offsets and converts only the columns that are used. RFC 4180 quoting, LF and CRLF endings.
public struct CSVTable: Sendable {
    /// The file the table was read from (for error messages).
    public let file: String
    /// Column names from the header line.
    public let header: [String]
    /// Number of data rows.
    public let rowCount: Int

    private let bytes: [UInt8]
    /// `2 * (row * columns + column)` holds the start, `+1` the end (exclusive) of a field.
    private let bounds: [Int32]
    /// 1-based file line on which each data row starts.
    private let lines: [Int32]
    /// Rows that contain a quoted field (rare; such fields are unescaped on access).
    private let quotedRows: Set<Int>

    /// Parses `bytes`; `file` names the source in errors.
    public init(bytes: [UInt8], file: String) throws(DataError) {
        self.file = file
        self.bytes = bytes
        var bounds: [Int32] = []
        var lines: [Int32] = []
        var quotedRows = Set<Int>()
        var header: [String] = []
        var line: Int32 = 1
        var i = 0
        let n = bytes.count
        var rowFields: [Int32] = []
        var rowHasQuote = false
        var rowStartLine: Int32 = 1
        var rowIndex = -1  // -1 while reading the header
        guard n < Int(Int32.max) else {
            throw DataError(code: .unreadable, file: file, message: "file larger than 2 GiB is not supported")
        }

        func finishRow() throws(DataError) {
            // A blank line (one empty field) is skipped.
            if rowFields.count == 2 && rowFields[0] == rowFields[1] && !rowHasQuote { rowFields.removeAll(keepingCapacity: true); return }
            if rowIndex < 0 {
                header = stride(from: 0, to: rowFields.count, by: 2).map {
                    String(decoding: bytes[Int(rowFields[$0])..<Int(rowFields[$0 + 1])], as: UTF8.self)
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
                if i < n && bytes[i] == UInt8(ascii: "\"") {
                    rowHasQuote = true
                    let start = i + 1
                    i += 1
                    var closed = false
                    while i < n {
                        if bytes[i] == UInt8(ascii: "\"") {
                            if i + 1 < n && bytes[i + 1] == UInt8(ascii: "\"") { i += 2; continue }
                            closed = true
                            break
                        }
                        if bytes[i] == UInt8(ascii: "\n") { line += 1 }
                        i += 1
                    }
                    if !closed {
                        throw DataError(code: .malformed, file: file, line: Int(rowStartLine), message: "quoted field is not closed")
                    }
                    rowFields.append(Int32(start)); rowFields.append(Int32(i))
                    i += 1  // closing quote
                } else {
                    let start = i
                    while i < n && bytes[i] != UInt8(ascii: ",") && bytes[i] != UInt8(ascii: "\n") { i += 1 }
                    var end = i
                    if end > start && bytes[end - 1] == UInt8(ascii: "\r") && (i == n || bytes[i] == UInt8(ascii: "\n")) { end -= 1 }
                    rowFields.append(Int32(start)); rowFields.append(Int32(end))
                }
                if i < n && bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                if i < n && bytes[i] == UInt8(ascii: "\r") { i += 1 }
                if i < n && bytes[i] == UInt8(ascii: "\n") { i += 1; line += 1 }
                break
            }
            try finishRow()
        }
        if header.isEmpty || header == [""] {
            throw DataError(code: .empty, file: file, message: "file is empty (no header line)")
        }
        self.header = header
        self.bounds = bounds
        self.lines = lines
        self.quotedRows = quotedRows
        self.rowCount = lines.count
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
    /// Hashes the field bytes in place instead of building a `String` per field (5 million here).
    public func internedColumn(_ column: Int) -> InternedColumn {
        var values: [String] = []
        var codes = [Int32](repeating: 0, count: rowCount)
        var byHash: [UInt64: [Int32]] = [:]
        var firstSpan: [(Int, Int)] = []
        var quotedCodes: [String: Int32] = [:]
        var cacheHash = [UInt64](repeating: 0, count: 64), cacheCode = [Int32](repeating: -1, count: 64)
        bytes.withUnsafeBufferPointer { b in
            for r in 0..<rowCount {
                if quotedRows.contains(r) {
                    let text = string(row: r, column: column)
                    if let c = quotedCodes[text] { codes[r] = c; continue }
                    let c = Int32(values.count)
                    values.append(text); firstSpan.append((0, -1)); quotedCodes[text] = c; codes[r] = c
                    continue
                }
                let k = 2 * (r * header.count + column)
                let start = Int(bounds[k]), end = Int(bounds[k + 1])
                var h: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a
                for i in start..<end { h = (h ^ UInt64(b[i])) &* 0x100_0000_01b3 }
                // A small direct-mapped cache in front of the dictionary: columns have few distinct values.
                let slot = Int(h & 63)
                if cacheHash[slot] == h, cacheCode[slot] >= 0 {
                    let c = cacheCode[slot]
                    let (s0, e0) = firstSpan[Int(c)]
                    if e0 - s0 == end - start && memcmp(b.baseAddress! + s0, b.baseAddress! + start, end - start) == 0 { codes[r] = c; continue }
                }
                var found: Int32 = -1
                for c in byHash[h] ?? [] {
                    let (s0, e0) = firstSpan[Int(c)]
                    if e0 - s0 == end - start && memcmp(b.baseAddress! + s0, b.baseAddress! + start, end - start) == 0 { found = c; break }
                }
                if found < 0 {
                    found = Int32(values.count)
                    values.append(String(decoding: UnsafeBufferPointer(rebasing: b[start..<end]), as: UTF8.self))
                    firstSpan.append((start, end))
                    byHash[h, default: []].append(found)
                }
                cacheHash[slot] = h
                cacheCode[slot] = found
                codes[r] = found
            }
        }
        return InternedColumn(values: values, codes: codes)
    }

    /// A numeric field: `nil` when it equals `missing` (e.g. `?`), an error naming file, line and
    /// column when it is not a number.
    public func double(row: Int, column: Int, missing: String = "?") throws(DataError) -> Double? {
        if let v = plainInteger(row: row, column: column) { return Double(v) }
        let text = string(row: row, column: column)
        if text == missing || text.isEmpty { return nil }
        guard let value = Double(text), value.isFinite else {
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
