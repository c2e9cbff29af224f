import Foundation
import ReadmitTextIndex

/// The arguments of a `RECORDS` request: encounters as named columns (`docs/PROTOCOL.md`,
/// "Raw records").
public struct RecordsRequest: Sendable, Equatable {
    /// One column's values as sent.
    public enum Column: Sendable, Equatable {
        /// Numbers; NaN is missing.
        case numbers([Double])
        /// Distinct texts and a code per row (-1 is missing).
        case texts(values: [String], codes: [Int32])
    }

    /// Options bit 0: a required field absent from the request is missing for every row.
    public static let optionMissingFieldsOk: UInt32 = 1
    /// Options bit 1: a value that cannot be read is missing with a warning, not a row error.
    public static let optionBadValuesMissing: UInt32 = 2
    /// Options bit 2: the reply carries each risk's interval (two more frames).
    public static let optionInterval: UInt32 = 4
    /// The longest column name, in bytes.
    public static let maxNameBytes = 256
    /// Size of the counts frame: `u32 n_rows, u32 n_columns, u32 k, u32 options`.
    public static let countsSize = 16

    /// Rows in every column.
    public var rows: Int
    /// Explanations per row (0: none).
    public var k: Int
    /// The option bits.
    public var options: UInt32
    /// The columns, in request order; names are unique.
    public var columns: [(name: String, column: Column)]

    /// Creates a request's arguments.
    public init(rows: Int, k: Int, options: UInt32, columns: [(name: String, column: Column)]) {
        self.rows = rows
        self.k = k
        self.options = options
        self.columns = columns
    }

    public static func == (a: RecordsRequest, b: RecordsRequest) -> Bool {
        a.rows == b.rows && a.k == b.k && a.options == b.options && a.columns.count == b.columns.count
            && zip(a.columns, b.columns).allSatisfy { $0.name == $1.name && $0.column == $1.column }
    }
}

