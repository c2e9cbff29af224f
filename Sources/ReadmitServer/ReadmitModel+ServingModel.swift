import ReadmitCore
import ReadmitWire

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

    /// Forwards to ``ReadmitModel/score(_:rows:risk:atypicality:tier:interval:)``.
    public func scoreRows(_ features: UnsafeBufferPointer<Double>, rows: Int,
                          risk: UnsafeMutableBufferPointer<Double>, atypicality: UnsafeMutableBufferPointer<Double>,
                          tier: UnsafeMutableBufferPointer<UInt8>,
                          interval: (low: UnsafeMutableBufferPointer<Double>, high: UnsafeMutableBufferPointer<Double>)?) throws(FeatureVectorError) {
        try score(features, rows: rows, risk: risk, atypicality: atypicality, tier: tier, interval: interval)
    }

    /// Forwards to ``ReadmitModel/scoreRecords(columns:rows:k:options:)`` with the wire's columns.
    public func scoreRecords(_ request: RecordsRequest) throws(DataError) -> RecordsResult {
        try scoreRecords(columns: Self.columns(request), rows: request.rows, k: request.k, options: Self.options(request))
    }

    /// Forwards to ``ReadmitModel/deriveHistory(columns:rows:options:)`` with the wire's columns.
    public func deriveHistory(_ request: RecordsRequest) throws(DataError) -> HistoryResult {
        try deriveHistory(columns: Self.columns(request), rows: request.rows, options: Self.options(request))
    }

    static func columns(_ request: RecordsRequest) -> [(name: String, column: RecordColumn)] {
        request.columns.map { (name: String, column: RecordsRequest.Column) -> (name: String, column: RecordColumn) in
            switch column {
            case .numbers(let v): return (name, .numbers(v))
            case .texts(let values, let codes): return (name, .texts(values: values, codes: codes))
            }
        }
    }

    static func options(_ request: RecordsRequest) -> RecordBatch.Options {
        RecordBatch.Options(missingFieldsOk: request.options & RecordsRequest.optionMissingFieldsOk != 0,
                            badValuesMissing: request.options & RecordsRequest.optionBadValuesMissing != 0,
                            interval: request.options & RecordsRequest.optionInterval != 0)
    }

    /// Forwards to ``ReadmitModel/explain(_:rows:k:featureIndex:contribution:)``.
    public func explainRows(_ features: UnsafeBufferPointer<Double>, rows: Int, k: Int,
                            featureIndex: UnsafeMutableBufferPointer<Int32>,
                            contribution: UnsafeMutableBufferPointer<Double>) throws(FeatureVectorError) {
        try explain(features, rows: rows, k: k, featureIndex: featureIndex, contribution: contribution)
    }
}
