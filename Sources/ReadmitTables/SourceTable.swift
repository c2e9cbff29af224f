import ReadmitSpec
import ReadmitTextIndex

/// One column of an in-memory table (a `RECORDS` request): numbers, or dictionary-encoded texts.
public enum RecordColumn: Sendable, Equatable {
    /// Numbers; NaN is missing.
    case numbers([Double])
    /// Distinct texts and a code per row into them; -1 is missing.
    case texts(values: [String], codes: [Int32])
}

extension RecordColumn {
    /// What a one-row column gives a `count_of` (``SourceTable/countsOf(_:in:key:)``).
    enum OneRowText { case numbers, missing, present(String) }

    /// A one-row column of texts: its text missing, or present (the text); `.numbers` for a
    /// column of numbers. Read in place (see the caller).
    func oneRowText(missing: MissingTexts) -> OneRowText {
        guard case .texts(let values, let codes) = self else { return .numbers }
        precondition(codes.count == 1, "a code for the one row")
        let code = Int(codes[0])
        precondition(code >= -1 && code < values.count, "a code is past its \(values.count) texts")
        guard code >= 0, !missing.contains(values[code]) else { return .missing }
        return .present(values[code])
    }

    /// The values of a column of numbers; nil for texts.
    var numberValues: [Double]? {
        guard case .numbers(let values) = self else { return nil }
        return values
    }

    /// The distinct texts and codes of a column of texts; nil for numbers.
    var textParts: (values: [String], codes: [Int32])? {
        guard case .texts(let values, let codes) = self else { return nil }
        return (values, codes)
    }

    /// The column as a ``TextColumn`` with its missing values marked by `missing` (numbers
    /// become their shortest text, 6.0 is `6`): ``SourceTable/texts(_:key:)`` of a column held
    /// in memory.
    @inline(__always)  // its one caller's copy of the element is left out only when inlined
    func textColumn(rows: Int, missing: MissingTexts) -> TextColumn {
        switch self {
        case .texts(let values, let codes):
            // Built by reserve-and-append: `+` and `map` allocate through the standard library's
            // unspecialised entry point, which looks up type metadata on every call (a one-row
            // request reads dozens of columns).
            // Whether any row is missing (code -1): the codes OR-ed are negative (an OR, which
            // SSE2 vectorises in under one instruction a row; a minimum took about three).
            var bits: Int32 = 0
            codes.withUnsafeBufferPointer { for code in $0 { bits |= code } }
            if bits >= 0 {
                // No row missing (the usual one-row request): the texts and codes as they came.
                if values.count == 1 {  // one text (every one-row column): a shared flag array, no allocation
                    return TextColumn(InternedColumn(values: values, codes: codes),
                                      isMissing: missing.contains(values[0]) ? SourceTable.oneMissing : SourceTable.onePresent)
                }
                var isMissing: [Bool] = []
                isMissing.reserveCapacity(values.count)
                for v in values { isMissing.append(missing.contains(v)) }
                return TextColumn(InternedColumn(values: values, codes: codes), isMissing: isMissing)
            }
            // A missing code (-1) points at one more text, "", marked missing.
            let absent = Int32(values.count)
            var all = values
            all.append("")
            var isMissing: [Bool] = []
            isMissing.reserveCapacity(all.count)
            for v in values { isMissing.append(missing.contains(v)) }
            isMissing.append(true)
            return TextColumn(InternedColumn(values: all, codes: SourceTable.remapped(codes, missingTo: absent)), isMissing: isMissing)
        case .numbers(let numbers):
            var codeOf = BitPatternCodes()
            var values: [String] = []
            var codes = [Int32](repeating: 0, count: rows)
            // Whole numbers 0-255 (the ids of a categorical column sent as numbers: admission
            // types, dispositions) are coded through a direct table; any other value through
            // the hash of its bits. Codes go to texts in order of first appearance either way.
            // The table pays for itself only over many rows (a one-row request reads dozens
            // of columns).
            let smallTable = rows >= 64 ? 256 : 0
            precondition(numbers.count <= rows, "a records column holds more values than rows")
            withUnsafeTemporaryAllocation(of: Int32.self, capacity: smallTable) { small in
                small.initialize(repeating: -1)
                codes.withUnsafeMutableBufferPointer { out in
                    numbers.withUnsafeBufferPointer { source in
                        for (r, v) in source.enumerated() {
                            // +0 to 255 exactly (-0 has other bits, so it goes by the hash, as
                            // before). For 0 <= v < 2^52, v + 2^52 rounds v to a whole number
                            // held in the low bits of its significand: equal to v after
                            // subtracting 2^52 back exactly when v is whole, then those bits are
                            // v. No libm call (Int(exactly:) called trunc for every row and
                            // column) and no trapping conversion.
                            let shifted = v + 0x1p52
                            if smallTable > 0, v >= 0, v < 256, v.sign == .plus, shifted - 0x1p52 == v {
                                let whole = Int(shifted.bitPattern & 0xFF)
                                if small[whole] < 0 {
                                    values.append(SourceTable.shortestText(v))
                                    small[whole] = Int32(values.count - 1)
                                }
                                out[r] = small[whole]
                                continue
                            }
                            let key = v.isNaN ? Double.nan.bitPattern : v.bitPattern
                            out[r] = codeOf.code(of: key) {
                                values.append(v.isNaN ? "" : SourceTable.shortestText(v))
                                return Int32(values.count - 1)
                            }
                        }
                    }
                }
            }
            return TextColumn(InternedColumn(values: values, codes: codes), missing: missing)
        }
    }

