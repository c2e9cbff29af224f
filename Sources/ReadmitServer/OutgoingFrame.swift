/// A reply frame: small ones as byte arrays (copied once), large ones written in place into a
/// ZeroMQ message (sent without a copy).
enum OutgoingFrame {
    /// Bytes copied into a message on send.
    case bytes([UInt8])
    /// A message already holding its bytes.
    case message(ZMQFrame)

    /// The frame as an owned message.
    func toMessage() throws(ZMQError) -> ZMQFrame {
        switch self {
        case .bytes(let bytes): try ZMQFrame.make(bytes)
        case .message(let frame): frame
        }
    }
}
