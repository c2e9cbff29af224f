/// A typed protocol error: the status code, the offending row and feature (if any) and a
/// message naming the problem. Encodes to the two error frames of a reply.
public struct WireError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The reply status (never ``Status/ok``).
    public var status: Status
    /// The offending row, or -1.
    public var row: Int32
    /// The offending feature index, or -1.
    public var feature: Int32
    /// What was wrong, for a person to read.
    public var message: String

    /// Creates an error.
    public init(_ status: Status, row: Int32 = -1, feature: Int32 = -1, _ message: String) {
        self.status = status
        self.row = row
        self.feature = feature
        self.message = message
    }

    /// `STATUS: message`.
    public var description: String { "\(status.name): \(message)" }

    /// Frame 1 of an error reply: `i32 row, i32 feature`.
    public func locationFrame() -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(WireFormat.errorLocationSize)
        bytes.appendLE(row)
        bytes.appendLE(feature)
        return bytes
    }

    /// Frame 2 of an error reply: the UTF-8 message.
    public func messageFrame() -> [UInt8] { Array(message.utf8) }

    /// Reads the two error frames of a reply whose header carries `status`.
    public static func decode(status: UInt16, frames: [UnsafeRawBufferPointer]) -> WireError? {
        guard let known = Status(rawValue: status), known != .ok, frames.count == 2,
              frames[0].count == WireFormat.errorLocationSize else { return nil }
        let row = Int32(bitPattern: frames[0].leUInt32(at: 0))
        let feature = Int32(bitPattern: frames[0].leUInt32(at: 4))
        return WireError(known, row: row, feature: feature, String(decoding: frames[1], as: UTF8.self))
    }
}
