/// One label/value row of a summary table; the value is preformatted by the caller.
public struct SummaryRow: Sendable, Codable, Equatable {
    /// Row label, e.g. "Test encounters".
    public var label: String
    /// Row value, e.g. "19,597".
    public var value: String

    /// Creates a row.
    public init(_ label: String, _ value: String) {
        self.label = label
        self.value = value
    }
}

/// Fraction of missing values of one input feature.
public struct MissingnessRow: Sendable, Codable, Equatable {
    /// Feature (or source column) name.
    public var feature: String
    /// Missing fraction in [0, 1].
    public var fraction: Double

    /// Creates a row.
    public init(feature: String, fraction: Double) {
        self.feature = feature
        self.fraction = fraction
    }
}

/// One bar of the top-risk-factors chart.
public struct RiskFactor: Sendable, Codable, Equatable {
    /// Feature name as shown to the reader.
    public var feature: String
    /// Importance in the unit named by `ReportInput.riskFactorMeasure`; may be negative.
    public var importance: Double

    /// Creates a risk factor.
    public init(feature: String, importance: Double) {
        self.feature = feature
        self.importance = importance
    }
}