extension RequestDecoder {
    /// Decodes the frames of `RECORDS` (or `HISTORY`, laid out the same with k 0) after the
    /// header: counts, then a name and a values frame per column. Every size is checked before
    /// it is used; nothing here can trap.
    func decodeRecords(_ frames: [UnsafeRawBufferPointer], op: Operation = .records) -> Result<Request.Body, WireError> {
        guard frames.count >= 2, frames[1].count == RecordsRequest.countsSize else {
            let got = frames.count >= 2 ? "a counts frame of \(frames[1].count) bytes" : "no counts frame"
            return .failure(WireError(.badFrames, "\(op.name) needs a \(RecordsRequest.countsSize)-byte counts frame after the header, got \(got)"))
        }
        let counts = frames[1]
        let rows = Int(counts.leUInt32(at: 0)), columnCount = Int(counts.leUInt32(at: 4))
        let k = Int(counts.leUInt32(at: 8)), options = counts.leUInt32(at: 12)
        let known = RecordsRequest.optionMissingFieldsOk | RecordsRequest.optionBadValuesMissing
            | (op == .records ? RecordsRequest.optionInterval : 0)
        guard options & ~known == 0 else {
            return .failure(WireError(.badArgument, "\(op.name) options 0x\(String(options, radix: 16)) has unknown bits (known: 0x\(String(known, radix: 16)))"))
        }
        if op == .history && k != 0 {
            return .failure(WireError(.badArgument, "HISTORY k is \(k), must be 0 (it explains nothing)"))
        }
        guard rows <= maxRows else {
            return .failure(WireError(.tooManyRows, "n_rows \(rows) is over this daemon's limit of \(maxRows) (--max-rows)"))
        }
        // n_columns is a u32, so 2 + 2 * n_columns fits in Int on 64-bit platforms.
        guard frames.count == 2 + 2 * columnCount else {
            return .failure(WireError(.badFrames, "\(op.name) with \(columnCount) columns takes \(2 + 2 * columnCount) frames (header, counts, a name and a values frame per column), got \(frames.count)"))
        }
        // A large RECORDS is only checked here, its rows left in the frames (DeferredRecords).
        let deferring = op == .records && deferredRecordsRows.map { rows >= $0 } ?? false
        var columns: [(name: String, column: RecordsRequest.Column)] = []
        var layouts: [(name: String, layout: ColumnLayout)] = []
        // The names of the last request when these are the same bytes (they were checked then);
        // otherwise each name is checked, and kept for the next request.
        let sentBefore = columnNames.names(of: frames, columns: columnCount)
        // TextIndex, not Set: one hash of each name by the cheaper function (see TextIndex).
        var names = TextIndex(capacity: sentBefore == nil ? columnCount : 0)
        // A request refused while deferring is refused as decoding it whole refuses it: an
        // earlier column's bad code (read only with the rows) comes before a later name's or
        // layout's fault.
        func refuse(_ error: WireError) -> Result<Request.Body, WireError> {
            guard deferring else { return .failure(error) }
            var whole = self
            whole.deferredRecordsRows = nil
            return whole.decodeRecords(frames, op: op)
        }
        if deferring { layouts.reserveCapacity(columnCount) } else { columns.reserveCapacity(columnCount) }
        for c in 0..<columnCount {
            let nameFrame = frames[2 + 2 * c], valueFrame = frames[3 + 2 * c]
            let name: String
            if let sentBefore {
                name = sentBefore[c]
            } else {
                guard nameFrame.count >= 1, nameFrame.count <= RecordsRequest.maxNameBytes,
                      !nameFrame.contains(0), let text = nameFrame.utf8String() else {
                    return refuse(WireError(.badArgument, "column \(c): the name must be 1 to \(RecordsRequest.maxNameBytes) bytes of UTF-8 without NUL"))
                }
                guard names.insert(text).inserted else {
                    return refuse(WireError(.badArgument, "column \(c): the name '\(text)' is sent twice"))
                }
                name = text
            }
            if deferring {
                switch Self.layoutColumn(valueFrame, rows: rows) {
                case .success(let layout): layouts.append((name, layout))
                case .failure(let error): return refuse(WireError(.badPayloadSize, "column '\(name)': \(error.message)"))
                }
            } else {
                switch Self.decodeColumn(valueFrame, rows: rows) {
                case .success(let column): columns.append((name, column))
                case .failure(let error): return .failure(WireError(.badPayloadSize, "column '\(name)': \(error.message)"))
                }
            }
        }
        if sentBefore == nil { columnNames.keep(names.keys) }
        if deferring { return .success(.deferredRecords(DeferredRecords(rows: rows, k: k, options: options, columns: layouts))) }
        let request = RecordsRequest(rows: rows, k: k, options: options, columns: columns)
        return .success(op == .history ? .history(request) : .records(request))
    }

    /// Why a values frame is malformed, for ``decodeColumn(_:rows:)``.
    struct ColumnError: Error { var message: String }

    static func decodeColumn(_ frame: UnsafeRawBufferPointer, rows: Int) -> Result<RecordsRequest.Column, ColumnError> {
        // Both steps inlined: a one-row request's 54 columns then pay nothing for the layout
        // between them (kept apart, it cost a raw encounter about 5% more instructions).
        switch layoutColumn(frame, rows: rows) {
        case .success(let layout): return decodeRows(layout, 0..<rows)
        case .failure(let error): return .failure(error)
        }
    }

