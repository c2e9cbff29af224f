import ReadmitFeatures
import ReadmitModels
import ReadmitSpec
import ReadmitTables

/// A risk tier: rows whose calibrated risk is at least ``minRisk`` (and below the next tier's) belong to it.
public struct RiskTier: Codable, Sendable, Equatable {
    /// Tier name (`low`, `medium`, `high`).
    public var name: String
    /// Lowest risk in the tier; chosen at training from the held-out risk distribution.
    public var minRisk: Double

    /// Creates a tier.
    public init(name: String, minRisk: Double) { self.name = name; self.minRisk = minRisk }

    enum CodingKeys: String, CodingKey { case name, minRisk = "min_risk" }
}
