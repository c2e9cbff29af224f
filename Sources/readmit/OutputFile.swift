import Foundation

/// Writes a command's output file without ever losing data: `-` is standard output; anything
/// that exists and is not a regular file (a directory, a device, a symlink) is refused; the
/// text goes to a temporary file in the same folder, which is fsynced, renamed into place, and
/// the folder fsynced, so a crash leaves the old file or the new one, never a partial one.
enum OutputFile {
    struct Refused: Error, CustomStringConvertible { let description: String }

    static func write(_ text: String, to path: String) throws {
        try write(bytes: Array(text.utf8), to: path)
    }

    /// Writes bytes with the same guarantees.
    static func write(bytes: [UInt8], to path: String) throws {
        if path == "-" {
            FileHandle.standardOutput.write(Data(bytes))
            return
        }
        var st = stat()
        if lstat(path, &st) == 0 && (st.st_mode & S_IFMT) != S_IFREG {
            throw Refused(description: "\(path): refusing to replace it: not a regular file (a directory, device or link); name a file, or - for standard output")
        }
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
            throw Refused(description: "\(path): the folder \(folder) does not exist")
        }
        let tmp = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())").path
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Refused(description: "\(path): cannot create a temporary file beside it: \(String(cString: strerror(errno)))") }
        var done = 0
        let ok = bytes.withUnsafeBytes { raw -> Bool in
            guard let base = raw.baseAddress else { return fsync(fd) == 0 }  // an empty output
            while done < raw.count {
                let n = Glibc.write(fd, base + done, raw.count - done)
                if n <= 0 { return false }
                done += n
            }
            return fsync(fd) == 0
        }
        close(fd)
        guard ok, rename(tmp, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(tmp)
            throw Refused(description: "\(path): cannot write: \(reason)")
        }
        let dir = open(folder, O_RDONLY | O_CLOEXEC)
        if dir >= 0 { fsync(dir); close(dir) }
    }
}