    /// Checks a values frame's layout (its type, sizes and distinct texts) for `rows` rows,
    /// without reading the rows' values: ``decodeRows(_:_:)`` does, for any range of rows.
    @inline(__always)
    static func layoutColumn(_ frame: UnsafeRawBufferPointer, rows: Int) -> Result<ColumnLayout, ColumnError> {
        guard let type = frame.first else { return .failure(ColumnError(message: "the values frame is empty (it starts with a type byte)")) }
        switch type {
        case 1:
            let (bytes, overflow) = rows.multipliedReportingOverflow(by: 8)
            guard !overflow, frame.count == 1 + bytes else {
                return .failure(ColumnError(message: "numbers take 1 + n_rows * 8 = \(overflow ? "too many" : String(1 + bytes)) bytes, got \(frame.count)"))
            }
            return .success(ColumnLayout(values: nil, bytes: UnsafeRawBufferPointer(rebasing: frame[1...]), width: 8))
        case 5, 6, 7:
            // Integers of 8, 16 or 32 bits (the type's minimum is missing): numbers that a
            // client found whole and small, sent in an eighth, a quarter or half the bytes of
            // float64 (an integer column of 100,000 rows: 100 KB, not 800 KB); they decode to
            // exactly the numbers type 1 would carry.
            let width = type == 5 ? 1 : (type == 6 ? 2 : 4)
            let (bytes, overflow) = rows.multipliedReportingOverflow(by: width)
            guard !overflow, frame.count == 1 + bytes else {
                return .failure(ColumnError(message: "\(8 * width)-bit integers take 1 + n_rows * \(width) = \(overflow ? "too many" : String(1 + bytes)) bytes, got \(frame.count)"))
            }
            return .success(ColumnLayout(values: nil, bytes: UnsafeRawBufferPointer(rebasing: frame[1...]), width: width))
        case 2, 3, 4:
            // 2: i32 codes (-1 missing); 3: u8 codes (255 missing, at most 255 texts); 4: u16
            // codes (65535 missing, at most 65535 texts). The narrow ones keep a large batch of
            // a few distinct values a quarter or half the size; all decode to the same column.
            let width = type == 2 ? 4 : (type == 3 ? 1 : 2)
            guard frame.count >= 5 else { return .failure(ColumnError(message: "texts need a u32 count of distinct texts after the type byte")) }
            let distinct = Int(frame.leUInt32(at: 1))
            if width < 4, distinct >= 1 << (8 * width) {
                return .failure(ColumnError(message: "\(distinct) distinct texts do not fit \(8 * width)-bit codes (type \(type) takes at most \((1 << (8 * width)) - 1))"))
            }
            var offset = 5
            var values: [String] = []
            // Each distinct text takes at least 4 bytes, so the count is bounded by the frame.
            guard distinct <= (frame.count - offset) / 4 else {
                return .failure(ColumnError(message: "\(distinct) distinct texts cannot fit in \(frame.count) bytes"))
            }
            // One text (every column of a one-row request) as a one-element literal: the
            // reserve-and-append below took the array's general growth path, about 290
            // instructions a column.
            if distinct != 1 { values.reserveCapacity(distinct) }
            for i in 0..<distinct {
                guard frame.count - offset >= 4 else { return .failure(ColumnError(message: "text \(i): its length is cut off")) }
                let length = Int(frame.leUInt32(at: offset))
                offset += 4
                guard length <= frame.count - offset else { return .failure(ColumnError(message: "text \(i) of \(length) bytes runs past the frame")) }
                guard let text = UnsafeRawBufferPointer(rebasing: frame[offset..<(offset + length)]).utf8String() else {
                    return .failure(ColumnError(message: "text \(i) is not valid UTF-8"))
                }
                if distinct == 1 { values = [text] } else { values.append(text) }
                offset += length
            }
            let (codeBytes, overflow) = rows.multipliedReportingOverflow(by: width)
            guard !overflow, frame.count - offset == codeBytes else {
                return .failure(ColumnError(message: "after the distinct texts, n_rows * \(width) = \(overflow ? "too many" : String(codeBytes)) bytes of codes are expected, got \(frame.count - offset)"))
            }
            return .success(ColumnLayout(values: values, bytes: UnsafeRawBufferPointer(rebasing: frame[offset...]), width: width))
        default:
            return .failure(ColumnError(message: "unknown values type \(type) (1: numbers, 2-4: texts with 32-, 8- or 16-bit codes, 5-7: numbers as 8-, 16- or 32-bit integers)"))
        }
    }

