import CXGBoost
import Foundation
import ReadmitFeatures
import ReadmitSpec
import ReadmitTables

/// An error from the XGBoost C library.
public struct BoosterError: Error, Sendable, CustomStringConvertible {
    /// What was being done.
    public var operation: String
    /// XGBoost's last error message.
    public var message: String
    /// `operation: message`.
    public var description: String { "XGBoost \(operation): \(message)" }

    /// Creates an error.
    public init(operation: String, message: String) {
        self.operation = operation
        self.message = message
    }
}

/// A thin owner of an XGBoost booster handle (Debian's libxgboost 1.7, C API).
///
/// Every training parameter is set explicitly because defaults differ between XGBoost
/// releases. Prediction uses in-place prediction from dense row-major doubles with
/// `cache_id: 0`, which XGBoost allows from several threads on one booster.
public final class XGBoostBooster: @unchecked Sendable {
    // @unchecked: the handle is only mutated during training (one thread); afterwards it is
    // used read-only through in-place prediction, which XGBoost documents as thread-safe.
    let handle: BoosterHandle
    private let contributionLock = NSLock()

    @inline(__always)
    static func check(_ rc: Int32, _ operation: String) throws(BoosterError) {
        if rc != 0 { throw BoosterError(operation: operation, message: String(cString: XGBGetLastError())) }
    }

    /// A JSON array-interface description of `rows x columns` doubles at `pointer`.
    static func arrayInterface(_ pointer: UnsafePointer<Double>, rows: Int, columns: Int) -> String {
        "{\"data\":[\(UInt(bitPattern: pointer)),true],\"shape\":[\(rows),\(columns)],\"typestr\":\"<f8\",\"version\":3}"
    }

    /// A DMatrix owning a copy of the data.
    final class DMatrix {
        let handle: DMatrixHandle
        init(_ data: FeatureMatrix, labels: [Float]?, threads: Int) throws(BoosterError) {
            var h: DMatrixHandle?
            let rc = data.values.withUnsafeBufferPointer { buf -> Int32 in
                guard let base = buf.baseAddress else { return -1 }
                let iface = XGBoostBooster.arrayInterface(base, rows: data.rows, columns: data.columns)
                return XGDMatrixCreateFromDense(iface, "{\"missing\": NaN, \"nthread\": \(threads)}", &h)
            }
            try XGBoostBooster.check(rc, "create DMatrix")
            guard let h else { throw BoosterError(operation: "create DMatrix", message: "no handle") }
            handle = h
            if let labels {
                try XGBoostBooster.check(labels.withUnsafeBufferPointer { XGDMatrixSetFloatInfo(h, "label", $0.baseAddress, bst_ulong(labels.count)) }, "set labels")
            }
        }
        deinit { XGDMatrixFree(handle) }
    }

    /// The result of training with early stopping.
    public struct TrainingTrace: Sendable {
        /// Validation log loss after each round.
        public var validationLogLoss: [Double]
        /// The round count kept (best validation log loss).
        public var bestRounds: Int
    }

    /// Trains a booster on `train` for exactly `rounds` rounds, with no evaluation set: for a
    /// refit whose round count was chosen beforehand on other patients, so that no patient
    /// outside `train` (in particular none of the calibration patients) takes part in choosing it.
    public static func train(train: FeatureMatrix, labels: [Bool], parameters: [(String, String)], rounds: Int,
                             threads: Int) throws(BoosterError) -> XGBoostBooster {
        let dtrain = try DMatrix(train, labels: labels.map { $0 ? 1 : 0 }, threads: threads)
        var h: BoosterHandle?
        var matrices: [DMatrixHandle?] = [dtrain.handle]
        try check(matrices.withUnsafeMutableBufferPointer { XGBoosterCreate($0.baseAddress, 1, &h) }, "create booster")
        guard let h else { throw BoosterError(operation: "create booster", message: "no handle") }
        let booster = XGBoostBooster(handle: h)
        for (k, v) in parameters { try check(XGBoosterSetParam(h, k, v), "set \(k)") }
        try check(XGBoosterSetParam(h, "nthread", String(threads)), "set nthread")
        for round in 0..<max(rounds, 1) {
            try check(XGBoosterUpdateOneIter(h, Int32(round), dtrain.handle), "update")
        }
        try booster.setThreads(1)
        return booster
    }

