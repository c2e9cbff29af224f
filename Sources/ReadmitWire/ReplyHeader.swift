/// The 24-byte header that starts every reply.
public struct ReplyHeader: Sendable, Equatable {
    /// The request's operation byte (0 if the request header could not be read).
    public var op: UInt8
    /// 0 for success, otherwise a ``Status`` error code.
    public var status: UInt16
    /// The request's id (0 if the request header could not be read).
    public var requestID: UInt64
    /// The version of the model that computed the reply (0: no model loaded).
    public var modelVersion: UInt64

    /// Creates a header.
    public init(op: UInt8, status: UInt16, requestID: UInt64, modelVersion: UInt64) {
        self.op = op
        self.status = status
        self.requestID = requestID
        self.modelVersion = modelVersion
    }

    /// The status as a known ``Status``, if it is one.
    public var knownStatus: Status? { Status(rawValue: status) }

    /// The 24 bytes on the wire.
    public func encoded() -> [UInt8] {
        var bytes = WireFormat.magic
        bytes.reserveCapacity(WireFormat.replyHeaderSize)
        bytes.append(WireFormat.version)
        bytes.append(op)
        bytes.appendLE(status)
        bytes.appendLE(requestID)
        bytes.appendLE(modelVersion)
        return bytes
    }

    /// Writes the 24 bytes into `buffer` (at least 24 bytes), for zero-copy message building.
    public func write(to buffer: UnsafeMutableRawBufferPointer) {
        precondition(buffer.count >= WireFormat.replyHeaderSize, "reply header buffer too small")
        let bytes = encoded()
        bytes.withUnsafeBytes { buffer.copyMemory(from: $0) }
    }

    /// Reads a reply header; `nil` when the frame is not 24 bytes starting with `RDMT`.
    public static func decode(_ frame: UnsafeRawBufferPointer) -> ReplyHeader? {
        guard frame.count == WireFormat.replyHeaderSize,
              Array(frame[0..<4]) == WireFormat.magic,
              frame[4] == WireFormat.version else { return nil }
        return ReplyHeader(op: frame[5], status: frame.leUInt16(at: 6),
                           requestID: frame.leUInt64(at: 8), modelVersion: frame.leUInt64(at: 16))
    }
}
