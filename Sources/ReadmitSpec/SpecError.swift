/// A problem with a dataset spec, naming the spec file and, where known, the line, column and key.
///
/// Modelled on grpc-swift's `RPCError`: a stable ``Code`` for programs and a message for people.
public struct SpecError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kind of problem.
    public enum Code: String, Sendable {
        /// The spec file cannot be read.
        case unreadable
        /// The file is not valid YAML.
        case syntax
        /// A key the format does not have.
        case unknownKey
        /// A required key is absent.
        case missingKey
        /// A value of the wrong type or outside its allowed values.
        case badValue
        /// Parts of the spec that contradict each other (a feature naming an unknown table, ...).
        case inconsistent
    }

    /// The kind of problem.
    public var code: Code
    /// The spec file.
    public var file: String
    /// 1-based line and column in the spec file, when known.
    public var line: Int?, column: Int?
    /// The key path (`features[3].kind`), when the problem is at a key.
    public var key: String?
    /// A message naming the problem.
    public var message: String

    /// Creates an error.
    public init(code: Code, file: String, line: Int? = nil, column: Int? = nil, key: String? = nil, message: String) {
        self.code = code
        self.file = file
        self.line = line
        self.column = column
        self.key = key
        self.message = message
    }

    /// `file:line:column: key 'k': message`, with the parts that are known.
    public var description: String {
        var s = file
        if let line { s += ":\(line)"; if let column { s += ":\(column)" } }
        s += ":"
        if let key { s += " key '\(key)':" }
        return s + " " + message
    }
}
