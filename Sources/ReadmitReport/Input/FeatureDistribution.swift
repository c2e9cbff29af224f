/// The distribution of one feature, split by outcome.
///
/// Counts are raw; the chart shows each outcome group as a share of its own total, because
/// the positive group is about a tenth of the negative one and raw bars would hide its shape.
public struct FeatureDistribution: Sendable, Codable, Equatable {
    /// How the bins are laid out on the x axis.
    public enum Kind: String, Sendable, Codable, Equatable {
        /// Bins are numeric intervals given by `binEdges` (a histogram).
        case numeric
        /// Bins are named levels given by `levels` (a bar chart).
        case categorical
    }

    /// Feature name; also names the plot file `feature_<name>.svg` (non `[A-Za-z0-9_-]`
    /// characters become `_`).
    public var feature: String
    /// Numeric histogram or categorical bars.
    public var kind: Kind
    /// Numeric: bin boundaries, ascending, `count + 1` values. Empty for categorical.
    public var binEdges: [Double]
    /// Categorical: level labels, one per bin (use e.g. "missing" for a missing bin).
    /// Empty for numeric.
    public var levels: [String]
    /// Per-bin count of positive-outcome records.
    public var positiveCounts: [Int]
    /// Per-bin count of negative-outcome records.
    public var negativeCounts: [Int]

    /// Creates a numeric histogram: `binEdges.count == positiveCounts.count + 1`.
    public static func numeric(
        _ feature: String, binEdges: [Double], positiveCounts: [Int], negativeCounts: [Int]
    ) -> FeatureDistribution {
        FeatureDistribution(
            feature: feature, kind: .numeric, binEdges: binEdges, levels: [],
            positiveCounts: positiveCounts, negativeCounts: negativeCounts)
    }

    /// Creates a categorical distribution: one level per count.
    public static func categorical(
        _ feature: String, levels: [String], positiveCounts: [Int], negativeCounts: [Int]
    ) -> FeatureDistribution {
        FeatureDistribution(
            feature: feature, kind: .categorical, binEdges: [], levels: levels,
            positiveCounts: positiveCounts, negativeCounts: negativeCounts)
    }

    /// Memberwise initialiser; prefer `numeric` or `categorical`.
    public init(
        feature: String, kind: Kind, binEdges: [Double], levels: [String],
        positiveCounts: [Int], negativeCounts: [Int]
    ) {
        self.feature = feature
        self.kind = kind
        self.binEdges = binEdges
        self.levels = levels
        self.positiveCounts = positiveCounts
        self.negativeCounts = negativeCounts
    }
}
