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