    /// The column, leaving an empty column of numbers in its place (the empty array is a
    /// static the runtime does not count): moves a column out of an array's element without
    /// a copy, which would retain and release its arrays.
    public mutating func take() -> RecordColumn {
        let column = consume self
        self = .numbers([])
        return column
    }
}

/// The names of a table's columns held in memory: the header, and each name's position (the
/// last column of a name wins, as a dictionary built from the header would have it).
public struct ColumnLayout: Sendable {
    /// The names, in column order.
    public let header: [String]
    /// The distinct names (``TextIndex``: a one-row request looks up dozens of names).
    let names: TextIndex
    /// Per distinct name, the last column of that name.
    let column: [Int]

    /// The layout of columns named `header`.
    public init(header: [String]) {
        self.header = header
        (names, column) = TextIndex.lastOccurrences(header)
    }

    /// The column named `name` (the last one of that name), or nil.
    @inline(__always)
    func position(of name: String) -> Int? { names[name].map { column[$0] } }
}

/// Columns held in memory, looked up by name through a shared ``ColumnLayout``.
struct NamedColumns: Sendable {
    let columns: [RecordColumn]
    let layout: ColumnLayout

    subscript(name: String) -> RecordColumn? {
        guard let i = layout.position(of: name) else { return nil }
        return columns[i]
    }
}

/// A table read through a spec's rules: its missing-value tokens, and errors that name the
/// spec key a column came from. Backed by a CSV file, or by columns in memory (raw records
/// sent to the daemon), which are read by the same rules.
public struct SourceTable: Sendable {
    enum Backing: Sendable {
        case csv(CSVTable)
        case columns(NamedColumns, header: [String], rows: Int)
    }

    let backing: Backing
    /// Texts read as missing in every column (an empty field is always missing).
    public let missing: MissingTexts
    /// The raw bytes as read (decompressed), for the training data hash.
    public let bytes: [UInt8]
    /// The file name (or `request` for raw records).
    public let file: String

    /// Reads the table at `path`.
    public init(path: String, missing: [String]) throws(DataError) {
        let bytes = try CompressedFile.readAll(path: path)
        self.init(csv: try CSVTable(bytes: bytes, file: path), missing: missing, bytes: bytes)
    }

    /// Wraps an already parsed table.
    public init(csv: CSVTable, missing: [String], bytes: [UInt8] = []) {
        backing = .csv(csv)
        self.missing = MissingTexts(missing)
        self.bytes = bytes
        file = csv.file
    }

    /// A table of `rows` rows held as named columns (in `header` order).
    public init(columns: [(name: String, column: RecordColumn)], rows: Int, missing: [String], name: String = "request") {
        self.init(columns: columns.map(\.column), layout: ColumnLayout(header: columns.map(\.name)), rows: rows,
                  missing: missing, name: name)
    }

    /// A table of `rows` rows held as `columns`, named by `layout` (in its header order). A
    /// caller that reads many tables of the same columns (the daemon: one per request) builds
    /// the layout once and shares it, instead of hashing every name again per table.
    public init(columns: [RecordColumn], layout: ColumnLayout, rows: Int, missing: [String], name: String = "request") {
        precondition(columns.count == layout.header.count, "a column per name of the layout")
        backing = .columns(NamedColumns(columns: columns, layout: layout), header: layout.header, rows: rows)
        self.missing = MissingTexts(missing)
        bytes = []
        file = name
    }