    /// The values of `range`'s rows of a column ``layoutColumn(_:rows:)`` checked: a code that is
    /// neither missing nor below the count of distinct texts fails, naming its row (of the
    /// whole request, not of the range).
    @inline(__always)
    static func decodeRows(_ layout: ColumnLayout, _ range: Range<Int>) -> Result<RecordsRequest.Column, ColumnError> {
        let rows = range.count, all = layout.bytes, width = layout.width
        guard let values = layout.values else {
            // reserveCapacity + append, not map or Array(repeating:): those allocate through the
            // standard library's unspecialised entry point, which looks up the array storage's
            // type metadata at run time on every call (about 3% of a raw encounter's
            // instructions over its 54 columns, benchmarks/shim/records_instructions.sh).
            let bytes = UnsafeRawBufferPointer(rebasing: all[(width * range.lowerBound)..<(width * range.upperBound)])
            let numbers: [Double]
            switch width {
            case 1: numbers = widened(bytes, count: rows) { bytes, r in
                let v = Int8(bitPattern: bytes[r]); return v == .min ? .nan : Double(v)
            }
            case 2: numbers = widened(bytes, count: rows) { bytes, r in
                let v = Int16(bitPattern: bytes.leUInt16(at: 2 * r)); return v == .min ? .nan : Double(v)
            }
            case 4: numbers = widened(bytes, count: rows) { bytes, r in
                let v = Int32(bitPattern: bytes.leUInt32(at: 4 * r)); return v == .min ? .nan : Double(v)
            }
            default: numbers = littleEndianArray(bytes, count: rows) { bytes, r in Double(bitPattern: bytes.leUInt64(at: 8 * r)) }
            }
            return .success(.numbers(numbers))
        }
        let distinct = values.count
        let codeFrame = UnsafeRawBufferPointer(rebasing: all[(width * range.lowerBound)..<(width * range.upperBound)])
        if rows == 1, distinct <= 1, let code = oneRowCode(codeFrame, width: width, distinct: distinct) {
            return .success(.texts(values: values, codes: code))
        }
        let codes: [Int32]
        // code + 1 is 0 (missing) to `distinct` for a valid code, as unsigned: one
        // branch-free pass over the rows; the failing row is looked for only on failure.
        var worst: UInt32 = 0
        switch width {
        case 1 where rows >= wholeCopyRows:
            (codes, worst) = widenedByteCodes(codeFrame, count: rows)
        case 1: codes = widened(codeFrame, count: rows) { bytes, r in let c = bytes[r]; return c == 0xFF ? -1 : Int32(c) }
        case 2: codes = widened(codeFrame, count: rows) { bytes, r in let c = bytes.leUInt16(at: 2 * r); return c == 0xFFFF ? -1 : Int32(c) }
        default: codes = littleEndianArray(codeFrame, count: rows) { bytes, r in Int32(bitPattern: bytes.leUInt32(at: 4 * r)) }
        }
        if width != 1 || rows < wholeCopyRows {
            codes.withUnsafeBufferPointer { for code in $0 { worst = Swift.max(worst, UInt32(bitPattern: code) &+ 1) } }
        }
        if Int(worst) > distinct, let r = codes.firstIndex(where: { $0 < -1 || Int($0) >= distinct }) {
            return .failure(ColumnError(message: "row \(range.lowerBound + r): code \(codes[r]) is not -1 (missing) or an index below \(distinct)"))
        }
        return .success(.texts(values: values, codes: codes))
    }
}

