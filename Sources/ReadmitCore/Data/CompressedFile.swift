import CZlib

/// Reads whole files, transparently decompressing gzip.
///
/// zlib's `gzread` passes uncompressed files through unchanged, so one code path serves both
/// `diabetic_data.csv.gz` and a plain `.csv`.
public enum CompressedFile {
    /// Returns the (decompressed) bytes of the file at `path`.
    public static func readAll(path: String) throws(DataError) -> [UInt8] {
        guard let file = gzopen(path, "rb") else {
            throw DataError(code: .fileNotFound, file: path, message: "cannot open file (does it exist and is it readable?)")
        }
        defer { gzclose(file) }
        gzbuffer(file, 1 << 17)
        var out: [UInt8] = []
        out.reserveCapacity(1 << 22)
        let chunk = 1 << 20
        var buffer = [UInt8](repeating: 0, count: chunk)
        while true {
            let n = buffer.withUnsafeMutableBytes { gzread(file, $0.baseAddress, UInt32(chunk)) }
            if n < 0 {
                var errnum: Int32 = 0
                let msg = gzerror(file, &errnum).map { String(cString: $0) } ?? "unknown error"
                throw DataError(code: .unreadable, file: path, message: "cannot read or decompress: \(msg)")
            }
            if n == 0 { break }
            out.append(contentsOf: buffer[0..<Int(n)])
        }
        return out
    }
}