    /// Trains a booster on `train`, stopping when the validation log loss has not improved for
    /// `patience` rounds, and keeps the best rounds.
    public static func train(train: FeatureMatrix, labels: [Bool], validation: FeatureMatrix, validationLabels: [Bool],
                             parameters: [(String, String)], maxRounds: Int, patience: Int, threads: Int,
                             progress: ((Int, Double) -> Void)? = nil) throws(BoosterError) -> (XGBoostBooster, TrainingTrace) {
        let dtrain = try DMatrix(train, labels: labels.map { $0 ? 1 : 0 }, threads: threads)
        let dvalid = try DMatrix(validation, labels: validationLabels.map { $0 ? 1 : 0 }, threads: threads)
        var h: BoosterHandle?
        var matrices: [DMatrixHandle?] = [dtrain.handle, dvalid.handle]
        try check(matrices.withUnsafeMutableBufferPointer { XGBoosterCreate($0.baseAddress, 2, &h) }, "create booster")
        guard let h else { throw BoosterError(operation: "create booster", message: "no handle") }
        let booster = XGBoostBooster(handle: h)
        for (k, v) in parameters { try check(XGBoosterSetParam(h, k, v), "set \(k)") }
        try check(XGBoosterSetParam(h, "nthread", String(threads)), "set nthread")
        var losses: [Double] = []
        var best = Double.infinity, bestRound = 0
        var evalHandles: [DMatrixHandle?] = [dvalid.handle]
        var evalNames: [UnsafePointer<CChar>?] = []
        let validName = strdup("valid")
        defer { free(validName) }
        evalNames.append(UnsafePointer(validName))
        for round in 0..<maxRounds {
            try check(XGBoosterUpdateOneIter(h, Int32(round), dtrain.handle), "update")
            var out: UnsafePointer<CChar>?
            try check(evalHandles.withUnsafeMutableBufferPointer { hs in
                evalNames.withUnsafeMutableBufferPointer { ns in XGBoosterEvalOneIter(h, Int32(round), hs.baseAddress, ns.baseAddress, 1, &out) }
            }, "evaluate")
            // The result reads "[round]\tvalid-logloss:0.123".
            let text = out.map { String(cString: $0) } ?? ""
            let loss = text.split(separator: ":").last.flatMap { Double($0.trimmingCharacters(in: .whitespaces)) } ?? .nan
            losses.append(loss)
            progress?(round, loss)
            if loss < best - 1e-7 { best = loss; bestRound = round + 1 }
            if round + 1 - bestRound >= patience { break }
        }
        // Tree boosters keep their best rounds; a linear booster (which XGBoost cannot slice) is
        // one model whatever the round count, and keeps its last state.
        let kept = isTreeBooster(parameters) ? try booster.slice(rounds: bestRound) : booster
        try kept.setThreads(1)
        return (kept, TrainingTrace(validationLogLoss: losses, bestRounds: bestRound))
    }

    static func isTreeBooster(_ parameters: [(String, String)]) -> Bool {
        parameters.last { $0.0 == "booster" }?.1 ?? "gbtree" != "gblinear"
    }

    init(handle: BoosterHandle) { self.handle = handle }

    /// Loads a booster saved by ``serialized()``.
    public init(serialized bytes: [UInt8]) throws(BoosterError) {
        var h: BoosterHandle?
        try Self.check(XGBoosterCreate(nil, 0, &h), "create booster")
        guard let h else { throw BoosterError(operation: "create booster", message: "no handle") }
        handle = h
        try Self.check(bytes.withUnsafeBytes { XGBoosterLoadModelFromBuffer(h, $0.baseAddress, bst_ulong(bytes.count)) }, "load model")
        try setThreads(1)
    }

    /// A booster with no trees (XGBoost's defaults), for a caller that scores with compiled trees
    /// only and never asks XGBoost to predict: the model-file fuzz target builds every model
    /// around one, so that what it exercises is readmit's code, not XGBoost's model parser.
    package static func untrained() throws(BoosterError) -> XGBoostBooster {
        var h: BoosterHandle?
        try check(XGBoosterCreate(nil, 0, &h), "create booster")
        guard let h else { throw BoosterError(operation: "create booster", message: "no handle") }
        return XGBoostBooster(handle: h)
    }

    deinit { XGBoosterFree(handle) }

    /// Sets the number of threads prediction may use (1 for serving threads).
    public func setThreads(_ n: Int) throws(BoosterError) {
        try Self.check(XGBoosterSetParam(handle, "nthread", String(n)), "set nthread")
    }

    /// The rounds the booster holds (one tree per round for binary logistic boosting).
    public func boostedRounds() throws(BoosterError) -> Int {
        var out: Int32 = 0
        try Self.check(XGBoosterBoostedRounds(handle, &out), "count rounds")
        return Int(out)
    }

    /// A new booster with the first `rounds` rounds.
    func slice(rounds: Int) throws(BoosterError) -> XGBoostBooster {
        var out: BoosterHandle?
        try Self.check(XGBoosterSlice(handle, 0, Int32(max(rounds, 1)), 1, &out), "slice")
        guard let out else { throw BoosterError(operation: "slice", message: "no handle") }
        return XGBoostBooster(handle: out)
    }

