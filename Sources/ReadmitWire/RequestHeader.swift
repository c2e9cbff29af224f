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
