import Foundation
import ReadmitFeatures
import ReadmitModels
import ReadmitSpec
import ReadmitTables

/// A fitted readmission model, ready to score feature vectors: the unit a model file holds
/// and the daemon serves.
///
/// For each row it returns the calibrated probability of readmission within 30 days, an
/// atypicality score (the isolation forest score as a percentile of the training cohort's
/// scores: 0.99 means more unusual than 99% of training encounters, a sign that the risk
/// estimate rests on less data like it), and a risk tier.
///
/// Immutable after loading; every method may be called from several threads at once.
public final class ReadmitModel: Sendable {
    /// The parameters that define the model (what the model file stores).
    public let parameters: ModelParameters
    /// The booster, loaded from ``ModelParameters/boosterBytes``.
    let booster: XGBoostBooster
    let forest: CompiledForest
    /// The booster's trees for scoring (XGBoost itself computes explanations).
    let trees: CompiledBooster

    /// The number of trees the booster sums (its boosting rounds kept).
    public var boosterTreeCount: Int { trees.trees }

    /// The input feature schema.
    public var schema: FeatureSchema { parameters.schema }
    /// The model id: 16 lowercase hex digits derived from the fitted parameters.
    public var modelID: String { parameters.metadata.modelID }
    /// The model version sent on the wire: ``modelID`` as a number (parsed once: every reply carries it).
    public let modelVersion: UInt64
    /// Tier names, in tier order.
    public var tierNames: [String] { parameters.tiers.map(\.name) }

    /// Per feature: the number of levels of a categorical feature, -1 for a numeric one (read
    /// once, so that validating a value does not touch the schema's strings and arrays).
    private let levelLimits: [Double]

    /// The per-row work besides the tree walks (validity, booster columns, detector score),
    /// laid out flat: the same results as the schema's, layout's and detector's own code.
    let rowWork: CompiledRowWork

    /// Whether the atypicality reference is in increasing order without NaN (as training writes
    /// it): then ``percentile(ofForestScore:)`` may search it without branches, for the same count.
    let referenceIsSorted: Bool

    /// How raw records are read (the raw fields by name, each feature's level index), prepared
    /// once: a one-row `RECORDS` request would otherwise spend most of its time rebuilding it.
    package let recordPlan: RecordPlan

    /// Rows scored per chunk: bounds the scratch memory of a large batch and keeps each chunk's
    /// input in cache while every tree walks it (the measured choice, ``TreeWalk/chunkRows``).
    static var chunkRows: Int { TreeWalk.chunkRows }

    /// Builds a model from its parameters (validating that they fit together).
    public convenience init(parameters: ModelParameters) throws(ModelFileError) {
        let booster: XGBoostBooster
        do {
            booster = try XGBoostBooster(serialized: parameters.boosterBytes)
        } catch {
            throw ModelFileError(code: .malformed, message: "the booster section cannot be loaded: \(error.message)")
        }
        try self.init(parameters: parameters, booster: booster)
    }

