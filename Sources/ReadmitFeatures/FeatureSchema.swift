import ReadmitSpec
import ReadmitTables

/// The contract every client uses to build a feature vector.
///
/// A feature vector has one `Double` per input feature, in schema order. Numeric features
/// carry their value; categorical features carry the index of their level in ``FeatureSpec/levels``;
/// `NaN` means missing and is valid for every feature (a row of all `NaN` still gets a score).
public struct FeatureSchema: Codable, Sendable, Equatable {
    /// The input features in the order a feature vector lists them.
    public var features: [FeatureSpec]

    /// Creates a schema from its ordered features.
    public init(features: [FeatureSpec]) { self.features = features }

    /// The number of input features (columns of a feature matrix).
    public var count: Int { features.count }

    /// The index of the feature called `name`, if any.
    public func index(of name: String) -> Int? { features.firstIndex { $0.name == name } }
}

/// One input feature of the ``FeatureSchema``.
public struct FeatureSpec: Codable, Sendable, Equatable {
    /// Whether a feature is a number or a category.
    public enum Kind: String, Codable, Sendable {
        /// A real number; any finite value is accepted.
        case numeric
        /// A category, sent as the index of its level in ``FeatureSpec/levels``.
        case categorical
    }

    /// Stable name, unique within the schema.
    public var name: String
    /// Numeric or categorical.
    public var kind: Kind
    /// Category levels (categorical features only); index `i` names level `i`.
    public var levels: [String]
    /// Whether the levels are ordered (the level index is then used as a number by the
    /// linear model and the anomaly detectors instead of one indicator per level).
    public var ordinal: Bool
    /// The raw CSV column the feature comes from.
    public var source: String
    /// How a raw CSV value of ``source`` becomes the feature's value (see ``Transform``).
    public var transform: Transform
    /// How a missing value is treated (sent as `NaN`).
    public var missing: String
    /// A human-readable description.
    public var description: String

    /// How a raw CSV value becomes a feature value; documented in `docs/FEATURES.md` so every
    /// client (Python, R, C) encodes a CSV row exactly as `readmit score` does.
    public enum Transform: String, Codable, Sendable {
        /// Parse the text as a number; `?` or empty is missing.
        case number
        /// The index of the level equal to the text; `?`, empty or an unseen value is missing.
        case level
        /// As ``level``, but a value not among the levels maps to the last level, `Other`.
        case levelOrOther = "level_or_other"
        /// The ICD-9 chapter of a diagnosis code (`docs/FEATURES.md`), as a level index.
        case icd9Chapter = "icd9_chapter"
        /// The chapter of an ICD-9 or ICD-10 code from an events table (`docs/DATASET_SPEC.md`).
        case icdChapter = "icd_chapter"
        /// The three-character category of an ICD code, rare ones `other`.
        case icdCategory = "icd_category"
        /// Derived from the admission and discharge timestamps or the patient table.
        case derived
        /// An aggregation of an events table within the stay.
        case event
        /// Derived from the patient's earlier encounters (`docs/DATASET_SPEC.md`).
        case history
    }

    /// Creates a feature description.
    public init(name: String, kind: Kind, levels: [String] = [], ordinal: Bool = false, source: String, transform: Transform,
                missing: String, description: String) {
        self.name = name
        self.kind = kind
        self.levels = levels
        self.ordinal = ordinal
        self.source = source
        self.transform = transform
        self.missing = missing
        self.description = description
    }
}
