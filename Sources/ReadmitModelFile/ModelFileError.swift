import ReadmitFeatures
import ReadmitModels
import ReadmitSpec
import ReadmitTables

/// A model file that cannot be read or written, with a code and a message naming the problem.
public struct ModelFileError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kind of problem.
    public enum Code: String, Sendable {
        /// The file does not exist or cannot be read.
        case notFound
        /// The file is shorter than its header says.
        case truncated
        /// The file does not start with the readmit model magic.
        case badMagic
        /// The format version is not one this build reads.
        case unsupportedVersion
        /// The checksum does not match the contents (the file is corrupted).
        case checksumMismatch
        /// The contents are inconsistent or cannot be decoded.
        case malformed
        /// The file cannot be written.
        case writeFailed
    }

    /// The kind of problem.
    public var code: Code
    /// A message naming the problem.
    public var message: String

    /// Creates an error.
    public init(code: Code, message: String) { self.code = code; self.message = message }

    /// The message.
    public var description: String { message }
}
