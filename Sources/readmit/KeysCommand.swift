import ArgumentParser
import Foundation
import ReadmitKeys

/// `readmit keys`: writes a CURVE key pair for readmitd or a client.
struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Write a CURVE key pair: NAME.pub (public, share it) and NAME.key (secret, mode 0600).",
        discussion: """
            The daemon uses its secret key with --curve-secret-key; each client's public key goes into the \
            daemon's --authorized-keys directory. Existing files are never overwritten.
            """
    )

    @Option(name: .long, help: "Directory to write the key files into.")
    var out: String = "."

    @Option(name: .long, help: "Base name of the key files.")
    var name: String = "readmit"

    func validate() throws {
        // The name is a file name in --out, not a path: an empty one made `--out`'s own name
        // the base (`dir.pub` beside `dir/`), and the daemon skips hidden files in
        // --authorized-keys, so a name starting with "." would never be read there.
        guard !name.isEmpty, !name.contains("/"), !name.hasPrefix("."), !name.contains("\0") else {
            throw ValidationError("--name '\(name)': a file name is needed, without '/' and not starting with '.' (the directory goes in --out)")
        }
    }

    func run() throws {
        try runReportingErrors {
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            let pair = try CurveKeyPair.generate()
            let paths = try pair.write(basePath: URL(fileURLWithPath: out).appendingPathComponent(name).path)
            print("public key: \(paths.publicKeyPath)")
            print("secret key: \(paths.secretKeyPath)")
        }
    }
}

extension KeyFileError: DataErrorDescribing { var cliDescription: String { message } }
