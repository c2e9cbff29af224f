import ReadmitParallel
import ReadmitFeatures
import ReadmitModels
import ReadmitSpec

/// Performance and calibration of the served risk in each subgroup the spec declares
/// (`report.subgroups`): the test patients grouped by one feature's level or band, those
/// missing it in a group of their own. Every group is reported, however small, with
/// patient-bootstrap 95% intervals of its ROC AUC and calibration-in-the-large.
public struct SubgroupEvaluation: Sendable {
    /// One group.
    public struct Group: Sendable {
        /// The level, the band (`45 to < 65`), or `missing`.
        public var name: String
        /// Encounters and events.
        public var count: Int, events: Int
        /// Observed event rate and mean predicted risk.
        public var observedRate: Double, meanPredicted: Double
        /// Wilson 95% interval of the observed rate.
        public var observedInterval: (low: Double, high: Double)
        /// ROC AUC (NaN with one outcome only) and its interval.
        public var rocAUC: Double, rocAUCInterval: (low: Double, high: Double)
        /// Calibration-in-the-large (NaN with one outcome only) and its interval.
        public var intercept: Double, interceptInterval: (low: Double, high: Double)
    }

    /// The feature.
    public var feature: String
    /// Its groups: levels (or bands) in order, then `missing` when any row lacks the feature.
    public var groups: [Group]

    /// Evaluates every declared subgroup present in `schema` (one thread per subgroup).
    public static func all(_ definitions: [SubgroupDefinition], schema: FeatureSchema, x: FeatureMatrix, risk: [Double], labels: [Bool],
                    patients: [Int], replicates: Int, seed: UInt64) -> [SubgroupEvaluation] {
        let present = definitions.filter { schema.index(of: $0.feature) != nil }
        return concurrentMap(present.count) { k in
            SubgroupEvaluation(present[k], schema: schema, x: x, risk: risk, labels: labels, patients: patients,
                               replicates: replicates, seed: seed &+ UInt64(k))
        }.compactMap { $0 }
    }

    /// Evaluates one subgroup definition; nil when the feature is not in `schema`.
    init?(_ definition: SubgroupDefinition, schema: FeatureSchema, x: FeatureMatrix, risk: [Double], labels: [Bool], patients: [Int],
          replicates: Int, seed: UInt64) {
        guard let j = schema.index(of: definition.feature) else { return nil }
        precondition(x.rows == risk.count && risk.count == labels.count && labels.count == patients.count)
        feature = definition.feature
        let spec = schema.features[j]
        var names: [String]
        var groupOf: (Double) -> Int
        if let bands = definition.bands {
            func f(_ b: Double) -> String { b == b.rounded() && abs(b) < 1e15 ? String(Int(b)) : String(b) }
            names = ["< \(f(bands[0]))"] + zip(bands, bands.dropFirst()).map { "\(f($0)) to < \(f($1))" } + [">= \(f(bands[bands.count - 1]))"]
            groupOf = { v in bands.firstIndex { v < $0 } ?? bands.count }
        } else {
            names = spec.levels
            groupOf = { v in Int(v) }
        }
        let missingGroup = names.count
        var members = [[Int]](repeating: [], count: names.count + 1)
        for r in 0..<x.rows {
            let v = x.values[r * x.columns + j]
            let g = v.isNaN ? missingGroup : groupOf(v)
            members[(0..<names.count).contains(g) ? g : missingGroup].append(r)
        }
        names.append("missing")
        if members[missingGroup].isEmpty { members.removeLast(); names.removeLast() }
        // Empty levels are dropped (a level of the training data no test patient has); small
        // ones stay, with their intervals.
        let kept = members.indices.filter { !members[$0].isEmpty }

        let orders = kept.map { members[$0].sorted { risk[$0] < risk[$1] } }
        let groupRisk = kept.map { members[$0].map { risk[$0] } }, groupLabels = kept.map { members[$0].map { labels[$0] } }
        let points = kept.indices.map { k -> (auc: Double, intercept: Double) in
            (BinaryMetrics.rocAUC(scores: groupRisk[k], labels: groupLabels[k]),
             CalibrationFit.interceptInTheLarge(probabilities: groupRisk[k], labels: groupLabels[k]))
        }
        var aucs = [[Double]](repeating: [], count: kept.count), intercepts = aucs
        var bootstrap = PatientBootstrap(patients: patients, seed: seed)
        for _ in 0..<replicates {
            let w = bootstrap.nextWeights()
            for (k, g) in kept.enumerated() {
                aucs[k].append(BinaryMetrics.weightedAUC(scores: risk, labels: labels, order: orders[k], weights: w))
                intercepts[k].append(CalibrationFit.interceptInTheLarge(probabilities: groupRisk[k], labels: groupLabels[k],
                                                                        weights: members[g].map { w[$0] }, start: points[k].intercept))
            }
        }
        groups = kept.enumerated().map { k, g in
            let rows = members[g]
            let events = rows.filter { labels[$0] }.count
            return Group(name: names[g], count: rows.count, events: events, observedRate: Double(events) / Double(rows.count),
                         meanPredicted: rows.reduce(0) { $0 + risk[$1] } / Double(rows.count),
                         observedInterval: BinaryMetrics.wilsonInterval(successes: Double(events), n: Double(rows.count)),
                         rocAUC: points[k].auc, rocAUCInterval: PatientBootstrap.interval(aucs[k]),
                         intercept: points[k].intercept, interceptInterval: PatientBootstrap.interval(intercepts[k]))
        }
    }
}
