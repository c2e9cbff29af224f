import CZeroMQ
import Foundation
import ReadmitFiles
import ReadmitKeys

/// The client public keys allowed to connect: every key file in a directory (hidden files
/// skipped). Re-read on SIGHUP; the ZAP handler checks each handshake against it, and the
/// broker each request (so a key removed from the directory is refused from its next request).
public struct AuthorizedKeys: Sendable {
    /// A key file that was left out of the set, and why.
    public struct SkippedFile: Sendable, CustomStringConvertible {
        /// The file's name in the directory.
        public let name: String
        /// Why it was skipped.
        public let reason: String
        /// `name: reason`.
        public var description: String { "\(name): \(reason)" }
    }

    /// Raw 32-byte public keys mapped to the file that authorised them.
    public let keys: [[UInt8]: String]
    /// The same keys by their canonical Z85 text (what the ZAP handler sets as `User-Id`),
    /// mapped to their files.
    private let z85Keys: [String: String]
    /// Files in the directory that hold no valid key (unreadable, malformed, or a secret key).
    public let skipped: [SkippedFile]

    /// Loads every key file in `directory`. A file that cannot be read or holds no valid key
    /// is skipped and listed in ``skipped`` (the caller logs it by name): one bad file must not
    /// keep the rest of the set, and so a revocation, from taking effect. Throws only when the
    /// directory itself cannot be listed, or other users may write to it.
    public static func load(directory: String) throws(KeyFileError) -> AuthorizedKeys {
        // A directory any local user may write to lets anyone authorise a key of their own
        // (ssh's StrictModes refuses such an authorized_keys for the same reason).
        if let exposure = FileExposure(path: directory), exposure.isDirectory, exposure.othersWrite {
            throw KeyFileError("--authorized-keys directory \(directory) can be written by other users (mode \(exposure.octal)), so anyone on this host could authorize a key: chmod o-w \(directory)")
        }
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: directory) } catch {
            throw KeyFileError("cannot list --authorized-keys directory \(directory): \(error.localizedDescription)")
        }
        var keys: [[UInt8]: String] = [:]
        var skipped: [SkippedFile] = []
        for name in names.sorted() where !name.hasPrefix(".") {
            let path = (directory as NSString).appendingPathComponent(name)
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue else { continue }
            if let exposure = FileExposure(path: path), exposure.othersWrite {
                skipped.append(SkippedFile(name: name, reason: "can be changed by other users (mode \(exposure.octal)), who could put their own key in it: chmod o-w it"))
                continue
            }
            guard !CurveKeyPair.holdsSecretKey(path: path) else {
                skipped.append(SkippedFile(name: name, reason: "a secret key file: copy the client's .pub file here, and keep its .key private"))
                continue
            }
            do {
                let z85 = try CurveKeyPair.readKey(path: path)
                guard let raw = CurveKeyPair.z85Decode(z85) else {
                    skipped.append(SkippedFile(name: name, reason: "not a Z85 CURVE key"))
                    continue
                }
                keys[raw] = name
            } catch {
                skipped.append(SkippedFile(name: name, reason: error.message))
            }
        }
        return AuthorizedKeys(keys: keys, skipped: skipped)
    }

    /// Creates a key set.
    public init(keys: [[UInt8]: String], skipped: [SkippedFile] = []) {
        self.keys = keys
        self.skipped = skipped
        var byText: [String: String] = [:]
        for (raw, name) in keys { if let text = AuthorizedKeys.z85(raw) { byText[text] = name } }
        z85Keys = byText
    }

    /// Whether the key whose canonical Z85 text is `z85` is in the set.
    public func contains(z85: String) -> Bool { z85Keys[z85] != nil }

    /// The file that authorised the key whose canonical Z85 text is `z85`, if it is in the set.
    public func file(z85: String) -> String? { z85Keys[z85] }

    /// The canonical Z85 text of a raw 32-byte key (nil if it is not 32 bytes).
    public static func z85(_ raw: [UInt8]) -> String? {
        guard raw.count == 32 else { return nil }
        var text = [CChar](repeating: 0, count: 41)
        guard zmq_z85_encode(&text, raw, 32) != nil else { return nil }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
