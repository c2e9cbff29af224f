/// The 16-byte header that starts every request.
public struct RequestHeader: Sendable, Equatable {
    /// The raw operation byte (see ``Operation``); kept raw so a reply can echo unknown codes.
    public var op: UInt8
    /// Flags; bit 0 asks STATS for Prometheus text.
    public var flags: UInt16
    /// Chosen by the client, echoed in the reply.
    public var requestID: UInt64

    /// Creates a header.
    public init(op: UInt8, flags: UInt16 = 0, requestID: UInt64) {
        self.op = op
        self.flags = flags
        self.requestID = requestID
    }

    /// Creates a header for a known operation.
    public init(operation: Operation, flags: UInt16 = 0, requestID: UInt64) {
        self.init(op: operation.rawValue, flags: flags, requestID: requestID)
    }

    /// The 16 bytes on the wire.
    public func encoded() -> [UInt8] {
        var bytes = WireFormat.magic
        bytes.reserveCapacity(WireFormat.requestHeaderSize)
        bytes.append(WireFormat.version)
        bytes.append(op)
        bytes.appendLE(flags)
        bytes.appendLE(requestID)
        return bytes
    }
}

extension RequestHeader {
    /// Reads a header without validating version, op or flags (for routing and for echoing
    /// op and id in an early error); `nil` unless the frame is 16 bytes starting with `RDMT`.
    public static func peek(_ frame: UnsafeRawBufferPointer) -> RequestHeader? {
        guard frame.count == WireFormat.requestHeaderSize, frame[0..<4].elementsEqual(WireFormat.magic) else { return nil }
        return RequestHeader(op: frame[5], flags: frame.leUInt16(at: 6), requestID: frame.leUInt64(at: 8))
    }
}
