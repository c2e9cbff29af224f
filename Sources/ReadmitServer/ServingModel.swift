import ReadmitCore
import ReadmitWire

/// What the daemon needs from a loaded model. `ReadmitModel` conforms; the seam keeps the
/// serving machinery independent of how models are built.
public protocol ServingModel: AnyObject, Sendable {
    /// Number of input features (columns of a feature matrix).
    var featureCount: Int { get }
    /// The 64-bit model id carried in every reply header.
    var servingVersion: UInt64 { get }
    /// The model id as 16 lowercase hex digits.
    var servingID: String { get }
    /// The INFO JSON of docs/PROTOCOL.md.
    func infoJSON() -> String
    /// Checks every value (finite or NaN; categorical values are level indices) without scoring.
    func validateRows(_ features: UnsafeBufferPointer<Double>, rows: Int) throws(FeatureVectorError)
    /// Whether the model serves an interval with each risk.
    var hasInterval: Bool { get }
    /// The risk tiers' names, by tier index (STATS reads them; not on a request's path).
    var tierNames: [String] { get }
    /// Validates and scores `rows` row-major rows into the caller-allocated outputs; with
    /// `interval`, each risk's interval too.
    func scoreRows(_ features: UnsafeBufferPointer<Double>, rows: Int,
                   risk: UnsafeMutableBufferPointer<Double>, atypicality: UnsafeMutableBufferPointer<Double>,
                   tier: UnsafeMutableBufferPointer<UInt8>,
                   interval: (low: UnsafeMutableBufferPointer<Double>, high: UnsafeMutableBufferPointer<Double>)?) throws(FeatureVectorError)
    /// Encodes raw records by the model's spec and scores them (`RECORDS`); throws for a
    /// problem of the whole request. `memo`: shared by the parts of one request scored in
    /// parts (``LevelTableMemo``), nil otherwise.
    func scoreRecords(_ request: consuming RecordsRequest, memo: LevelTableMemo?) throws(DataError) -> RecordsResult
    /// Derives the history fields of raw records holding a patient file (`HISTORY`); throws
    /// for a problem of the whole request.
    func deriveHistory(_ request: RecordsRequest) throws(DataError) -> HistoryResult
    /// Top-`k` contributions per row, padded with -1 / 0.
    func explainRows(_ features: UnsafeBufferPointer<Double>, rows: Int, k: Int,
                     featureIndex: UnsafeMutableBufferPointer<Int32>,
                     contribution: UnsafeMutableBufferPointer<Double>) throws(FeatureVectorError)
}

/// Loads the model file at a path; throws an error whose description says why it failed.
public typealias ModelLoader = @Sendable (String) throws -> any ServingModel

/// The model version as the 16 hex digits used in JSON replies.
func hexVersion(_ version: UInt64) -> String {
    let digits = String(version, radix: 16)
    return String(repeating: "0", count: max(0, 16 - digits.count)) + digits
}