    /// Whether the table is raw records (errors then name rows, not file lines).
    public var isRecords: Bool { if case .columns = backing { return true } else { return false } }

    /// Number of data rows.
    public var rowCount: Int {
        switch backing {
        case .csv(let t): return t.rowCount
        case .columns(_, _, let rows): return rows
        }
    }

    /// The column names.
    public var header: [String] {
        switch backing {
        case .csv(let t): return t.header
        case .columns(_, let header, _): return header
        }
    }

    /// Whether the table has the column `name`.
    public func has(_ name: String) -> Bool {
        switch backing {
        case .csv(let t): return t.header.contains(name)
        case .columns(let columns, _, _): return columns[name] != nil  // a hash, not a scan of every name
        }
    }

    /// Where row `row` (0-based) is, for a message: `line N` of the file, or for raw records
    /// `row N`.
    public func place(ofRow row: Int) -> String {
        switch backing {
        case .csv(let t): return "line \(t.line(ofRow: row))"
        case .columns: return "row \(row)"
        }
    }

    /// A problem at row `row` (0-based) of column `column`: placed by its file line, or for raw
    /// records by the row.
    public func error(_ code: DataError.Code, row: Int, column: String, message: String) -> DataError {
        switch backing {
        case .csv(let t): return DataError(code: code, file: file, line: t.line(ofRow: row), column: column, message: message)
        case .columns: return DataError(code: code, file: file, row: row, column: column, message: message)
        }
    }

    /// An error naming the file, the column and the spec key that asked for it, when `name` is absent.
    /// `key` is built only for the error (an autoclosure, as in ``texts(_:key:)`` and
    /// ``numbers(_:key:strict:errors:)``): a one-row request reads dozens of columns.
    public func requireColumn(_ name: String, key: @autoclosure () -> String) throws(DataError) {
        guard has(name) else { throw missingColumn(name, key: key()) }
    }

    private func missingColumn(_ name: String, key: String) -> DataError {
        if isRecords {
            return DataError(code: .missingColumn, file: file, column: name, message: "required field '\(name)' (spec key \(key)) is not in the request")
        }
        return DataError(code: .missingColumn, file: file, line: 1, column: name, message: "column '\(name)' (spec key \(key)) is not in the header")
    }

    /// A text column with its missing values marked. Numbers of a raw-records column become
    /// their shortest text (6.0 is `6`).
    public func texts(_ name: String, key: @autoclosure () -> String) throws(DataError) -> TextColumn {
        switch backing {
        case .csv(let t):
            guard let index = t.header.firstIndex(of: name) else { throw missingColumn(name, key: key()) }
            return TextColumn(t.internedColumn(index), missing: missing)
        case .columns(let columns, _, let rows):
            // One lookup by name (a one-row request reads every column once).
            // The column read where it lies (a method on the array's element): a copy retained
            // and released its two arrays.
            guard let i = columns.layout.position(of: name) else { throw missingColumn(name, key: key()) }
            return columns.columns[i].textColumn(rows: rows, missing: missing)
        }
    }

    /// The missing flags of a column of one text, shared (see ``RecordColumn/textColumn(rows:missing:)``).
    static let oneMissing = [true], onePresent = [false]

    /// `codes` with -1 replaced by `absent`. A large column takes one select per row over plain
    /// buffers (it vectorises; a checked append per row was 3% of a 100,000-row request's
    /// instructions); a short one is appended, as `unsafeUninitializedCapacity` looks up type
    /// metadata at run time (about 1,000 instructions, a one-row request's whole column).
    static func remapped(_ codes: [Int32], missingTo absent: Int32) -> [Int32] {
        guard codes.count >= 256 else {
            var mapped: [Int32] = []
            mapped.reserveCapacity(codes.count)
            for c in codes { mapped.append(c < 0 ? absent : c) }
            return mapped
        }
        return [Int32](unsafeUninitializedCapacity: codes.count) { buffer, initialized in
            codes.withUnsafeBufferPointer { source in
                for (r, c) in source.enumerated() { buffer.initializeElement(at: r, to: c < 0 ? absent : c) }
            }
            initialized = codes.count
        }
    }