/// Where a column's values lie in its frame, checked for the request's row count
/// (``RequestDecoder/layoutColumn(_:rows:)``); the rows themselves are read by
/// ``RequestDecoder/decodeRows(_:_:)``.
/// (A struct, not an enum of the two kinds: a one-row request's columns paid for the enum's
/// outlined copies and destroys.)
struct ColumnLayout: Equatable {
    /// A text column's distinct texts; nil for numbers.
    var values: [String]?
    /// The rows' values: `n_rows` little-endian float64 numbers or integers, or `n_rows` codes, of `width` bytes.
    var bytes: UnsafeRawBufferPointer
    /// Bytes a row: 8 for float64 numbers, 1, 2 or 4 for integers (`values` nil) or codes.
    var width: Int

    /// The same kind, texts and value bytes.
    static func == (a: ColumnLayout, b: ColumnLayout) -> Bool {
        a.values == b.values && a.width == b.width && a.bytes.elementsEqual(b.bytes)
    }
}

/// A large `RECORDS` request checked in full except for its rows' values, which stay in the
/// request's frames until ``request(rows:)`` reads a range of them: the daemon's cores each
/// decode the rows they score, where decoding the whole request first took one thread about
/// 5 ms of a 100,000-row request (every other core idle), and each core's part was then copied
/// out of it again (``RequestDecoder/deferredRecordsRows``).
///
/// It points into the frames it was decoded from, and is valid only while they are: the
/// daemon decodes and scores a request while it holds the request's frames. Reading it from
/// several threads at once is safe (nothing in it changes).
public struct DeferredRecords: @unchecked Sendable, Equatable {
    /// Rows in every column.
    public let rows: Int
    /// Explanations per row (0: none).
    public let k: Int
    /// The option bits (``RecordsRequest/optionMissingFieldsOk`` and the others).
    public let options: UInt32
    let columns: [(name: String, layout: ColumnLayout)]

    /// The request's arguments for the rows in `range` (a part of `0..<rows`), or the request's
    /// first malformed column for them. A row's code is checked only when its range is read,
    /// so a request is well-formed only when every range is; its error names a row of the
    /// whole request.
    public func request(rows range: Range<Int>) -> Result<RecordsRequest, WireError> {
        precondition(range.lowerBound >= 0 && range.upperBound <= rows, "rows \(range) of \(rows)")
        var parts: [(name: String, column: RecordsRequest.Column)] = []
        parts.reserveCapacity(columns.count)
        for (name, layout) in columns {
            switch RequestDecoder.decodeRows(layout, range) {
            case .success(let column): parts.append((name, column))
            case .failure(let error): return .failure(WireError(.badPayloadSize, "column '\(name)': \(error.message)"))
            }
        }
        return .success(RecordsRequest(rows: range.count, k: k, options: options, columns: parts))
    }

    /// Equal when the two hold the same counts, names and value bytes (NaN included, which
    /// `RecordsRequest`'s `==` of decoded numbers never finds equal).
    public static func == (a: DeferredRecords, b: DeferredRecords) -> Bool {
        a.rows == b.rows && a.k == b.k && a.options == b.options && a.columns.count == b.columns.count
            && zip(a.columns, b.columns).allSatisfy { $0.name == $1.name && $0.layout == $1.layout }
    }
}

extension RequestEncoder {
    /// `HISTORY` of named columns, each `rows` long (laid out as `RECORDS`, k 0).
    public static func history(requestID: UInt64, rows: Int, options: UInt32 = 0,
                               columns: [(name: String, column: RecordsRequest.Column)]) -> [[UInt8]] {
        records(requestID: requestID, rows: rows, options: options, columns: columns, operation: .history)
    }

    /// How wide a text column's codes go on the wire (value types 3, 4 and 2).
    public enum TextCodeWidth: Sendable {
        /// The narrowest the column's distinct texts allow (8 bits below 255, 16 below 65,535).
        case narrowest
        /// Always 32 bits (type 2).
        case wide
        /// Per column, in bytes (1, 2 or 4; ignored for number columns), as a request sent them.
        case perColumn([Int])
    }

