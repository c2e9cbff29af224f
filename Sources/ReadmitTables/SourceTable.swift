import ReadmitSpec

/// A CSV table read through a spec's rules: its missing-value tokens, and errors that name the
/// spec key a column came from.
public struct SourceTable: Sendable {
    /// The parsed file.
    public let csv: CSVTable
    /// Texts read as missing in every column (an empty field is always missing).
    public let missing: Set<String>
    /// The raw bytes as read (decompressed), for the training data hash.
    public let bytes: [UInt8]

    /// Reads the table at `path`.
    public init(path: String, missing: [String]) throws(DataError) {
        let bytes = try CompressedFile.readAll(path: path)
        csv = try CSVTable(bytes: bytes, file: path)
        self.missing = Set(missing)
        self.bytes = bytes
    }

    /// Wraps an already parsed table.
    public init(csv: CSVTable, missing: [String], bytes: [UInt8] = []) {
        self.csv = csv
        self.missing = Set(missing)
        self.bytes = bytes
    }

    /// The file name.
    public var file: String { csv.file }
    /// Number of data rows.
    public var rowCount: Int { csv.rowCount }

    /// The index of `name`, or an error naming the file, the column and the spec key that asked for it.
    public func column(_ name: String, key: String) throws(DataError) -> Int {
        guard let index = csv.header.firstIndex(of: name) else {
            throw DataError(code: .missingColumn, file: file, line: 1, column: name,
                            message: "column '\(name)' (spec key \(key)) is not in the header")
        }
        return index
    }

    /// A text column with its missing values marked.
    public func texts(_ name: String, key: String) throws(DataError) -> TextColumn {
        TextColumn(csv.internedColumn(try column(name, key: key)), missing: missing)
    }

    /// A numeric column: NaN where missing; a value that is not a finite number is recorded in
    /// `errors` (lenient) or thrown (strict), naming file, line and column.
    public func numbers(_ name: String, key: String, strict: Bool, errors: inout RowErrors) throws(DataError) -> [Double] {
        try texts(name, key: key).numbers(table: self, name: name, strict: strict, errors: &errors)
    }
}

/// A text column: each distinct text once, whether it is missing, and per row its code.
public struct TextColumn: Sendable {
    /// Distinct texts and per-row codes.
    public let interned: InternedColumn
    /// Per distinct text: whether it is one of the table's missing tokens.
    public let isMissing: [Bool]

    /// Marks the missing texts of `interned`.
    public init(_ interned: InternedColumn, missing: Set<String>) {
        self.interned = interned
        isMissing = interned.values.map { $0.isEmpty || missing.contains($0) }
    }

    /// A column with its missing texts given per distinct value.
    public init(_ interned: InternedColumn, isMissing: [Bool]) {
        self.interned = interned
        self.isMissing = isMissing
    }

    /// Number of rows.
    public var count: Int { interned.codes.count }

    /// The column re-indexed by `rows` (a join): row `i` takes row `rows[i]`, missing where it is -1.
    public func joined(_ rows: [Int]) -> TextColumn {
        let absent = Int32(interned.values.count)
        let codes = rows.map { $0 >= 0 ? interned.codes[$0] : absent }
        return TextColumn(InternedColumn(values: interned.values + [""], codes: codes), isMissing: isMissing + [true])
    }

    /// The text of `row`, or nil when it is missing.
    @inline(__always)
    public func text(_ row: Int) -> String? {
        let c = Int(interned.codes[row])
        return isMissing[c] ? nil : interned.values[c]
    }

    /// The column read as numbers (each distinct text parsed once).
    func numbers(table: SourceTable, name: String, strict: Bool, errors: inout RowErrors) throws(DataError) -> [Double] {
        var parsed = [Double](repeating: .nan, count: interned.values.count)
        var bad = [Bool](repeating: false, count: interned.values.count)
        for (c, text) in interned.values.enumerated() where !isMissing[c] {
            if let v = Double(text), v.isFinite { parsed[c] = v } else { bad[c] = true }
        }
        var out = [Double](repeating: .nan, count: count)
        for r in 0..<count {
            let c = Int(interned.codes[r])
            if bad[c] {
                let error = DataError(code: .badNumber, file: table.file, line: table.csv.line(ofRow: r), column: name,
                                      message: "'\(interned.values[c])' is not a number (missing values are written \(table.missing.sorted().map { "'\($0)'" }.joined(separator: " or ")))")
                if strict { throw error }
                errors.record(row: r, error)
            } else {
                out[r] = parsed[c]
            }
        }
        return out
    }
}

/// Lenient reading: the first problem of each encounter row.
public struct RowErrors: Sendable {
    /// The message per row (encounter-table row index).
    public private(set) var byRow: [Int: DataError] = [:]

    /// Creates an empty record.
    public init() {}

    /// Keeps `error` unless the row already has one.
    public mutating func record(row: Int, _ error: DataError) {
        if byRow[row] == nil { byRow[row] = error }
    }
}