    /// Traps unless every code is -1 (missing) or an index below `count`: the wire decoder
    /// refuses any other, so one here is an in-process caller's bug, and the readers that call
    /// this index unchecked buffers with the codes. One branch-free pass: the largest code, and
    /// every code + 1 OR-ed (negative when a code is below -1, or Int32.max wrapped); signed
    /// reductions, which SSE2 vectorises in about 2.4 instructions a row, where the unsigned
    /// maximum this replaced took about 3.5 (it runs over every text column of a request).
    private static func requireCodes(_ codes: [Int32], within count: Int, column name: String) {
        var high: Int32 = -1, bits: Int32 = 0
        codes.withUnsafeBufferPointer { for code in $0 { high = Swift.max(high, code); bits |= code &+ 1 } }
        precondition(bits >= 0 && Int(high) < count, "column '\(name)': a code is past its \(count) texts")
    }

    /// A `count_of` term: reads column `name` by the rules of ``texts(_:key:)`` and, per row,
    /// adds 1 to `count` where it holds one of `wanted` and sets `seen` where it holds any
    /// present value. A request's text column is read as it came, without building its
    /// ``TextColumn`` first (a count over 23 medications, twice, showed in a one-row request's
    /// profile).
    public func countMatches(_ name: String, in wanted: [String], key: @autoclosure () -> String,
                             count: inout [Double], seen: inout [Bool]) throws(DataError) {
        guard case .columns(let columns, _, _) = backing, case .texts(let values, let codes)? = columns[name] else {
            return try texts(name, key: key()).countMatches(in: wanted, count: &count, seen: &seen)
        }
        Self.requireCodes(codes, within: values.count, column: name)
        precondition(codes.count <= count.count && codes.count <= seen.count, "column '\(name)': more codes than rows")
        if codes.count == 1 {
            // One row (a one-row request reads 46 of these): its text alone, without the tables.
            let code = Int(codes[0])
            if code >= 0, !missing.contains(values[code]) {
                seen[0] = true
                if wanted.contains(values[code]) { count[0] += 1 }
            }
            return
        }
        // Per code + 1: whether the text is present (not code -1, not a missing token), and 1
        // where it is one of `wanted` (a handful of levels: a scan), else 0. The rows then take
        // two table reads each and no branch: a count over 23 medications, twice, tested each
        // row's state with two branches (about 14 instructions a row and column, the largest
        // share of a large request's encoding). Adding 0 leaves a count's bits as they were.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: values.count + 1) { present in
            withUnsafeTemporaryAllocation(of: Double.self, capacity: values.count + 1) { hit in
                present[0] = 0
                hit[0] = 0
                for (c, text) in values.enumerated() {
                    let isPresent = !missing.contains(text)
                    present[c + 1] = isPresent ? 1 : 0
                    hit[c + 1] = isPresent && wanted.contains(text) ? 1 : 0
                }
                codes.withUnsafeBufferPointer { codes in
                    count.withUnsafeMutableBufferPointer { count in
                        seen.withUnsafeMutableBufferPointer { seen in
                            // Bool is one byte, 0 or 1: or-ing a 0 or 1 into it keeps it a Bool.
                            seen.withMemoryRebound(to: UInt8.self) { seenBytes in
                                for (r, code) in codes.enumerated() {
                                    let c = Int(code) + 1
                                    seenBytes[r] |= present[c]
                                    count[r] += hit[c]
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// A whole `count_of` over the request's text columns `names` in one pass per column: per
    /// row, the number of them holding one of `wanted`, NaN where none holds a present value,
    /// as ``countMatches(_:in:key:count:seen:)`` called for each name in turn and then read
    /// would give it (the counts are whole numbers, so adding them at once is the same bits).
    /// nil, with nothing read, unless the table is raw records, every named column holds
    /// texts, and there are at most 255 of them; a name the request lacks throws as
    /// ``texts(_:key:)`` does, naming `key` of its index.
    ///
    /// Why: a `count_of` over 23 medication columns, twice, read each column in its own call,
    /// and each row's running count and flag were loaded and stored per column (about 12
    /// instructions a row and column, 57 million for a 100,000-row request). Here each row
    /// takes one table read and one add per column into a 32-bit total: present values in its
    /// low byte, matches in the byte above (at most 255 columns keep them apart).
    public func countOf(_ names: [String], in wanted: [String], key: (Int) -> String) throws(DataError) -> [Double]? {
        try countsOf(names, in: [wanted], key: key)?[0]
    }

    /// Several `count_of`s over the same columns `names` at once: per set of `wanted` texts,
    /// what ``countOf(_:in:key:)`` gives for it (the same bits, nil and errors).
    ///
    /// Why: Diabetes 130 counts its 23 medication columns twice (the medications given, and
    /// those whose dose changed); each count read every column again. Here each column is read
    /// once for up to three sets: a row's 32-bit total holds its present values in the low
    /// byte and each set's matches in a byte above, so one table read and one add per row and
    /// column serve them all (a 100,000-row request: 18 million instructions fewer).
    public func countsOf(_ names: [String], in wanted: [[String]], key: (Int) -> String) throws(DataError) -> [[Double]]? {
        guard case .columns(let columns, _, let rows) = backing, names.count <= 255, !wanted.isEmpty else { return nil }
        if rows == 1 {
            // One row (a one-row request): one pass, each column read where it lies (a match
            // of the enum's payload copied its two arrays, two retains and two releases a
            // column, and the pass to check the kinds first did it again), and one-element
            // literals. The first column in order that is absent throws, or that holds numbers
            // gives nil, as in the general path.
            return try withUnsafeTemporaryAllocation(of: Int.self, capacity: wanted.count) { (matches) throws(DataError) -> [[Double]]? in
                matches.initialize(repeating: 0)
                var present = false
                for (c, name) in names.enumerated() {
                    guard let i = columns.layout.position(of: name) else { throw missingColumn(name, key: key(c)) }
                    switch columns.columns[i].oneRowText(missing: missing) {
                    case .numbers: return nil
                    case .missing: continue
                    case .present(let text):
                        present = true
                        for s in wanted.indices where wanted[s].contains(text) { matches[s] += 1 }
                    }
                }
                var out: [[Double]] = []
                out.reserveCapacity(wanted.count)
                for s in wanted.indices { out.append([present ? Double(matches[s]) : .nan]) }
                return out
            }
        }
        var positions: [Int] = []
        positions.reserveCapacity(names.count)
        for (c, name) in names.enumerated() {
            guard let i = columns.layout.position(of: name) else { throw missingColumn(name, key: key(c)) }
            guard case .texts = columns.columns[i] else { return nil }
            positions.append(i)
        }
        var out: [[Double]] = []
        out.reserveCapacity(wanted.count)
        var totals = [UInt32](repeating: 0, count: rows)
        for first in stride(from: 0, to: wanted.count, by: 3) {
            let sets = wanted[first..<Swift.min(first + 3, wanted.count)]
            if first > 0 { totals.withUnsafeMutableBufferPointer { $0.update(repeating: 0) } }
            totals.withUnsafeMutableBufferPointer { totals in
                for (c, i) in positions.enumerated() {
                    guard case .texts(let values, let codes) = columns.columns[i] else { continue }
                    Self.requireCodes(codes, within: values.count, column: names[c])
                    precondition(codes.count == rows, "column '\(names[c])': a code per row")
                    // Per code + 1 (code -1 is missing): 1 for a present text, + 1 << (8 * (s + 1))
                    // where it is one of set s (a handful of levels: a scan), once per distinct text.
                    withUnsafeTemporaryAllocation(of: UInt32.self, capacity: values.count + 1) { entry in
                        entry[0] = 0
                        for (v, text) in values.enumerated() {
                            var bits: UInt32 = 0
                            if !missing.contains(text) {
                                bits = 1
                                for (s, set) in sets.enumerated() where set.contains(text) { bits |= 1 << (8 * (s + 1)) }
                            }
                            entry[v + 1] = bits
                        }
                        codes.withUnsafeBufferPointer { codes in
                            for r in 0..<rows { totals[r] &+= entry[Int(codes[r]) &+ 1] }
                        }
                    }
                }
            }
            for s in sets.indices {
                let shift = UInt32(8 * (s - first + 1))
                out.append([Double](unsafeUninitializedCapacity: rows) { values, initialized in
                    totals.withUnsafeBufferPointer { totals in
                        for r in 0..<rows {
                            let total = totals[r]
                            values.initializeElement(at: r, to: total & 0xFF != 0 ? Double((total >> shift) & 0xFF) : .nan)
                        }
                    }
                    initialized = rows
                })
            }
        }
        return out
    }

    /// A numeric column: NaN where missing; a value that is not a finite number is recorded in
    /// `errors` (lenient; a warning and missing under `errors.badValuesMissing`) or thrown
    /// (strict), naming the file and line, or the row, and the column.
    public func numbers(_ name: String, key: @autoclosure () -> String, strict: Bool, errors: inout RowErrors) throws(DataError) -> [Double] {
        if case .columns(let columns, _, _) = backing {
            // The column read where it lies (methods on the array's element), as in texts(_:key:).
            guard let i = columns.layout.position(of: name) else { throw missingColumn(name, key: key()) }
            guard let values = columns.columns[i].numberValues else {
                guard let (values, codes) = columns.columns[i].textParts else { preconditionFailure("a column holds numbers or texts") }
                return try numbers(texts: values, codes: codes, name: name, strict: strict, errors: &errors)
            }
            var out = values
            for (r, v) in values.enumerated() where !v.isNaN && !v.isFinite {
                let e = error(.notFinite, row: r, column: name, message: "\(v) is not a finite number")
                if strict { throw e }
                errors.report(e, row: r)
                out[r] = .nan
            }
            // A number is read as its shortest text would be in a file (as in a text field,
            // textColumn(rows:missing:)): one whose text is a missing token (`-1` where the spec
            // lists `-1`) is missing, as the token is when training reads the file.
            if !missing.numbers.isEmpty {
                for (r, v) in out.enumerated() where !v.isNaN && missing.contains(number: v) { out[r] = .nan }
            }
            return out
        }
        return try texts(name, key: key()).numbers(table: self, name: name, strict: strict, errors: &errors)
    }

    /// Texts sent as numbers, read as ``TextColumn/numbers(table:name:strict:errors:)`` reads a
    /// file's column (the same rules: missing tokens, ``number(_:)``, ``badNumber(_:row:column:)``),
    /// without building the text column first: a one-row request reads dozens of these.
    private func numbers(texts values: [String], codes: [Int32], name: String, strict: Bool,
                         errors: inout RowErrors) throws(DataError) -> [Double] {
        // Per distinct text its number, in temporary buffers (on the stack for a short column).
        Self.requireCodes(codes, within: values.count, column: name)
        if codes.count == 1 {
            // One row (a one-row request reads a dozen of these): its value as a one-element
            // literal; reserve-and-append took the array's general growth path.
            let code = Int(codes[0])
            guard code >= 0, !missing.contains(values[code]) else { return [.nan] }
            if let v = Self.number(values[code]) { return [v] }
            let error = badNumber(values[code], row: 0, column: name)
            if strict { throw error }
            errors.report(error, row: 0)
            return [.nan]
        }
        // Many rows: per code + 1 (code -1 is missing) the text's number, NaN when it is missing
        // or not a number, then one table read per row into the output (a plain loop: the
        // checked append of an optional per row was 5% of a 100,000-row request of texts). The
        // rows of a text that is not a number are reported afterwards, in row order.
        let rows = codes.count
        var anyBad = false
        return try withUnsafeTemporaryAllocation(of: Double.self, capacity: values.count + 1) { (table) throws(DataError) -> [Double] in
            try withUnsafeTemporaryAllocation(of: Bool.self, capacity: values.count + 1) { (bad) throws(DataError) -> [Double] in
                table.initializeElement(at: 0, to: .nan)
                bad.initializeElement(at: 0, to: false)
                for (c, text) in values.enumerated() {
                    let number = missing.contains(text) ? Double.nan : Self.number(text)
                    table.initializeElement(at: c + 1, to: number ?? .nan)
                    bad.initializeElement(at: c + 1, to: number == nil)
                    if number == nil { anyBad = true }
                }
                let out = [Double](unsafeUninitializedCapacity: rows) { buffer, initialized in
                    codes.withUnsafeBufferPointer { codes in
                        for r in 0..<rows { buffer.initializeElement(at: r, to: table[Int(codes[r]) &+ 1]) }
                    }
                    initialized = rows
                }
                if anyBad {
                    for (r, code) in codes.enumerated() where bad[Int(code) &+ 1] {
                        let error = badNumber(values[Int(code)], row: r, column: name)
                        if strict { throw error }
                        errors.report(error, row: r)
                    }
                }
                return out
            }
        }
    }

    /// A text read as a number: a finite decimal `Double`, else nil.
    static func number(_ text: String) -> Double? {
        if let whole = wholeNumber(text) { return whole }
        guard DecimalText.isDecimal(text), let v = Double(text), v.isFinite else { return nil }
        return v
    }

    /// A text of 1 to 15 ASCII digits after an optional `-`, read without the general parser
    /// (`Double(_:)` calls `strtod`, about 350 instructions for `"3"`): such an integer is
    /// below 2^53, so it is a `Double` exactly, which is what a correctly rounded parse gives,
    /// bit for bit (`-0` is -0.0 either way). Anything else is nil, for ``number(_:)``'s
    /// general path. Most numbers of EHR extracts are counts and codes like these.
    @inline(__always)
    static func wholeNumber(_ text: String) -> Double? {
        let parsed = text.utf8.withContiguousStorageIfAvailable { bytes -> Double? in
            let negative = bytes.first == UInt8(ascii: "-")
            let start = negative ? 1 : 0
            guard bytes.count - start >= 1, bytes.count - start <= 15 else { return nil }
            var value: Int64 = 0
            for i in start..<bytes.count {
                let digit = bytes[i] &- UInt8(ascii: "0")
                guard digit < 10 else { return nil }
                value = value &* 10 &+ Int64(digit)  // at most 15 digits: no overflow
            }
            let magnitude = Double(value)
            return negative ? -magnitude : magnitude
        }
        return parsed ?? nil
    }

    /// The error for a text that is not a number.
    public func badNumber(_ text: String, row: Int, column: String) -> DataError {
        let written = missing.tokens.sorted().map { "'\($0)'" }.joined(separator: " or ")
        return error(.badNumber, row: row, column: column,
                     message: "'\(text)' is not a number" + (written.isEmpty ? "" : " (missing values are written \(written))"))
    }

    /// The shortest text that reads back as `v` (`6` for 6.0, `0.1` for 0.1): how a number sent
    /// in a raw-records column is read, in a text field and against the missing tokens.
    public static func shortestText(_ v: Double) -> String {
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        return "\(v)"
    }
}

/// A text column: each distinct text once, whether it is missing, and per row its code.
public struct TextColumn: Sendable {
    /// Distinct texts and per-row codes.
    public let interned: InternedColumn
    /// Per distinct text: whether it is one of the table's missing tokens.
    public let isMissing: [Bool]

    /// Marks the missing texts of `interned`.
    public init(_ interned: InternedColumn, missing: MissingTexts) {
        self.interned = interned
        isMissing = interned.values.map { missing.contains($0) }
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

    /// Per row, adds 1 to `count` where the text is one of `wanted` and sets `seen` where it is
    /// present (``SourceTable/countMatches(_:in:key:count:seen:)``).
    public func countMatches(in wanted: [String], count: inout [Double], seen: inout [Bool]) {
        // Matched once per distinct text, not per row.
        let hit = interned.values.indices.map { !isMissing[$0] && wanted.contains(interned.values[$0]) }
        for r in 0..<Swift.min(self.count, count.count) {
            let code = Int(interned.codes[r])
            if !isMissing[code] { seen[r] = true }
            if hit[code] { count[r] += 1 }
        }
    }

    /// The column read as numbers where it holds them, each distinct text parsed once: NaN where
    /// missing or not a number, and per distinct text whether it is a text that is not a number
    /// (an events table's lab result written as `<5`: left out and counted, not an error per row).
    public func numbersLeavingTexts() -> (numbers: [Double], notNumber: [Bool]) {
        var parsed = [Double](repeating: .nan, count: interned.values.count)
        var notNumber = [Bool](repeating: false, count: interned.values.count)
        for (c, text) in interned.values.enumerated() where !isMissing[c] {
            if let v = SourceTable.number(text) { parsed[c] = v } else { notNumber[c] = true }
        }
        return (interned.codes.map { parsed[Int($0)] }, notNumber)
    }

    /// The column read as numbers (each distinct text parsed once).
    func numbers(table: SourceTable, name: String, strict: Bool, errors: inout RowErrors) throws(DataError) -> [Double] {
        let (out, bad) = numbersLeavingTexts()
        guard bad.contains(true) else { return out }
        for r in 0..<count {
            let c = Int(interned.codes[r])
            guard bad[c] else { continue }
            let error = table.badNumber(interned.values[c], row: r, column: name)
            if strict { throw error }
            errors.report(error, row: r)
        }
        return out
    }
}

/// Lenient reading: the first problem of each encounter row, and the warnings.
///
/// One policy for a value that cannot be read, everywhere (`docs/PROTOCOL.md`, "Raw records"):
/// an error for its row, or, when ``badValuesMissing`` is set, missing with a warning.
public struct RowErrors: Sendable {
    /// The error per row (encounter-table row index).
    public private(set) var byRow: [Int: DataError] = [:]
    /// Warnings, in the order they were found (`row` nil: about the whole request).
    public private(set) var warnings: [DataWarning] = []
    /// Treat a value that cannot be read as missing, with a warning, instead of a row error.
    public var badValuesMissing = false
    /// (row, field, code) of the values already warned about: a column that two features read
    /// (a number and a `sum_of` over it) is warned about once per row.
    private var warned: Set<WarnedValue> = []
    private struct WarnedValue: Hashable, Sendable { let row: Int, field: String, code: String }

    /// Creates an empty record.
    public init(badValuesMissing: Bool = false) { self.badValuesMissing = badValuesMissing }

    /// Keeps `error` unless the row already has one.
    public mutating func record(row: Int, _ error: DataError) {
        if byRow[row] == nil { byRow[row] = error }
    }

    /// A value of row `row` that cannot be read: the row's error, or under
    /// ``badValuesMissing`` a warning (the value is then missing).
    public mutating func report(_ error: DataError, row: Int) {
        if badValuesMissing {
            let field = error.column ?? ""
            guard warned.insert(WarnedValue(row: row, field: field, code: error.code.rawValue)).inserted else { return }
            warnings.append(DataWarning(row: row, field: field, code: error.code.rawValue, message: error.message + "; read as missing"))
        } else {
            record(row: row, error)
        }
    }

    /// Makes `error` the row's error, whatever was recorded before (a stay out of the cohort:
    /// that is why it is not scored, whatever else is wrong with it).
    public mutating func replace(row: Int, _ error: DataError) { byRow[row] = error }

    /// Adds a warning.
    public mutating func warn(_ warning: DataWarning) { warnings.append(warning) }
}

/// Something worth telling the caller that does not stop a row from being scored.
public struct DataWarning: Sendable, Equatable {
    /// The row (0-based), or nil for the whole request.
    public var row: Int?
    /// The raw field.
    public var field: String
    /// A stable code (`unknown_level`, `history_unknown`, ...).
    public var code: String
    /// For people.
    public var message: String

    /// Creates a warning.
    public init(row: Int?, field: String, code: String, message: String) {
        self.row = row
        self.field = field
        self.code = code
        self.message = message
    }
}

/// The code of each distinct `Double` bit pattern of a number column read as texts: an
/// open-addressing table with a multiplicative hash. A `Dictionary`'s SipHash per row was 2%
/// of a 100,000-row request's instructions (the integer categories pandas sends as numbers).
/// Written by hand because the keys are trusted bit patterns of the request's own column and
/// the table lives for one column: no library offers an unhashed integer map.
struct BitPatternCodes {
    private var keys: [UInt64] = []
    private var codes: [Int32] = []
    private var used = 0

    /// The code of `key`, calling `add` for its code when the key is new.
    mutating func code(of key: UInt64, add: () -> Int32) -> Int32 {
        if (used + 1) * 2 > codes.count { grow() }
        let mask = codes.count - 1
        var slot = Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 32) & mask
        while codes[slot] >= 0 {
            if keys[slot] == key { return codes[slot] }
            slot = (slot + 1) & mask
        }
        let code = add()
        keys[slot] = key
        codes[slot] = code
        used += 1
        return code
    }

    private mutating func grow() {
        let (oldKeys, oldCodes) = (keys, codes)
        let capacity = Swift.max(16, codes.count * 2)
        // Appended, not `Array(repeating:)`, which looks up type metadata at run time.
        keys = []
        keys.reserveCapacity(capacity)
        codes = []
        codes.reserveCapacity(capacity)
        for _ in 0..<capacity {
            keys.append(0)
            codes.append(-1)
        }
        let mask = capacity - 1
        for (key, code) in zip(oldKeys, oldCodes) where code >= 0 {
            var slot = Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 32) & mask
            while codes[slot] >= 0 { slot = (slot + 1) & mask }
            keys[slot] = key
            codes[slot] = code
        }
    }
}