    /// The model in XGBoost's universal binary JSON format.
    public func serialized() throws(BoosterError) -> [UInt8] {
        var length: bst_ulong = 0
        var data: UnsafePointer<CChar>?
        try Self.check(XGBoosterSaveModelToBuffer(handle, "{\"format\": \"ubj\"}", &length, &data), "save model")
        guard let data else { return [] }
        return data.withMemoryRebound(to: UInt8.self, capacity: Int(length)) { Array(UnsafeBufferPointer(start: $0, count: Int(length))) }
    }

    /// The model as XGBoost's JSON (the trees ``CompiledBooster`` reads).
    public func jsonModel() throws(BoosterError) -> [UInt8] {
        var length: bst_ulong = 0
        var data: UnsafePointer<CChar>?
        try Self.check(XGBoosterSaveModelToBuffer(handle, "{\"format\": \"json\"}", &length, &data), "save model as JSON")
        guard let data else { return [] }
        return data.withMemoryRebound(to: UInt8.self, capacity: Int(length)) { Array(UnsafeBufferPointer(start: $0, count: Int(length))) }
    }

    /// What ``predict(_:rows:columns:kind:into:)`` computes.
    public enum PredictionKind: Int, Sendable {
        /// Probability (after the logistic link).
        case probability = 0
        /// Raw margin (log-odds).
        case margin = 1
        /// SHAP contributions: `columns + 1` values per row (the last is the bias).
        case contributions = 2
    }

    /// In-place prediction on `rows x columns` row-major doubles (NaN missing). Thread-safe.
    public func predict(_ data: UnsafePointer<Double>, rows: Int, columns: Int, kind: PredictionKind,
                        into out: UnsafeMutablePointer<Double>) throws(BoosterError) {
        if rows == 0 { return }
        if kind == .contributions {
            // XGBoost 1.7 computes SHAP values only through a DMatrix; that path configures the
            // learner, so it is serialised.
            let copy = FeatureMatrix(rows: rows, columns: columns, values: Array(UnsafeBufferPointer(start: data, count: rows * columns)))
            contributionLock.lock()
            defer { contributionLock.unlock() }
            let values = try predictViaDMatrix(copy, kind: .contributions)
            guard values.count == rows * (columns + 1) else {
                throw BoosterError(operation: "predict", message: "unexpected contribution shape (\(values.count) values)")
            }
            for i in 0..<values.count { out[i] = values[i] }
            return
        }
        let iface = Self.arrayInterface(data, rows: rows, columns: columns)
        let config = "{\"type\": \(kind.rawValue), \"training\": false, \"iteration_begin\": 0, \"iteration_end\": 0, \"strict_shape\": false, \"cache_id\": 0, \"missing\": NaN}"
        var shape: UnsafePointer<bst_ulong>?
        var dim: bst_ulong = 0
        var result: UnsafePointer<Float>?
        try Self.check(XGBoosterPredictFromDense(handle, iface, config, nil, &shape, &dim, &result), "predict")
        let expected = kind == .contributions ? rows * (columns + 1) : rows
        guard let result, let shape else { throw BoosterError(operation: "predict", message: "no result") }
        var total = 1
        for d in 0..<Int(dim) { total *= Int(shape[d]) }
        guard total == expected else { throw BoosterError(operation: "predict", message: "unexpected result shape (\(total) values, expected \(expected))") }
        for i in 0..<expected { out[i] = Double(result[i]) }
    }

    /// Prediction through a DMatrix copy of the data: the path for linear boosters, which
    /// XGBoost cannot predict in place.
    public func predictViaDMatrix(_ data: FeatureMatrix, kind: PredictionKind) throws(BoosterError) -> [Double] {
        let matrix = try DMatrix(data, labels: nil, threads: 1)
        let config = "{\"type\": \(kind.rawValue), \"training\": false, \"iteration_begin\": 0, \"iteration_end\": 0, \"strict_shape\": false}"
        var shape: UnsafePointer<bst_ulong>?
        var dim: bst_ulong = 0
        var result: UnsafePointer<Float>?
        try Self.check(XGBoosterPredictFromDMatrix(handle, matrix.handle, config, &shape, &dim, &result), "predict")
        guard let result, let shape else { throw BoosterError(operation: "predict", message: "no result") }
        var total = 1
        for d in 0..<Int(dim) { total *= Int(shape[d]) }
        return (0..<total).map { Double(result[$0]) }
    }

    /// Prediction over a whole matrix.
    public func predict(_ data: FeatureMatrix, kind: PredictionKind) throws(BoosterError) -> [Double] {
        let width = kind == .contributions ? data.columns + 1 : 1
        var out = [Double](repeating: 0, count: data.rows * width)
        try data.values.withUnsafeBufferPointer { (x: UnsafeBufferPointer<Double>) throws(BoosterError) in
            try out.withUnsafeMutableBufferPointer { (o: inout UnsafeMutableBufferPointer<Double>) throws(BoosterError) in
                guard let xb = x.baseAddress, let ob = o.baseAddress else { return }
                try predict(xb, rows: data.rows, columns: data.columns, kind: kind, into: ob)
            }
        }
        return out
    }
}
