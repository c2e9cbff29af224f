/// Why a report could not be produced.
public struct ReportError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kind of failure.
    public enum Code: String, Sendable, Equatable {
        /// The input is inconsistent (unknown served model, mismatched bin counts, NaN points).
        case invalidInput
        /// The output directory (or its plots/ subdirectory) could not be created.
        case cannotCreateDirectory
        /// A file could not be written.
        case cannotWriteFile
    }

    /// The kind of failure.
    public var code: Code
    /// What went wrong, naming the offending field, model or path.
    public var message: String

    /// Creates an error.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// "report error (code): message".
    public var description: String { "report error (\(code.rawValue)): \(message)" }
}
