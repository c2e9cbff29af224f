import CZeroMQ
import Foundation
import ReadmitFiles

/// A CURVE key pair in Z85 text (40 characters each), as libzmq and the key files use it.
///
/// Key files hold the key on its own line; lines starting with `#` are comments. The secret
/// key file is written with mode 0600.
public struct CurveKeyPair: Sendable, Equatable {
    /// The public key (Z85); give it to peers (the daemon's clients, or `--authorized-keys`).
    public let publicKey: String
    /// The secret key (Z85); keep it private.
    public let secretKey: String

    /// The text of a NUL-terminated Z85 key buffer filled by libzmq.
    private static func z85String(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// A fresh key pair from libzmq's `zmq_curve_keypair`.
    public static func generate() throws(KeyFileError) -> CurveKeyPair {
        var pub = [CChar](repeating: 0, count: 41), sec = [CChar](repeating: 0, count: 41)
        guard zmq_curve_keypair(&pub, &sec) == 0 else {
            throw KeyFileError("zmq_curve_keypair failed: libzmq was built without CURVE support")
        }
        return CurveKeyPair(publicKey: z85String(pub), secretKey: z85String(sec))
    }

    /// The pair whose secret key is `secretKey` (derives the public key).
    public static func fromSecret(_ secretKey: String) throws(KeyFileError) -> CurveKeyPair {
        guard secretKey.utf8.count == 40 else { throw KeyFileError("a Z85 CURVE key is 40 characters, got \(secretKey.utf8.count)") }
        var pub = [CChar](repeating: 0, count: 41)
        guard zmq_curve_public(&pub, secretKey) == 0 else { throw KeyFileError("not a valid Z85 CURVE secret key") }
        return CurveKeyPair(publicKey: z85String(pub), secretKey: secretKey)
    }

    /// Creates a pair from its Z85 keys.
    public init(publicKey: String, secretKey: String) {
        self.publicKey = publicKey
        self.secretKey = secretKey
    }

    /// The comment that opens a secret key file; ``holdsSecretKey(path:)`` looks for it.
    static let secretKeyComment = "# readmit CURVE secret key"

    /// Writes `<base>.pub` (the public key) and `<base>.key` (the secret key, mode 0600);
    /// refuses to overwrite existing files. Returns the two paths. All or nothing: when either
    /// file cannot be made or written in full, the file this call made is removed, so a failed
    /// run leaves no lone secret key (which would also block the next run).
    @discardableResult
    public func write(basePath: String) throws(KeyFileError) -> (publicKeyPath: String, secretKeyPath: String) {
        let pubPath = basePath + ".pub", secPath = basePath + ".key"
        try Self.writeNew(secPath, "\(Self.secretKeyComment): keep private (readmitd --curve-secret-key, or a client's key pair)\n\(secretKey)\n", mode: 0o600)
        do {
            try Self.writeNew(pubPath, "# readmit CURVE public key: share (a client's goes in readmitd --authorized-keys DIR)\n\(publicKey)\n", mode: 0o644)
        } catch {
            unlink(secPath)
            throw error
        }
        return (pubPath, secPath)
    }

    /// Creates `path` (never an existing file) holding `text`; a file left short is removed.
    private static func writeNew(_ path: String, _ text: String, mode: mode_t) throws(KeyFileError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode)
        guard fd >= 0 else { throw KeyFileError("cannot create \(path): \(String(cString: strerror(errno)))") }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
        let writeError = errno
        guard close(fd) == 0, written == bytes.count else {
            let reason = String(cString: strerror(written == bytes.count ? errno : writeError))
            unlink(path)
            throw KeyFileError("cannot write \(path): \(reason)")
        }
    }

    /// Whether the file at `path` is a secret key file as ``write(basePath:)`` makes it (its
    /// opening comment says so). The daemon skips such a file in `--authorized-keys`: a secret
    /// key there is a leak, and the client it belongs to is not authorised by it.
    public static func holdsSecretKey(path: String) -> Bool {
        guard let text = try? RegularFile.readText(path: path, maxBytes: maxKeyFileBytes) else { return false }
        return text.split(whereSeparator: \.isNewline).contains { $0.hasPrefix(secretKeyComment) }
    }

    /// The largest key file read: one is a comment and a 40-character key.
    static let maxKeyFileBytes = 64 << 10

    /// Reads the Z85 key from a key file (first line that is neither empty nor a comment).
    public static func readKey(path: String) throws(KeyFileError) -> String {
        let text: String
        do { text = try RegularFile.readText(path: path, maxBytes: maxKeyFileBytes) } catch {
            throw KeyFileError("cannot read key file \(path): \(error.reason)")
        }
        guard let line = text.split(whereSeparator: \.isNewline)
            .map({ $0.trimmingCharacters(in: .whitespaces) })
            .first(where: { !$0.isEmpty && !$0.hasPrefix("#") }) else {
            throw KeyFileError("key file \(path) holds no key")
        }
        guard z85Decode(line) != nil else {
            throw KeyFileError("key file \(path) does not hold a 40-character Z85 CURVE key")
        }
        return line
    }

    /// Reads a secret key file (as ``readKey(path:)``) after checking that no user outside its
    /// owner and group can read or change it, and that its group cannot change it: readmitd
    /// served with a key file of mode 0644 (a key written by hand under the usual umask), and any
    /// local user could read the key and pose as the daemon. As ssh and PostgreSQL refuse such
    /// a key file, readmitd does, saying how to fix it.
    public static func readSecretKey(path: String) throws(KeyFileError) -> String {
        if let exposure = FileExposure(path: path), exposure.isRegularFile {
            var open: [String] = []
            if exposure.othersRead { open.append("read by other users") }
            if exposure.othersWrite { open.append("changed by other users") }
            if exposure.groupWrite { open.append("changed by its group") }
            if !open.isEmpty {
                throw KeyFileError("secret key file \(path) can be \(open.joined(separator: " and ")) (mode \(exposure.octal)): make it private (chmod 600 \(path); in Kubernetes, the secret volume's defaultMode: 0400)")
            }
        }
        return try readKey(path: path)
    }

    /// The 32 raw bytes of a Z85 key, or nil if it is not one.
    public static func z85Decode(_ key: String) -> [UInt8]? {
        guard key.utf8.count == 40 else { return nil }
        var raw = [UInt8](repeating: 0, count: 32)
        guard zmq_z85_decode(&raw, key) != nil else { return nil }
        return raw
    }
}

/// A key file that could not be made, read or parsed.
public struct KeyFileError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, naming the file.
    public let message: String
    /// Creates an error.
    public init(_ message: String) { self.message = message }
    /// The message.
    public var description: String { message }
}
