#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a file could not be written; the message names the path and the reason.
public struct DurableFileError: Error, CustomStringConvertible, Sendable {
    /// What went wrong.
    public enum Code: Sendable {
        /// Something that is not a regular file (a directory, device or symbolic link) is at the path.
        case notARegularFile
        /// The folder the file would go in does not exist.
        case noFolder
        /// Creating, writing, syncing or renaming failed (the message carries `strerror`).
        case ioFailed
    }
    public let code: Code
    public let message: String
    public var description: String { message }
}

/// Writes a whole file so that nothing is ever lost: anything at the path that is not a regular
/// file is refused (never replaced), the bytes go to a temporary file in the same folder which
/// is fsynced and renamed over the path, and the folder is fsynced, so that after a crash or a
/// power cut the path holds the old file or the new one, never a partial or empty one.
///
/// One implementation for every output (model file, report, metrics, `readmit score`): Foundation's
/// `Data.write(options: .atomic)` neither fsyncs nor refuses to replace a symbolic link.
public enum DurableFile {
    /// Writes `bytes` to `path` as described above. Thread-safe for distinct paths.
    public static func write<Bytes: Collection>(_ bytes: Bytes, to path: String) throws(DurableFileError) where Bytes.Element == UInt8 {
        var st = stat()
        if lstat(path, &st) == 0 && (st.st_mode & S_IFMT) != S_IFREG {
            throw DurableFileError(code: .notARegularFile,
                                   message: "\(path): refusing to replace it: not a regular file (a directory, device or link)")
        }
        let slash = path.lastIndex(of: "/")
        let folder = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        var folderStat = stat()
        guard stat(folder, &folderStat) == 0, (folderStat.st_mode & S_IFMT) == S_IFDIR else {
            throw DurableFileError(code: .noFolder, message: "\(path): the folder \(folder) does not exist")
        }
        let tmp = (folder == "/" ? "" : folder) + "/.\(name).tmp-\(getpid())"
        func failure(_ what: String) -> DurableFileError {
            DurableFileError(code: .ioFailed, message: "\(path): \(what): \(String(cString: strerror(errno)))")
        }
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw failure("cannot create a temporary file beside it") }
        let written = bytes.withContiguousStorageIfAvailable { buffer in writeAll(fd, UnsafeRawBufferPointer(buffer)) }
            ?? Array(bytes).withUnsafeBytes { writeAll(fd, $0) }
        guard written else { let error = failure("write failed"); close(fd); unlink(tmp); throw error }
        guard fsync(fd) == 0 else { let error = failure("fsync failed"); close(fd); unlink(tmp); throw error }
        guard close(fd) == 0 else { let error = failure("close failed"); unlink(tmp); throw error }
        // rename(2) replaces the destination atomically: readers see the old file or the new one.
        guard rename(tmp, path) == 0 else { let error = failure("cannot move the new file into place"); unlink(tmp); throw error }
        // The rename itself is durable only once the folder's entry is on disk.
        let dir = open(folder, O_RDONLY | O_CLOEXEC)
        if dir >= 0 { _ = fsync(dir); close(dir) }
    }

    private static func writeAll(_ fd: Int32, _ raw: UnsafeRawBufferPointer) -> Bool {
        guard let base = raw.baseAddress else { return true }
        var done = 0
        while done < raw.count {
            let n = systemWrite(fd, base + done, raw.count - done)
            if n < 0 { if errno == EINTR { continue }; return false }
            if n == 0 { return false }
            done += n
        }
        return true
    }
}

/// write(2) (inside ``DurableFile`` the name means its own `write`).
private func systemWrite(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    Glibc.write(fd, bytes, count)
    #else
    Darwin.write(fd, bytes, count)
    #endif
}
