import Foundation
import ReadmitKeys

/// The client public keys allowed to connect: every key file in a directory (hidden files
/// skipped). Re-read on SIGHUP.
public struct AuthorizedKeys: Sendable {
    /// Raw 32-byte public keys mapped to the file that authorised them (used as ZAP user id).
    public let keys: [[UInt8]: String]

    /// Loads every key file in `directory`; an unreadable or malformed file is an error, so a
    /// typo never silently locks clients out or in.
    public static func load(directory: String) throws(KeyFileError) -> AuthorizedKeys {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: directory) } catch {
            throw KeyFileError("cannot list --authorized-keys directory \(directory): \(error.localizedDescription)")
        }
        var keys: [[UInt8]: String] = [:]
        for name in names.sorted() where !name.hasPrefix(".") {
            let path = (directory as NSString).appendingPathComponent(name)
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue else { continue }
            let z85 = try CurveKeyPair.readKey(path: path)
            if let raw = CurveKeyPair.z85Decode(z85) { keys[raw] = name }
        }
        return AuthorizedKeys(keys: keys)
    }

    /// Creates a key set.
    public init(keys: [[UInt8]: String]) { self.keys = keys }
}
