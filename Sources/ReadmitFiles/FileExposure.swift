#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Who besides a file's owner may read or change it, from its mode bits (links followed): what
/// readmitd checks of its secret key, its authorized keys and its model before trusting them.
/// Write bits on a file system mounted read-only (a Kubernetes `readOnly` volume) grant
/// nothing, so they are not reported.
public struct FileExposure: Sendable {
    /// The permission bits, sticky bit included (`0o1777` for /tmp).
    public let mode: UInt32
    /// Users other than the owner and the group may read it.
    public let othersRead: Bool
    /// Users other than the owner and the group may change it (or, for a folder, add and
    /// remove entries), on a writable file system.
    public let othersWrite: Bool
    /// The group may change it, on a writable file system.
    public let groupWrite: Bool
    /// A folder whose entries only their owners may remove or rename (the sticky bit).
    public let sticky: Bool
    /// A regular file (not a folder, device or pipe).
    public let isRegularFile: Bool
    /// A folder.
    public let isDirectory: Bool

    /// The exposure of the file or folder at `path`; nil when it cannot be examined (absent,
    /// unreadable: the caller's read says why).
    public init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        var fileSystem = statvfs()
        let readOnly = statvfs(path, &fileSystem) == 0 && fileSystem.f_flag & UInt(ST_RDONLY) != 0
        mode = UInt32(info.st_mode & 0o7777)
        othersRead = info.st_mode & 0o004 != 0
        othersWrite = !readOnly && info.st_mode & 0o002 != 0
        groupWrite = !readOnly && info.st_mode & 0o020 != 0
        sticky = info.st_mode & S_ISVTX != 0
        isRegularFile = info.st_mode & S_IFMT == S_IFREG
        isDirectory = info.st_mode & S_IFMT == S_IFDIR
    }

    /// The mode as `ls -l` users write it: `0644`, `01777`.
    public var octal: String { "0" + String(mode, radix: 8) }
}