    /// Builds a model around a booster already in memory whose serialization is
    /// `parameters.boosterBytes` (training holds the booster it just fitted; loading it again
    /// from its bytes would only repeat XGBoost's parse). The scoring trees are still read from
    /// `parameters.boosterBytes`, so what is scored is what the model file stores; `trees`, when
    /// given, must be ``compileTrees(_:booster:)`` of those bytes (training compiles them while it
    /// computes the model id).
    package init(parameters: ModelParameters, booster: XGBoostBooster, trees compiled: CompiledBooster? = nil) throws(ModelFileError) {
        self.parameters = parameters
        modelVersion = UInt64(parameters.metadata.modelID, radix: 16) ?? 0
        levelLimits = parameters.schema.features.map { $0.kind == .categorical ? Double($0.levels.count) : -1 }
        recordPlan = RecordPlan(spec: parameters.dataset, schema: parameters.schema)
        self.booster = booster
        for (fits, part) in [(parameters.layout.fits(parameters.schema), "the input layout does not fit the feature schema"),
                             (parameters.forest.isStructurallyValid() && parameters.forest.columns == parameters.layout.width,
                              "the isolation forest is not a valid forest over the input layout"),
                             (parameters.detector.fits(parameters.schema), "the per-feature detector does not fit the feature schema"),
                             (!parameters.tiers.isEmpty, "the model has no risk tiers"),
                             (!parameters.atypicalityReference.isEmpty, "the atypicality reference is empty")] where !fits {
            throw ModelFileError(code: .malformed, message: "model parts do not fit together: \(part)")
        }
        forest = CompiledForest(forest: parameters.forest, layout: parameters.layout)
        referenceIsSorted = !parameters.atypicalityReference.contains { $0.isNaN } &&
            zip(parameters.atypicalityReference, parameters.atypicalityReference.dropFirst()).allSatisfy { $0 <= $1 }
        rowWork = CompiledRowWork(levelCounts: parameters.schema.features.map { $0.kind == .categorical ? $0.levels.count : nil },
                                  layout: parameters.layout, detector: parameters.detector)
        if let compiled { trees = compiled } else { trees = try Self.compileTrees(parameters.boosterBytes, booster: booster) }
        guard trees.maxFeatureIndex < parameters.schema.count + 2 else {
            throw ModelFileError(code: .malformed, message: "the booster reads a feature beyond its input width")
        }
        // Warm up (and prove) the whole path on an all-missing row before the model is served.
        let risk: Double
        do {
            risk = try score(FeatureMatrix(rows: 1, columns: parameters.schema.count,
                                           values: [Double](repeating: .nan, count: parameters.schema.count))).risk[0]
        } catch {
            throw ModelFileError(code: .malformed, message: "the model cannot score an all-missing row: \(error.message)")
        }
        guard risk.isFinite, risk >= 0, risk <= 1 else {
            throw ModelFileError(code: .malformed, message: "the model gives an invalid risk (\(risk)) for an all-missing row")
        }
    }

    /// The scoring trees of a booster serialized as `boosterBytes`: the stored UBJSON is read
    /// directly (a JSON dump through XGBoost and its parse cost more than the rest of loading);
    /// anything else goes through XGBoost's JSON.
    package static func compileTrees(_ boosterBytes: [UInt8], booster: XGBoostBooster) throws(ModelFileError) -> CompiledBooster {
        do {
            return try CompiledBooster(json: XGBoostTreeJSON.isUBJSON(boosterBytes) ? boosterBytes : try booster.jsonModel())
        } catch {
            throw ModelFileError(code: .malformed, message: "the booster's trees cannot be read: \(error)")
        }
    }

    /// Loads and validates a model file.
    public static func load(path: String) throws(ModelFileError) -> ReadmitModel {
        try ReadmitModel(parameters: ModelFile.read(path: path))
    }

    /// Checks every value: finite or NaN; categorical values NaN or a level index.
    public func validate(_ features: UnsafeBufferPointer<Double>, rows: Int) throws(FeatureVectorError) {
        let m = schema.count
        guard features.count == rows * m else {
            throw FeatureVectorError(code: .shape, message: "feature matrix has \(features.count) values; \(rows) rows x \(m) features needs \(rows * m)")
        }
        // Most rows are valid: one branch-free pass says so; only then is each value looked at
        // to say which is not, and why.
        if let base = features.baseAddress, rowWork.allValid(base, rows: rows) { return }
        let specs = schema.features, limits = levelLimits
        for r in 0..<rows {
            for j in 0..<m {
                let v = features[r * m + j]
                if v.isNaN { continue }
                if !v.isFinite {
                    throw FeatureVectorError(code: .notFinite, row: r, feature: j,
                                             message: "row \(r), feature '\(specs[j].name)' (index \(j)): value is infinite; only NaN may stand for missing")
                }
                let limit = limits[j]
                if limit >= 0 && (v < 0 || v >= limit || v != v.rounded(.down)) {
                    throw FeatureVectorError(code: .badCategory, row: r, feature: j,
                                             message: "row \(r), feature '\(specs[j].name)' (index \(j)): not a level index (expected an integer in 0..<\(specs[j].levels.count))")
                }
            }
        }
    }

    /// Whether the model serves an interval with each risk (models trained before intervals
    /// existed do not).
    public var hasInterval: Bool { parameters.vennAbers != nil }