    /// How number columns go on the wire (value type 1, or 5, 6 and 7).
    public enum NumberWidth: Sendable {
        /// Always float64 (type 1).
        case float64
        /// As integers of 8, 16 or 32 bits where every value of the column is missing or a whole
        /// number that fits (not -0, which goes as float64 to keep its sign), as libreadmit
        /// sends them; float64 otherwise.
        case narrowest
        /// Per column, in bytes (1, 2 or 4: integers; anything else: float64; ignored for text
        /// columns), as a request sent them. The values must fit.
        case perColumn([Int])
    }

    /// Bytes a row the narrowest integers of `values` take (1, 2 or 4), or 8 (float64) where a
    /// value is not a whole number of 32 bits (the type's minimum is the missing value), or is -0.
    public static func narrowestNumberWidth(_ values: [Double]) -> Int {
        var low = 0.0, high = 0.0
        for v in values where !v.isNaN {
            guard v == v.rounded(.towardZero), v > Double(Int32.min), v <= Double(Int32.max),
                  !(v == 0 && v.sign == .minus) else { return 8 }
            low = Swift.min(low, v)
            high = Swift.max(high, v)
        }
        if low > Double(Int8.min), high <= Double(Int8.max) { return 1 }
        if low > Double(Int16.min), high <= Double(Int16.max) { return 2 }
        return 4
    }

    /// `RECORDS` of named columns, each `rows` long, text columns with codes as `codeWidth` says
    /// and number columns as `numberWidth` says.
    public static func records(requestID: UInt64, rows: Int, k: Int = 0, options: UInt32 = 0,
                               columns: [(name: String, column: RecordsRequest.Column)], operation: Operation = .records,
                               codeWidth: TextCodeWidth = .narrowest, numberWidth: NumberWidth = .float64) -> [[UInt8]] {
        var counts: [UInt8] = []
        counts.appendLE(UInt32(truncatingIfNeeded: rows))
        counts.appendLE(UInt32(truncatingIfNeeded: columns.count))
        counts.appendLE(UInt32(truncatingIfNeeded: k))
        counts.appendLE(options)
        var frames = [RequestHeader(operation: operation, requestID: requestID).encoded(), counts]
        for (c, (name, column)) in columns.enumerated() {
            frames.append(Array(name.utf8))
            var bytes: [UInt8] = []
            switch column {
            case .numbers(let values):
                let width: Int
                switch numberWidth {
                case .float64: width = 8
                case .narrowest: width = narrowestNumberWidth(values)
                case .perColumn(let widths): width = c < widths.count && [1, 2, 4].contains(widths[c]) ? widths[c] : 8
                }
                // Missing (NaN) as the type's minimum; the values fit, as the caller promised.
                switch width {
                case 1:
                    bytes.append(5)
                    for v in values { bytes.append(UInt8(bitPattern: v.isNaN ? .min : Int8(v))) }
                case 2:
                    bytes.append(6)
                    for v in values { bytes.appendLE(UInt16(bitPattern: v.isNaN ? .min : Int16(v))) }
                case 4:
                    bytes.append(7)
                    for v in values { bytes.appendLE(UInt32(bitPattern: v.isNaN ? .min : Int32(v))) }
                default:
                    bytes.append(1)
                    for v in values { bytes.appendLE(v.bitPattern) }
                }
            case .texts(let values, let codes):
                let width: Int
                switch codeWidth {
                case .narrowest: width = values.count < 0xFF ? 1 : (values.count < 0xFFFF ? 2 : 4)
                case .wide: width = 4
                case .perColumn(let widths): width = c < widths.count && [1, 2].contains(widths[c]) ? widths[c] : 4
                }
                bytes.append(width == 4 ? 2 : (width == 1 ? 3 : 4))
                bytes.appendLE(UInt32(truncatingIfNeeded: values.count))
                for v in values { bytes.appendLE(UInt32(truncatingIfNeeded: v.utf8.count)); bytes.append(contentsOf: v.utf8) }
                switch width {
                case 1: for c in codes { bytes.append(c < 0 ? 0xFF : UInt8(truncatingIfNeeded: c)) }
                case 2: for c in codes { bytes.appendLE(c < 0 ? UInt16(0xFFFF) : UInt16(truncatingIfNeeded: c)) }
                default: for c in codes { bytes.appendLE(UInt32(bitPattern: c)) }
                }
            }
            frames.append(bytes)
        }
        return frames
    }

