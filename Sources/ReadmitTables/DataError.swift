import ReadmitSpec

/// A problem with an input data file, naming the file and, where there is one, the line and column.
///
/// Modelled on grpc-swift's `RPCError`: a stable ``Code`` for programs and a message for people.
public struct DataError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kind of problem.
    public enum Code: String, Sendable {
        // Raw values are the stable codes of docs/PROTOCOL.md's RECORDS messages.
        /// The file does not exist or cannot be opened.
        case fileNotFound = "file_not_found"
        /// The file could not be read or decompressed.
        case unreadable
        /// The file has no header or no data rows.
        case empty
        /// A row does not have as many fields as the header, or a quote is not closed.
        case malformed
        /// A required column is absent from the header.
        case missingColumn = "missing_field"
        /// A value is not a number where a number is required.
        case badNumber = "bad_number"
        /// A value is not one of the accepted values of its column (e.g. the label).
        case badValue = "bad_value"
        /// A number is infinite.
        case notFinite = "not_finite"
        /// A timestamp does not match the spec's format.
        case badTimestamp = "bad_timestamp"
        /// A CSV field is not valid UTF-8 (files only; raw records arrive as decoded texts).
        case badEncoding = "bad_encoding"
        /// A CSV field is longer than ``CSVTable/maxFieldBytes`` (files only).
        case fieldTooLong = "field_too_long"
        /// A raw record the spec's cohort leaves out (its `exclusions`: a death or hospice
        /// discharge): the model does not apply to it, so it is not scored.
        case excluded
    }

    /// The kind of problem.
    public var code: Code
    /// The file the problem is in.
    public var file: String
    /// 1-based line number (the header is line 1), if the problem is on a line.
    public var line: Int?
    /// 0-based row of raw records (which have no lines), if the problem is in a row.
    public var row: Int?
    /// The column name, if the problem is in a column.
    public var column: String?
    /// A message naming the problem.
    public var message: String

    /// Creates an error.
    public init(code: Code, file: String, line: Int? = nil, row: Int? = nil, column: String? = nil, message: String) {
        self.code = code
        self.file = file
        self.line = line
        self.row = row
        self.column = column
        self.message = message
    }

    /// `file:line: column 'x': message`, with the parts that are known.
    public var description: String {
        var s = file
        if let line { s += ":\(line)" }
        s += ":"
        if let row { s += " row \(row)," }
        if let column { s += " column '\(column)':" }
        return s + " " + message
    }
}