    /// Validates then scores `rows` row-major feature vectors into the caller's buffers; with
    /// `interval`, also each risk's Venn-Abers interval (NaN when the model has none). `walk`
    /// picks the tree walk (every walk gives the same bits; benchmarks and tests compare them),
    /// `chunkRows` the rows scored per chunk.
    public func score(_ features: UnsafeBufferPointer<Double>, rows: Int,
                      risk: UnsafeMutableBufferPointer<Double>, atypicality: UnsafeMutableBufferPointer<Double>,
                      tier: UnsafeMutableBufferPointer<UInt8>,
                      interval: (low: UnsafeMutableBufferPointer<Double>, high: UnsafeMutableBufferPointer<Double>)? = nil,
                      walk: TreeWalk = .selected, chunkRows: Int = TreeWalk.chunkRows) throws(FeatureVectorError) {
        try validate(features, rows: rows)
        guard risk.count >= rows, atypicality.count >= rows, tier.count >= rows,
              (interval.map { $0.low.count >= rows && $0.high.count >= rows } ?? true) else {
            throw FeatureVectorError(code: .shape, message: "output buffers hold fewer than \(rows) rows")
        }
        // Read only when asked for: a copy of the calibrator retains and releases each of its
        // arrays, a dozen atomic operations on lines a lone request finds cold.
        let vennAbers = interval == nil ? nil : parameters.vennAbers
        try forEachChunk(features, rows: rows, kind: .margin, walk: walk, chunkRows: chunkRows) { start, count, input, output in
            for i in 0..<count {
                let p = parameters.calibrator.probability(margin: output[i])
                risk[start + i] = p
                atypicality[start + i] = percentile(ofForestScore: input[i * boosterWidth + boosterWidth - 2])
                tier[start + i] = tierIndex(p)
            }
            if let interval {
                for i in 0..<count {
                    let range = vennAbers?.interval(margin: output[i]) ?? (.nan, .nan)
                    interval.low[start + i] = range.low
                    interval.high[start + i] = range.high
                }
            }
        }
    }

    /// Scores of every row of a schema-order matrix.
    public struct Scores: Sendable {
        /// Calibrated risk per row.
        public var risk: [Double]
        /// Atypicality per row.
        public var atypicality: [Double]
        /// Tier index per row (see ``tierNames``).
        public var tier: [UInt8]
        /// The Venn-Abers interval of each risk (NaN when the model has none).
        public var intervalLow: [Double], intervalHigh: [Double]
    }

