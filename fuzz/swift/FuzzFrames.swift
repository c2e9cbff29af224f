/// How every frame-based fuzz target reads its input: a sequence of frames, each a
/// little-endian u16 length and that many bytes; a length past the end takes what is left,
/// and a lone last byte is an empty frame. The C targets (fuzz/c/) read the same layout.
enum FuzzFrames {
    /// The frames of `data`, at most `limit` of them.
    static func split(_ data: UnsafeRawBufferPointer, limit: Int = 300) -> [[UInt8]] {
        var frames: [[UInt8]] = []
        var offset = 0
        while offset < data.count, frames.count < limit {
            var length = 0
            if data.count - offset >= 2 {
                length = Int(data[offset]) | Int(data[offset + 1]) << 8
                offset += 2
            } else {
                offset += 1
            }
            length = min(length, data.count - offset)
            frames.append(Array(data[offset..<(offset + length)]))
            offset += length
        }
        return frames
    }

    /// The inverse of ``split(_:limit:)`` for frames under 64 KiB (the seed writers use it).
    static func join(_ frames: [[UInt8]]) -> [UInt8] {
        var out: [UInt8] = []
        for frame in frames {
            precondition(frame.count <= 0xFFFF, "seed frame too large")
            out.append(UInt8(frame.count & 0xFF))
            out.append(UInt8(frame.count >> 8))
            out.append(contentsOf: frame)
        }
        return out
    }
}
