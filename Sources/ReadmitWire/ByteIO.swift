/// Little-endian reads from raw frames, safe for any alignment.
extension UnsafeRawBufferPointer {
    /// The little-endian `UInt16` at `offset`; the caller guarantees `offset + 2 <= count`.
    func leUInt16(at offset: Int) -> UInt16 {
        UInt16(littleEndian: loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    /// The little-endian `UInt32` at `offset`; the caller guarantees `offset + 4 <= count`.
    func leUInt32(at offset: Int) -> UInt32 {
        UInt32(littleEndian: loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    /// The little-endian `UInt64` at `offset`; the caller guarantees `offset + 8 <= count`.
    func leUInt64(at offset: Int) -> UInt64 {
        UInt64(littleEndian: loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    /// The bytes as a `String` when they are valid UTF-8, else nil. ASCII (field names and
    /// most values) is checked with a plain byte loop and copied; anything else goes through
    /// the standard library's validation. `String(validating:as:)` alone is generic and
    /// unspecialized here: on a one-row request its metadata lookups cost more than the copy.
    func utf8String() -> String? {
        var ascii = true
        for b in self where b >= 0x80 { ascii = false; break }
        if ascii { return String(decoding: self, as: UTF8.self) }
        return String(validating: self, as: UTF8.self)
    }
}

/// Little-endian appends for building frames.
extension Array where Element == UInt8 {
    /// Appends `value` in little-endian byte order.
    mutating func appendLE<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }
}
