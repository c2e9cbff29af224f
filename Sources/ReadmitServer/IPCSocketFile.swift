#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The file of an `ipc://PATH` endpoint, checked before the bind and removed at the stop.
///
/// libzmq's bind deletes whatever is at the path first (to replace a socket that a crashed
/// process left): `--endpoint ipc:///srv/extract.csv` deleted the file, and a second daemon
/// given a path another one serves took it over without a word (tcp gets "Address already in
/// use"), the first one running on, unreachable. So a path that exists must be a socket nobody
/// accepts on. There is no library for this check; it is a `lstat` and a `connect`. The check
/// and the bind are not atomic: a file created in between is still replaced.
struct IPCSocketFile: Sendable {
    /// The endpoint as given.
    let endpoint: String
    /// The file system path (relative paths are relative to the working directory).
    let path: String
    /// Device and inode of the socket this daemon bound, recorded after the bind: at the stop
    /// the file is removed only while it is still that socket.
    private(set) var bound: (device: UInt64, inode: UInt64)?

    /// The file of `endpoint`, or nil for a tcp endpoint, `ipc://*` (libzmq picks a fresh
    /// path) and an abstract socket (`ipc://@name`, no file).
    init?(endpoint: String) {
        guard endpoint.hasPrefix("ipc://") else { return nil }
        let path = String(endpoint.dropFirst("ipc://".count))
        guard !path.isEmpty, path != "*", !path.hasPrefix("@") else { return nil }
        self.endpoint = endpoint
        self.path = path
    }

    /// Throws when the path holds anything the bind must not delete: a file that is not a
    /// socket (a link included, whatever it points to), or a socket some process accepts on.
    func checkBeforeBind() throws(Server.StartError) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return } // absent (or unreadable: the bind says why)
        let type = info.st_mode & S_IFMT
        guard type == S_IFSOCK else {
            throw Server.StartError(message: "endpoint \(endpoint): \(path) is \(Self.describe(type)), not a socket; refusing to bind there (libzmq would delete it to make the socket)")
        }
        if Self.accepts(path) {
            throw Server.StartError(message: "endpoint \(endpoint): another process accepts connections on \(path) (a readmitd already serving it?); refusing to take it over: stop that one or choose another path")
        }
    }

    /// Records the socket the bind made.
    mutating func recordBound() {
        var info = stat()
        guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFSOCK else { return }
        bound = (UInt64(info.st_dev), UInt64(info.st_ino))
    }

    /// Removes the socket file at the stop if it is still the one this daemon bound (libzmq
    /// leaves it; a client that finds it then gets "connection refused" rather than "no such
    /// file"), never a file another process has put there since.
    func removeIfOurs() {
        guard let bound else { return }
        var info = stat()
        guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFSOCK,
              UInt64(info.st_dev) == bound.device, UInt64(info.st_ino) == bound.inode else { return }
        unlink(path)
    }

    /// Whether a process accepts stream connections on the Unix socket at `path`.
    private static func accepts(_ path: String) -> Bool {
        var address = sockaddr_un()
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard bytes.count < capacity else { return false } // too long for a socket: the bind fails on it
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { sunPath in
            sunPath.copyBytes(from: bytes)
            sunPath[bytes.count] = 0
        }
        // Non-blocking: a listener whose backlog is full makes a blocking connect wait.
        #if canImport(Glibc)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        #else
        let fd = socket(AF_UNIX, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        // Refused: a socket left behind, which the bind may replace. A full backlog is a listener.
        return rc == 0 || errno == EAGAIN || errno == EINPROGRESS
    }

    private static func describe(_ type: mode_t) -> String {
        switch type {
        case S_IFREG: return "a regular file"
        case S_IFDIR: return "a directory"
        case S_IFLNK: return "a symbolic link"
        case S_IFIFO: return "a named pipe"
        default: return "a device or other special file"
        }
    }
}
