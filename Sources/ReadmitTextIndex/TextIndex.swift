/// A map from texts to their positions (0, 1, 2, ... in the order first inserted) for the
/// lookups on a scoring request's path: column names, level texts, a request's names when
/// checked for repeats.
///
/// Written by hand because `Dictionary` and `Set` hash every key with the standard library's
/// `Hasher` (SipHash-1-3, about 200 instructions for a 15-byte name, plus its setup and
/// finalisation), and no package offers a string map with a cheaper hash: a one-row `RECORDS`
/// request made about 300 such lookups, 10% of the daemon's instructions for it
/// (`benchmarks/shim/records_instructions.sh`). Here an ASCII key's bytes are mixed eight at a
/// time with a per-process random seed (so that a request cannot choose names that collide in
/// every daemon), in an open-addressed table at most half full; a match is confirmed by
/// comparing the stored hash, then the text with `==`. Texts compare as `Dictionary` keys do
/// (canonical equivalence), so the index can stand in for one.
public struct TextIndex: Sendable {
    /// The texts, by position.
    public private(set) var keys: [String] = []
    /// Each key's full hash, by position (compared before the text).
    private var hashes: [UInt64] = []
    /// Per slot: a position + 1, or 0 when empty. A power of two, at least twice `keys.count`.
    private var slots: [Int32]

    /// The seed of every index in this process, and a copy in each index (a load, where the
    /// static is a one-time initialiser check per call).
    private static let processSeed = UInt64.random(in: .min ... .max) | 1
    private let seed = TextIndex.processSeed

    /// An empty index with room for `capacity` keys before it grows.
    public init(capacity: Int = 8) {
        var size = 16
        while size < 2 * capacity { size *= 2 }
        slots = [Int32](repeating: 0, count: size)
        keys.reserveCapacity(capacity)
        hashes.reserveCapacity(capacity)
    }

    /// An index of `texts`: a repeated text keeps its first position.
    public init(_ texts: [String]) {
        self.init(capacity: texts.count)
        for t in texts { insert(t) }
    }

    /// An index of `texts` and, per distinct text (by its position in the index), the position
    /// of its last occurrence in `texts`: a repeated name or level resolves to its last
    /// occurrence, as a `Dictionary` built from the list would.
    public static func lastOccurrences(_ texts: [String]) -> (index: TextIndex, last: [Int]) {
        var index = TextIndex(capacity: texts.count)
        var last: [Int] = []
        last.reserveCapacity(texts.count)
        for (i, text) in texts.enumerated() {
            let (position, inserted) = index.insert(text)
            if inserted { last.append(i) } else { last[position] = i }
        }
        return (index, last)
    }

    /// The number of distinct texts.
    public var count: Int { keys.count }

    /// The position of `text`, or nil when it is not in the index.
    @inline(__always)
    public subscript(text: String) -> Int? {
        let h = Self.hash(text, seed: seed)
        var slot = Int(truncatingIfNeeded: h) & (slots.count - 1)
        while true {
            let p = Int(slots[slot])
            if p == 0 { return nil }
            if hashes[p - 1] == h && keys[p - 1] == text { return p - 1 }
            slot = (slot + 1) & (slots.count - 1)
        }
    }

    /// Adds `text` when it is new: returns its position and whether it was added.
    @discardableResult
    public mutating func insert(_ text: String) -> (position: Int, inserted: Bool) {
        let h = Self.hash(text, seed: seed)
        var slot = Int(truncatingIfNeeded: h) & (slots.count - 1)
        while true {
            let p = Int(slots[slot])
            if p == 0 { break }
            if hashes[p - 1] == h && keys[p - 1] == text { return (p - 1, false) }
            slot = (slot + 1) & (slots.count - 1)
        }
        keys.append(text)
        hashes.append(h)
        // Positions are Int32 in the slots: an index of more texts than that is not a request's.
        precondition(keys.count < Int(Int32.max), "a TextIndex holds fewer than 2^31 texts")
        slots[slot] = Int32(keys.count)
        if 2 * keys.count > slots.count { grow() }
        return (keys.count - 1, true)
    }

    private mutating func grow() {
        var bigger = [Int32](repeating: 0, count: 2 * slots.count)
        let mask = bigger.count - 1
        for (i, h) in hashes.enumerated() {
            var slot = Int(truncatingIfNeeded: h) & mask
            while bigger[slot] != 0 { slot = (slot + 1) & mask }
            bigger[slot] = Int32(i + 1)
        }
        slots = bigger
    }

    /// The hash of `text` under `seed`, consistent with `String`'s `==` (canonical
    /// equivalence, as `Dictionary` keys compare): an ASCII text by its bytes, eight at a time,
    /// each word multiplied into the state and folded (the mixing of wyhash's kind; not a
    /// cryptographic hash; the last word overlaps the one before it rather than being read byte
    /// by byte, as wyhash does: a name is one to three words). A text with any other character
    /// may equal another of different bytes (`é` and `e` + U+0301), so it takes the standard
    /// library's hash, which normalises: rare in names and levels, and still right.
    @inline(__always)
    static func hash(_ text: String, seed: UInt64) -> UInt64 {
        let bytes = text.utf8.withContiguousStorageIfAvailable { asciiHash(UnsafeRawBufferPointer($0), seed: seed) }
            ?? { var copy = text; return copy.withUTF8 { asciiHash(UnsafeRawBufferPointer($0), seed: seed) } }()
        if let bytes { return bytes }
        return mix(seed ^ UInt64(bitPattern: Int64(text.hashValue)))
    }

    /// The hash of ASCII `bytes` under `seed`, or nil when a byte is not ASCII.
    @inline(__always)
    static func asciiHash(_ bytes: UnsafeRawBufferPointer, seed: UInt64) -> UInt64? {
        let n = bytes.count
        var h = seed ^ (UInt64(truncatingIfNeeded: n) &* 0x9E37_79B9_7F4A_7C15)
        var high: UInt64 = 0  // every word read, OR-ed: a set top bit is a byte past ASCII
        if n >= 8 {
            var i = 0
            while n - i > 8 {
                let w = bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                high |= w
                h = mix(h ^ w)
                i += 8
            }
            let w = bytes.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
            high |= w
            h = mix(h ^ w)
        } else if n >= 4 {
            let a = UInt64(bytes.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
            let b = UInt64(bytes.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self))
            high = a | b
            h = mix(h ^ (a << 32 | b))
        } else if n > 0 {
            let w = UInt64(bytes[0]) << 16 | UInt64(bytes[n >> 1]) << 8 | UInt64(bytes[n - 1])
            high = w
            h = mix(h ^ w)
        }
        return high & 0x8080_8080_8080_8080 == 0 ? mix(h) : nil
    }

    /// A 64 x 64 -> 128-bit multiply folded to 64 bits.
    @inline(__always)
    private static func mix(_ x: UInt64) -> UInt64 {
        let p = x.multipliedFullWidth(by: 0xA076_1D64_78BD_642F)
        return p.high ^ p.low
    }
}
