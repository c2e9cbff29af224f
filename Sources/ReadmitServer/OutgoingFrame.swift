import ReadmitWire

/// A reply frame: small ones as byte arrays (copied once), large ones written in place into a
/// ZeroMQ message (sent without a copy), and the two every reply of rows has written straight
/// into their messages (a one-row SCORE noticed each array allocated for them).
enum OutgoingFrame {
    /// Bytes copied into a message on send.
    case bytes([UInt8])
    /// A message already holding its bytes.
    case message(ZMQFrame)
    /// A reply header (24 bytes).
    case header(ReplyHeader)
    /// Two little-endian u32 counts (8 bytes): rows and k, or rows and 0.
    case counts(UInt32, UInt32)

    /// The frame as an owned message.
    func toMessage() throws(ZMQError) -> ZMQFrame {
        switch self {
        case .bytes(let bytes):
            return try ZMQFrame.make(bytes)
        case .message(let frame):
            return frame
        case .header(let header):
            let frame = try ZMQFrame.make(size: WireFormat.replyHeaderSize)
            header.write(to: frame.mutableBytes)
            return frame
        case .counts(let first, let second):
            let frame = try ZMQFrame.make(size: 8)
            frame.mutableBytes.storeBytes(of: first.littleEndian, toByteOffset: 0, as: UInt32.self)
            frame.mutableBytes.storeBytes(of: second.littleEndian, toByteOffset: 4, as: UInt32.self)
            return frame
        }
    }
}
