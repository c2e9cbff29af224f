/// One history field of a `HISTORY` reply: its name and a value per row (NaN is unknown).
public struct HistoryColumn: Sendable, Equatable {
    /// The history field's name (a raw field of INFO with `"history": true`).
    public var name: String
    /// One value per row; NaN is unknown.
    public var values: [Double]

    /// Creates a column.
    public init(name: String, values: [Double]) {
        self.name = name
        self.values = values
    }

    /// Compares values bit for bit (NaN equals NaN of the same bits).
    public static func == (a: HistoryColumn, b: HistoryColumn) -> Bool {
        a.name == b.name && a.values.map(\.bitPattern) == b.values.map(\.bitPattern)
    }
}

/// The payload of a `HISTORY` reply after its header (`docs/PROTOCOL.md`, "History"): a counts
/// frame (`u32 n_rows, u32 n_columns`), a name frame and a numbers values frame (type byte 1,
/// then n_rows float64) per history field, then the messages JSON frame.
public enum HistoryReply {
    /// Size of the counts frame.
    public static let countsSize = 8

    /// The frames after the reply header.
    public static func encode(rows: Int, columns: [HistoryColumn], json: String) -> [[UInt8]] {
        var counts: [UInt8] = []
        counts.appendLE(UInt32(truncatingIfNeeded: rows))
        counts.appendLE(UInt32(truncatingIfNeeded: columns.count))
        var frames = [counts]
        frames.reserveCapacity(2 + 2 * columns.count)
        for column in columns {
            frames.append(Array(column.name.utf8))
            var values: [UInt8] = [1]
            values.reserveCapacity(1 + 8 * column.values.count)
            for v in column.values { values.appendLE(v.bitPattern) }
            frames.append(values)
        }
        frames.append(Array(json.utf8))
        return frames
    }

    /// Decodes the frames after the reply header. Every size is checked, with overflow checks,
    /// before it is used: any bytes give columns or an error, never a trap.
    public static func decode(_ frames: [[UInt8]]) -> Result<(rows: Int, columns: [HistoryColumn], json: String), ReplyDecodeError> {
        guard frames.count >= 2, frames[0].count == countsSize else {
            return .failure(ReplyDecodeError("HISTORY reply needs an \(countsSize)-byte counts frame and a JSON frame"))
        }
        let (rows, count) = frames[0].withUnsafeBytes { (Int($0.leUInt32(at: 0)), Int($0.leUInt32(at: 4))) }
        // n_columns is a u32: 2 + 2 * n_columns fits in Int on 64-bit platforms.
        guard frames.count == 2 + 2 * count else {
            return .failure(ReplyDecodeError("HISTORY reply with \(count) columns takes \(2 + 2 * count) frames after the header, got \(frames.count)"))
        }
        let (bytes, overflow) = rows.multipliedReportingOverflow(by: 8)
        var columns: [HistoryColumn] = []
        columns.reserveCapacity(count)
        for c in 0..<count {
            let nameFrame = frames[1 + 2 * c], valueFrame = frames[2 + 2 * c]
            guard !nameFrame.isEmpty, nameFrame.count <= RecordsRequest.maxNameBytes,
                  let name = String(validating: nameFrame, as: UTF8.self) else {
                return .failure(ReplyDecodeError("HISTORY reply column \(c): the name is not 1 to \(RecordsRequest.maxNameBytes) bytes of UTF-8"))
            }
            guard !overflow, valueFrame.first == 1, valueFrame.count - 1 == bytes else {
                return .failure(ReplyDecodeError("HISTORY reply column '\(name)': expected type 1 and \(rows) float64 values, got \(valueFrame.count) bytes"))
            }
            let values = valueFrame.withUnsafeBytes { raw in (0..<rows).map { Double(bitPattern: raw.leUInt64(at: 1 + 8 * $0)) } }
            columns.append(HistoryColumn(name: name, values: values))
        }
        guard let json = String(validating: frames[frames.count - 1], as: UTF8.self) else {
            return .failure(ReplyDecodeError("HISTORY reply: the JSON frame is not UTF-8"))
        }
        return .success((rows, columns, json))
    }
}