    /// A text column dictionary-encoded from per-row texts (nil is missing).
    public static func textColumn(_ texts: [String?]) -> RecordsRequest.Column {
        var index: [String: Int32] = [:]
        var values: [String] = []
        let codes: [Int32] = texts.map { text in
            guard let text else { return -1 }
            if let c = index[text] { return c }
            let c = Int32(values.count)
            index[text] = c
            values.append(text)
            return c
        }
        return .texts(values: values, codes: codes)
    }
}

/// Columns of at least this many rows are copied whole.
let wholeCopyRows = 256

/// The codes of a one-row column of at most one distinct text, when its code is valid (missing,
/// or 0 with one text): one array shared by every request instead of an allocation per column
/// (a raw encounter's dozens of text columns each had one, and its free when the request ended).
private func oneRowCode(_ bytes: UnsafeRawBufferPointer, width: Int, distinct: Int) -> [Int32]? {
    let code: UInt32
    switch width {
    case 1: code = bytes[0] == 0xFF ? UInt32.max : UInt32(bytes[0])
    case 2: let c = bytes.leUInt16(at: 0); code = c == 0xFFFF ? UInt32.max : UInt32(c)
    default: code = bytes.leUInt32(at: 0)
    }
    switch code {
    case 0 where distinct == 1: return sharedCodeZero
    case UInt32.max: return sharedCodeMissing
    default: return nil  // invalid: the general path names the row
    }
}

private let sharedCodeZero: [Int32] = [0]
private let sharedCodeMissing: [Int32] = [-1]

/// Narrow codes widened to `Int32` (the missing code to -1), or narrow integers to `Double`
/// (the missing value to NaN), by `load`; appended below ``wholeCopyRows`` rows, as
/// ``littleEndianArray`` does.
private func widened<T>(_ bytes: UnsafeRawBufferPointer, count: Int, load: (UnsafeRawBufferPointer, Int) -> T) -> [T] {
    if count < wholeCopyRows {
        var values: [T] = []
        values.reserveCapacity(count)
        for i in 0..<count { values.append(load(bytes, i)) }
        return values
    }
    return [T](unsafeUninitializedCapacity: count) { buffer, initialized in
        for i in 0..<count { buffer.initializeElement(at: i, to: load(bytes, i)) }
        initialized = count
    }
}

/// A large column's 8-bit codes (255 missing) widened to `Int32` (-1 missing), with the
/// largest code + 1 (0 for missing), as the check after decoding takes it. Both in loops the
/// compiler vectorises: `c &+ 1` wraps 255 to 0, so the code is `Int32(c &+ 1) - 1` without a
/// branch, and the maximum is taken over bytes. The closure-based loop of ``widened`` and
/// the check's pass over the widened codes took about six instructions a row, serially, before
/// a 100,000-row request's parts went to the cores (4.3 million rows of 8-bit codes).
private func widenedByteCodes(_ bytes: UnsafeRawBufferPointer, count: Int) -> (codes: [Int32], worst: UInt32) {
    var worst: UInt8 = 0
    let codes = [Int32](unsafeUninitializedCapacity: count) { buffer, initialized in
        for i in 0..<count { worst = Swift.max(worst, bytes[i] &+ 1) }
        for i in 0..<count { buffer.initializeElement(at: i, to: Int32(bytes[i] &+ 1) &- 1) }
        initialized = count
    }
    return (codes, UInt32(worst))
}

