import ReadmitFeatures
import ReadmitModels
import ReadmitSpec
import ReadmitTables

/// A feature matrix that does not fit the model's ``FeatureSchema``.
///
/// Carries the offending row and feature (where there is one) so that callers (the CLI, the
/// daemon's error replies) can name them.
public struct FeatureVectorError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What was wrong.
    public enum Code: String, Sendable {
        /// The matrix does not have `rows * columns` values, or the column count differs from the schema.
        case shape
        /// A value is infinite (only NaN stands for missing).
        case notFinite
        /// A categorical value is not a level index of the schema.
        case badCategory
        /// Another invalid argument (e.g. `k = 0` for an explanation).
        case badArgument
    }

    /// What was wrong.
    public var code: Code
    /// The offending row (0-based), if any.
    public var row: Int?
    /// The offending feature index (schema order), if any.
    public var feature: Int?
    /// A message naming the problem, the row and the feature.
    public var message: String

    /// Creates an error.
    public init(code: Code, row: Int? = nil, feature: Int? = nil, message: String) {
        self.code = code
        self.row = row
        self.feature = feature
        self.message = message
    }

    /// The message.
    public var description: String { message }
}
