#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a small input file (a config file, a dataset spec, a key file) could not be read: the
/// reason, from the system or from the checks below, without the path (the caller names it).
public struct RegularFileError: Error, CustomStringConvertible, Sendable {
    /// The reason (`No such file or directory`, `not a regular file (...)`, `larger than ...`).
    public let reason: String
    public var description: String { reason }
}

/// Reads small input files whole, and only regular files: a FIFO would block the reader (at a
/// daemon's start or on SIGHUP), a device never end, and a file far larger than such a file can
/// be is not read into memory to find that out. Foundation's `String(contentsOfFile:)` refuses a
/// FIFO or a device with "You don't have permission" and a directory with "error 256"; the
/// reasons here are the system's own (`strerror`) or say what the path is.
public enum RegularFile {
    /// The bytes of the regular file at `path`, at most `maxBytes` of them.
    public static func read(path: String, maxBytes: Int) throws(RegularFileError) -> [UInt8] {
        func failure(_ code: Int32) -> RegularFileError { RegularFileError(reason: String(cString: strerror(code))) }
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw failure(errno) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw failure(errno) }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw RegularFileError(reason: "not a regular file (\(kind(info.st_mode)))")
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(clamping: min(Int64(info.st_size), Int64(maxBytes))))
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let got = chunk.withUnsafeMutableBytes { systemRead(fd, $0.baseAddress, $0.count) }
            if got < 0 {
                if errno == EINTR { continue }
                throw failure(errno)
            }
            if got == 0 { return bytes }
            guard bytes.count + got <= maxBytes else {
                throw RegularFileError(reason: "larger than \(maxBytes) bytes, more than such a file holds")
            }
            bytes.append(contentsOf: chunk[0..<got])
        }
    }

    /// The text of the regular file at `path`, which must be UTF-8.
    public static func readText(path: String, maxBytes: Int) throws(RegularFileError) -> String {
        let bytes = try read(path: path, maxBytes: maxBytes)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw RegularFileError(reason: "not UTF-8 text")
        }
        return text
    }

    private static func kind(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFDIR: return "a directory"
        case S_IFIFO: return "a pipe"
        case S_IFCHR, S_IFBLK: return "a device"
        case S_IFSOCK: return "a socket"
        default: return "not a plain file"
        }
    }
}

/// `read(2)`, named apart from ``RegularFile/read(path:maxBytes:)``.
private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    read(fd, buffer, count)
}