/// `count` values read from little-endian `bytes` (at least `count` values long): one copy of
/// the bytes on a little-endian host, `load(bytes, index)` per value elsewhere. A 100,000-row
/// request's columns went through a load and a checked append per value, 20 instructions each
/// (4.8% of the daemon's instructions for the request).
/// Short columns (a one-row request's) are appended value by value: `unsafeUninitializedCapacity`
/// allocates through the standard library's unspecialised entry point, which looks up the
/// storage's type metadata at run time (about 1,000 instructions a column).
private func littleEndianArray<T>(_ bytes: UnsafeRawBufferPointer, count: Int,
                                  load: (UnsafeRawBufferPointer, Int) -> T) -> [T] {
    if count < wholeCopyRows {
        var values: [T] = []
        values.reserveCapacity(count)
        for i in 0..<count { values.append(load(bytes, i)) }
        return values
    }
    return [T](unsafeUninitializedCapacity: count) { buffer, initialized in
        #if _endian(little)
        if count > 0, let destination = buffer.baseAddress, let source = bytes.baseAddress {
            UnsafeMutableRawPointer(destination).copyMemory(from: source, byteCount: count * MemoryLayout<T>.stride)
            initialized = count
            return
        }
        #endif
        for i in 0..<count { buffer.initializeElement(at: i, to: load(bytes, i)) }
        initialized = count
    }
}

/// The column names of the last `RECORDS` or `HISTORY` request a decoder read, with their bytes,
/// shared by the daemon's threads. A client sends the same names in every request (one program,
/// one layout): when a request's name frames are those bytes, the names checked then are used
/// again, instead of checking each name's UTF-8, making a `String` of it and hashing it for
/// repeats: 42,000 fewer daemon instructions for a one-row request of 54 columns (581,000 ->
/// 539,000, `benchmarks/shim/records_instructions.sh`). Clients that alternate layouts miss
/// and pay what every request paid before, plus keeping the new names.
final class ColumnNameCache: @unchecked Sendable {
    /// Requests of more columns are not kept (their names would stay in memory).
    static let maxColumns = 1024

    private struct Names {
        var names: [String]
        /// Every name's UTF-8, one after another; ``ends`` gives where each ends.
        var bytes: [UInt8]
        var ends: [Int]
    }

    /// Guards ``last``. An `NSLock` (a pthread mutex), not the Synchronization module's `Mutex`:
    /// ThreadSanitizer does not see that one's locking, and `scripts/tests/55-tsan.sh` reported
    /// the value it guards as a data race between the broker and a worker.
    private let lock = NSLock()
    private var last: Names?

    init() {}

    /// The last names kept, when the name frames of `frames` (`frames[2 + 2 * c]`, as a
    /// `RECORDS` request lays them out) are exactly their bytes; nil otherwise.
    func names(of frames: [UnsafeRawBufferPointer], columns: Int) -> [String]? {
        guard let kept = lock.withLock({ last }), kept.names.count == columns, frames.count >= 2 + 2 * columns else { return nil }
        return kept.bytes.withUnsafeBytes { all -> [String]? in
            var start = 0
            for c in 0..<columns {
                let frame = frames[2 + 2 * c], end = kept.ends[c]
                guard frame.count == end - start, let sent = frame.baseAddress, let stored = all.baseAddress,
                      memcmp(sent, stored + start, frame.count) == 0 else { return nil }
                start = end
            }
            return kept.names
        }
    }

    /// Keeps `names` (checked: valid, distinct) for the next request.
    func keep(_ names: [String]) {
        guard names.count <= Self.maxColumns else { return }
        var bytes: [UInt8] = [], ends: [Int] = []
        ends.reserveCapacity(names.count)
        for name in names {
            bytes.append(contentsOf: name.utf8)
            ends.append(bytes.count)
        }
        let kept = Names(names: names, bytes: bytes, ends: ends)
        lock.withLock { last = kept }
    }
}
