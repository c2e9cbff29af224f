import CDeflate
import Foundation
import ReadmitSpec

/// Reads whole files, transparently decompressing gzip.
///
/// A file that starts with the gzip magic bytes is decompressed; any other file is returned as
/// is, so one code path serves both `diabetic_data.csv.gz` and a plain `.csv` (as zlib's
/// `gzread` did). Decompression uses libdeflate, which inflates a whole buffer in one call
/// about three times faster than zlib's streaming `gzread`. Concatenated gzip members are
/// decompressed one after another; bytes after the last member that do not start another member
/// are ignored, as `gzread` ignores them.
public enum CompressedFile {
    /// The most bytes a file may hold, decompressed: a table keeps its byte offsets as 32-bit
    /// integers (``CSVTable``). A larger file is refused before it is read or inflated past
    /// this, not after: a gzip that inflates to many gigabytes (the full MIMIC-IV `labevents`)
    /// was all decompressed into memory to be refused.
    public static let maxBytes = Int(Int32.max) - 1

    /// Returns the (decompressed) bytes of the file at `path`, at most ``maxBytes``.
    public static func readAll(path: String) throws(DataError) -> [UInt8] {
        try readAll(path: path, maxBytes: maxBytes)
    }

    /// Returns the (decompressed) bytes of the file at `path`, at most `maxBytes`.
    public static func readAll(path: String, maxBytes: Int) throws(DataError) -> [UInt8] {
        let raw = try readRaw(path: path, maxBytes: maxBytes)
        guard raw.count >= 2, raw[0] == 0x1f, raw[1] == 0x8b else { return raw }
        return try gunzip(raw, file: path, maxBytes: maxBytes)
    }

    static func tooLarge(_ file: String, _ maxBytes: Int, decompressed: Bool) -> DataError {
        let size = maxBytes >= Int(Int32.max) - 1 ? "2 GiB" : "\(maxBytes) bytes"
        return DataError(code: .unreadable, file: file,
                         message: decompressed ? "file decompresses to more than \(size), which is not supported"
                                               : "file larger than \(size) is not supported")
    }

    /// For a path that does not exist: a note naming the same file with or without `.gz` when
    /// that one exists (the shipped data is `diabetic_data.csv.gz`; `diabetic_data.csv` is the
    /// name people type), else "".
    static func otherCompression(of path: String) -> String {
        let other = path.hasSuffix(".gz") ? String(path.dropLast(3)) : path + ".gz"
        guard FileManager.default.fileExists(atPath: other) else { return "" }
        return "; there is '\(other)': give that path"
    }

    /// The file's bytes, unchanged; `-` is standard input (read to its end), as `--out -` is
    /// standard output, so an export can be piped in.
    static func readRaw(path: String, maxBytes: Int = maxBytes) throws(DataError) -> [UInt8] {
        let standardInput = path == "-"
        let fd = standardInput ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let absent = errno == ENOENT
            throw DataError(code: .fileNotFound, file: path,
                            message: "cannot open file (does it exist and is it readable?)" + (absent ? otherCompression(of: path) : ""))
        }
        defer { if !standardInput { close(fd) } }
        var info = stat()
        // One read of the known size (plus one byte, to see the end); a pipe or a growing file
        // doubles the buffer until read returns 0.
        let known = fstat(fd, &info) == 0 && info.st_size > 0
        if known && info.st_size > maxBytes { throw tooLarge(path, maxBytes, decompressed: false) }
        var capacity = known ? Int(info.st_size) + 1 : min(1 << 20, maxBytes + 1)
        var out: [UInt8] = []
        while true {
            let previous = out
            var filled = previous.count, failure: Int32 = 0
            out = [UInt8](unsafeUninitializedCapacity: capacity) { buffer, initialized in
                initialized = 0
                guard let base = buffer.baseAddress else { return }
                previous.withUnsafeBufferPointer { if let p = $0.baseAddress { base.initialize(from: p, count: $0.count) } }
                while filled < capacity {
                    let n = read(fd, base + filled, capacity - filled)
                    if n < 0 { if errno == EINTR { continue }; failure = errno; break }
                    if n == 0 { break }
                    filled += n
                }
                initialized = filled
            }
            if failure != 0 {
                throw DataError(code: .unreadable, file: path, message: "cannot read or decompress: \(String(cString: strerror(failure)))")
            }
            if filled < capacity { return out }
            if capacity > maxBytes { throw tooLarge(path, maxBytes, decompressed: false) }
            capacity = min(capacity * 2, maxBytes + 1)
        }
    }

    /// Decompresses the gzip members in `input`.
    static func gunzip(_ input: [UInt8], file: String, maxBytes: Int = maxBytes) throws(DataError) -> [UInt8] {
        guard let decompressor = libdeflate_alloc_decompressor() else {
            throw DataError(code: .unreadable, file: file, message: "cannot read or decompress: out of memory")
        }
        defer { libdeflate_free_decompressor(decompressor) }
        var out: [UInt8] = []
        var offset = 0
        while offset + 2 <= input.count, input[offset] == 0x1f, input[offset + 1] == 0x8b {
            // A member's trailer holds its size modulo 2^32: exact for a single member under
            // 4 GiB, a first guess otherwise; the buffer doubles while libdeflate asks for more.
            let tail = input.count - 4
            var guess = tail > offset ? Int(UInt32(input[tail]) | UInt32(input[tail + 1]) << 8 | UInt32(input[tail + 2]) << 16 | UInt32(input[tail + 3]) << 24) : 0
            // DEFLATE expands at most 1032-fold: a corrupt trailer cannot ask for more.
            guess = min(max(guess, 4 * (input.count - offset), 1 << 16), 1032 * (input.count - offset) + (1 << 16))
            // No more than the limit allows, plus one byte to see that it is passed.
            let room = maxBytes - out.count + 1
            guess = min(guess, room)
            var member: [UInt8] = []
            var consumed = 0
            while true {
                var result = LIBDEFLATE_BAD_DATA
                var produced = 0
                let capacity = guess
                member = [UInt8](unsafeUninitializedCapacity: capacity) { out, initialized in
                    result = input.withUnsafeBufferPointer { inp in
                        libdeflate_gzip_decompress_ex(decompressor, inp.baseAddress.map { $0 + offset }, inp.count - offset,
                                                      out.baseAddress, capacity, &consumed, &produced)
                    }
                    initialized = result == LIBDEFLATE_SUCCESS ? produced : 0
                }
                if result == LIBDEFLATE_SUCCESS { break }
                if result == LIBDEFLATE_INSUFFICIENT_SPACE && guess >= room { throw tooLarge(file, maxBytes, decompressed: true) }
                if result == LIBDEFLATE_INSUFFICIENT_SPACE && guess < 1032 * (input.count - offset) + (1 << 16) { guess = min(guess * 2, room); continue }
                throw DataError(code: .unreadable, file: file, message: "cannot read or decompress: invalid or truncated gzip data")
            }
            if out.isEmpty { out = member } else { out.append(contentsOf: member) }
            if out.count > maxBytes { throw tooLarge(file, maxBytes, decompressed: true) }
            offset += consumed
        }
        return out
    }
}