    /// Validates then scores every row of `matrix` (schema order); with `interval`, also each
    /// risk's interval (else the interval arrays are NaN: the search is not paid for unasked).
    public func score(_ matrix: FeatureMatrix, interval: Bool = true, walk: TreeWalk = .selected) throws(FeatureVectorError) -> Scores {
        let zeros = [Double](repeating: 0, count: matrix.rows)
        let nans = [Double](repeating: .nan, count: matrix.rows)
        var out = Scores(risk: zeros, atypicality: zeros, tier: [UInt8](repeating: 0, count: matrix.rows),
                         intervalLow: interval ? zeros : nans, intervalHigh: interval ? zeros : nans)
        try matrix.values.withUnsafeBufferPointer { f throws(FeatureVectorError) in
            try out.risk.withUnsafeMutableBufferPointer { r throws(FeatureVectorError) in
                try out.atypicality.withUnsafeMutableBufferPointer { a throws(FeatureVectorError) in
                    try out.tier.withUnsafeMutableBufferPointer { t throws(FeatureVectorError) in
                        try out.intervalLow.withUnsafeMutableBufferPointer { lo throws(FeatureVectorError) in
                            try out.intervalHigh.withUnsafeMutableBufferPointer { hi throws(FeatureVectorError) in
                                try score(f, rows: matrix.rows, risk: r, atypicality: a, tier: t, interval: interval ? (lo, hi) : nil, walk: walk)
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// Validates `matrix` (schema order) and returns the booster's margin of every row: what the
    /// calibrator turns into a risk (`readmit recalibrate` refits the calibrator on them).
    public func margins(_ matrix: FeatureMatrix) throws(FeatureVectorError) -> [Double] {
        var out = [Double](repeating: 0, count: matrix.rows)
        try matrix.values.withUnsafeBufferPointer { f throws(FeatureVectorError) in
            try validate(f, rows: matrix.rows)
            try forEachChunk(f, rows: matrix.rows, kind: .margin) { start, count, _, output in
                for i in 0..<count { out[start + i] = output[i] }
            }
        }
        return out
    }

    /// Top-`k` schema features per row by absolute contribution to the risk's log-odds (SHAP
    /// values of the booster, whose columns are the schema features plus the two anomaly scores;
    /// the anomaly scores are not input features and are left out). Rows with fewer
    /// than `k` non-zero contributions are padded with index -1 and contribution 0.
    public func explain(_ features: UnsafeBufferPointer<Double>, rows: Int, k: Int,
                        featureIndex: UnsafeMutableBufferPointer<Int32>, contribution: UnsafeMutableBufferPointer<Double>) throws(FeatureVectorError) {
        guard k >= 1 else { throw FeatureVectorError(code: .badArgument, message: "k must be at least 1 (got \(k))") }
        try validate(features, rows: rows)
        guard featureIndex.count >= rows * k, contribution.count >= rows * k else {
            throw FeatureVectorError(code: .shape, message: "output buffers hold fewer than \(rows) x \(k) values")
        }
        let m = schema.count
        var perFeature = [Double](repeating: 0, count: m)
        var order = Array(0..<m)
        try forEachChunk(features, rows: rows, kind: .contributions) { start, count, _, output in
            let stride = boosterWidth + 1
            for i in 0..<count {
                // Booster column j is schema feature j; the last three are the two anomaly scores
                // and the bias, which are not input features.
                for j in 0..<m { perFeature[j] = output[i * stride + j] }
                for j in 0..<m { order[j] = j }
                order.sort { abs(perFeature[$0]) != abs(perFeature[$1]) ? abs(perFeature[$0]) > abs(perFeature[$1]) : $0 < $1 }
                for t in 0..<k {
                    let o = (start + i) * k + t
                    if t < m && perFeature[order[t]] != 0 {
                        featureIndex[o] = Int32(order[t]); contribution[o] = perFeature[order[t]]
                    } else {
                        featureIndex[o] = -1; contribution[o] = 0
                    }
                }
            }
        }
    }

    /// Per-feature terms of the histogram detector for one valid row: which values make the
    /// record unusual (larger is more unusual), in schema order.
    public func atypicalityTerms(_ row: UnsafeBufferPointer<Double>) -> [Double] {
        (0..<schema.count).map { parameters.detector.contribution(feature: $0, value: row[$0]) }
    }

    /// Raw isolation-forest scores (2^(-E[h]/c(256)), before the percentile) of valid rows: the
    /// forest alone, as the scoring benchmark and the report measure it.
    public func isolationForestScores(_ features: UnsafeBufferPointer<Double>, rows: Int, walk: TreeWalk = .selected,
                                      chunkRows: Int = TreeWalk.chunkRows) throws(FeatureVectorError) -> [Double] {
        try validate(features, rows: rows)
        guard let base = features.baseAddress else { return [] }
        let block = min(rows, max(8, chunkRows))
        let scratch = UnsafeMutablePointer<Double>.allocate(capacity: max(block, 1) * schema.count)
        defer { scratch.deallocate() }
        var out = [Double](repeating: 0, count: rows)
        out.withUnsafeMutableBufferPointer { o in
            guard let ob = o.baseAddress else { return }
            var start = 0
            while start < rows {
                let count = min(block, rows - start)
                forest.score(rows: base + start * schema.count, count: count, scratch: scratch, into: ob + start, walk: walk, chunkRows: block)
                start += count
            }
        }
        return out
    }

    /// The booster's input rows of valid schema rows (each row's features in the layout's
    /// order, then its isolation forest and detector scores): what the tree walks read, for
    /// benchmarks and tests of the walks alone.
    package func boosterInput(_ features: UnsafeBufferPointer<Double>, rows: Int) throws(FeatureVectorError) -> [Double] {
        let forestScores = try isolationForestScores(features, rows: rows, walk: .scalar)
        guard let base = features.baseAddress else { return [] }
        let width = boosterWidth, m = schema.count
        var input = [Double](repeating: 0, count: rows * width)
        input.withUnsafeMutableBufferPointer { out in
            guard let dst = out.baseAddress else { return }
            for i in 0..<rows {
                let row = base + i * m
                parameters.layout.boosterRow(row, into: dst + i * width)
                dst[i * width + width - 2] = forestScores[i]
                dst[i * width + width - 1] = parameters.detector.score(row)
            }
        }
        return input
    }

    /// The booster's margins of `rows` booster input rows (``boosterInput(_:rows:)``) by `walk`.
    package func treeMargins(_ input: UnsafeBufferPointer<Double>, rows: Int, walk: TreeWalk,
                             chunkRows: Int = TreeWalk.chunkRows) -> [Double] {
        var out = [Double](repeating: 0, count: rows)
        guard let x = input.baseAddress, input.count >= rows * boosterWidth else { return out }
        out.withUnsafeMutableBufferPointer { o in
            if let ob = o.baseAddress { trees.margins(x, count: rows, columns: boosterWidth, into: ob, walk: walk, chunkRows: chunkRows) }
        }
        return out
    }

    /// The booster's input width: one column per schema feature plus the two anomaly scores.
    package var boosterWidth: Int { parameters.schema.count + 2 }

    /// Builds the booster input for chunks of rows and runs one prediction per chunk.
    /// `body(start, count, boosterInput, prediction)`.
    private func forEachChunk(_ features: UnsafeBufferPointer<Double>, rows: Int, kind: XGBoostBooster.PredictionKind,
                              walk: TreeWalk = .selected, chunkRows: Int = TreeWalk.chunkRows,
                              _ body: (Int, Int, UnsafePointer<Double>, UnsafePointer<Double>) -> Void) throws(FeatureVectorError) {
        guard rows > 0, let base = features.baseAddress else { return }
        let m = schema.count, width = boosterWidth, rowWork = rowWork
        let chunk = min(rows, max(8, chunkRows))
        let outWidth = kind == .contributions ? width + 1 : 1
        // One area for the four scratch areas: on the stack when small (a one-row request
        // noticed each malloc), else the heap.
        try withUnsafeTemporaryAllocation(of: Double.self, capacity: chunk * (width + m + 1 + outWidth)) { (area) throws(FeatureVectorError) in
            guard let buffer = area.baseAddress else { return }
            let input = buffer, scratch = buffer + chunk * width
            let forestScores = scratch + chunk * m, output = forestScores + chunk
            var start = 0
            while start < rows {
                let count = min(chunk, rows - start)
                forest.score(rows: base + start * m, count: count, scratch: scratch, into: forestScores, walk: walk, chunkRows: chunk)
                rowWork.boosterRows(base + start * m, count: count, into: input, stride: width, walk: walk)
                for i in 0..<count { input[i * width + width - 2] = forestScores[i] }
                rowWork.detectorScores(base + start * m, count: count, into: input + width - 1, outStride: width, walk: walk)
                if kind == .margin {
                    trees.margins(input, count: count, columns: width, into: output, walk: walk, chunkRows: chunk)
                } else {
                    do throws(BoosterError) {
                        try booster.predict(input, rows: count, columns: width, kind: kind, into: output)
                    } catch {
                        throw FeatureVectorError(code: .badArgument, message: "prediction failed: \(error.message)")
                    }
                }
                body(start, count, input, output)
                start += count
            }
        }
    }

    /// The isolation-forest score as the share of training encounters with a lower score.
    @inline(__always)
    func percentile(ofForestScore s: Double) -> Double {
        let ref = parameters.atypicalityReference
        if referenceIsSorted {
            // The same count without a branch per step (which the score's bits mispredict half
            // the time): lower_bound's halving with a conditional move.
            return ref.withUnsafeBufferPointer { r in
                var base = 0, length = r.count
                while length > 1 {
                    let half = length / 2
                    base = r[base + half] < s ? base + half : base
                    length -= half
                }
                return Double(base + (r[base] < s ? 1 : 0)) / Double(r.count)
            }
        }
        var lo = 0, hi = ref.count
        while lo < hi { let mid = (lo + hi) / 2; if ref[mid] < s { lo = mid + 1 } else { hi = mid } }
        return Double(lo) / Double(ref.count)
    }

    /// The index (in ``tierNames``) of the tier risk `p` falls in: the last whose lowest risk it reaches.
    public func tier(ofRisk p: Double) -> Int { Int(tierIndex(p)) }

    @inline(__always)
    func tierIndex(_ p: Double) -> UInt8 {
        var t = 0
        for (i, tier) in parameters.tiers.enumerated() where p >= tier.minRisk { t = i }
        return UInt8(t)
    }
}
