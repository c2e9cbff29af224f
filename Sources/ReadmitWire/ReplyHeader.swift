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
        [UInt8](unsafeUninitializedCapacity: WireFormat.replyHeaderSize) { buffer, initialized in
            write(to: UnsafeMutableRawBufferPointer(buffer))
            initialized = WireFormat.replyHeaderSize
        }
    }

    /// Writes the 24 bytes into `buffer` (at least 24 bytes), for zero-copy message building:
    /// the daemon writes every reply's header straight into its message.
    public func write(to buffer: UnsafeMutableRawBufferPointer) {
        precondition(buffer.count >= WireFormat.replyHeaderSize, "reply header buffer too small")
        for (i, byte) in WireFormat.magic.enumerated() { buffer[i] = byte }
        buffer[4] = WireFormat.version
        buffer[5] = op
        buffer.storeBytes(of: status.littleEndian, toByteOffset: 6, as: UInt16.self)
        buffer.storeBytes(of: requestID.littleEndian, toByteOffset: 8, as: UInt64.self)
        buffer.storeBytes(of: modelVersion.littleEndian, toByteOffset: 16, as: UInt64.self)
    }

    /// Reads a reply header; `nil` when the frame is not 24 bytes starting with `RDMT`.
    public static func decode(_ frame: UnsafeRawBufferPointer) -> ReplyHeader? {
        guard frame.count == WireFormat.replyHeaderSize,
              frame[0..<4].elementsEqual(WireFormat.magic),
              frame[4] == WireFormat.version else { return nil }
        return ReplyHeader(op: frame[5], status: frame.leUInt16(at: 6),
                           requestID: frame.leUInt64(at: 8), modelVersion: frame.leUInt64(at: 16))
    }
}
