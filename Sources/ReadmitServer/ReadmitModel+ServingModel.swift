import ReadmitCore
import ReadmitModelInfo
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
    public func scoreRecords(_ request: consuming RecordsRequest, memo: LevelTableMemo?) throws(DataError) -> RecordsResult {
        let rows = request.rows, k = request.k, options = Self.options(request)
        let (columns, emptied) = Self.columns(request)
        let result = try scoreRecords(columns: columns, rows: rows, k: k, options: options, memo: memo)
        // The emptied request is freed after the reply too (each of its elements goes through
        // the runtime's generic destroy: about 100 instructions a column).
        result.retired?.keep(emptied)
        return result
    }

    /// Forwards to ``ReadmitModel/deriveHistory(columns:rows:options:)`` with the wire's columns.
    public func deriveHistory(_ request: RecordsRequest) throws(DataError) -> HistoryResult {
        try deriveHistory(columns: Self.columns(request).columns, rows: request.rows, options: Self.options(request))
    }

    /// The request's columns as the tables' type, each moved out of the request (which the
    /// call consumes) rather than copied: a copy retained each column's name and arrays, and
    /// the request's end released them again, a few hundred atomic operations for a raw
    /// encounter's 54 columns. Each element is moved out of the array's buffer and an empty
    /// column (no object to count) left in its place; a buffer still shared with another
    /// owner is copied first by `withUnsafeMutableBufferPointer`, so the result is the same
    /// either way. (`map`, `reverse()` and `swapAt` all copy elements.)
    /// Also returns the request's emptied column list, for the caller to free when it likes.
    static func columns(_ request: consuming RecordsRequest) -> (columns: [(name: String, column: RecordColumn)],
                                                                 emptied: [(name: String, column: RecordsRequest.Column)]) {
        var wire = request.columns
        request.columns = []
        var columns: [(name: String, column: RecordColumn)] = []
        columns.reserveCapacity(wire.count)
        wire.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            for i in 0..<buffer.count {
                let (name, column) = (base + i).move()
                (base + i).initialize(to: ("", .numbers([])))
                switch consume column {
                case .numbers(let v): columns.append((name, .numbers(v)))
                case .texts(let values, let codes): columns.append((name, .texts(values: values, codes: codes)))
                }
            }
        }
        return (columns, wire)
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
