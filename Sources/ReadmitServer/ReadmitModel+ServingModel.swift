import ReadmitCore

/// The core's model is what the daemon serves.
extension ReadmitModel: ServingModel {
    /// The schema's feature count.
    public var featureCount: Int { schema.count }
    /// ``ReadmitModel/modelVersion``.
    public var servingVersion: UInt64 { modelVersion }
    /// ``ReadmitModel/modelID``.
    public var servingID: String { modelID }

    /// Forwards to ``ReadmitModel/validate(_:rows:)``.
    public func validateRows(_ features: UnsafeBufferPointer<Double>, rows: Int) throws(FeatureVectorError) {
        try validate(features, rows: rows)
    }

    /// Forwards to ``ReadmitModel/score(_:rows:risk:atypicality:tier:)``.
    public func scoreRows(_ features: UnsafeBufferPointer<Double>, rows: Int,
                          risk: UnsafeMutableBufferPointer<Double>, atypicality: UnsafeMutableBufferPointer<Double>,
                          tier: UnsafeMutableBufferPointer<UInt8>) throws(FeatureVectorError) {
        try score(features, rows: rows, risk: risk, atypicality: atypicality, tier: tier)
    }

    /// Forwards to ``ReadmitModel/explain(_:rows:k:featureIndex:contribution:)``.
    public func explainRows(_ features: UnsafeBufferPointer<Double>, rows: Int, k: Int,
                            featureIndex: UnsafeMutableBufferPointer<Int32>,
                            contribution: UnsafeMutableBufferPointer<Double>) throws(FeatureVectorError) {
        try explain(features, rows: rows, k: k, featureIndex: featureIndex, contribution: contribution)
    }
}
