import ReadmitParallel
import ReadmitFeatures
import ReadmitModels
import ReadmitSpec
import ReadmitTables

/// Performance and calibration of the served risk in each subgroup the spec declares
/// (`report.subgroups`): the test patients grouped by one feature's level or band, or by the
/// texts (or bands) of a column the model need not read, those missing it in a group of their
/// own. Every group is reported, however small, with
/// patient-bootstrap 95% intervals of its ROC AUC and calibration-in-the-large, and what the
/// model's tiers flag in it (``TierFlag``).
public struct SubgroupEvaluation: Sendable {
    /// What acting on one tier and those above it (risk >= its lowest risk) does in a group:
    /// the share of its stays flagged, the share of its readmissions flagged (sensitivity: a
    /// group whose sensitivity is well below another's has its readmissions missed more often,
    /// the "equal opportunity" question) and the share of its flagged stays readmitted
    /// (positive predictive value: what a flag means for its patients), each with a Wilson 95%
    /// interval whose sample size is adjusted for patients' repeated stays.
    public struct TierFlag: Sendable {
        /// The tier's name and its lowest risk.
        public var tier: String, threshold: Double
        /// Stays at or above the threshold, and their share of the group's.
        public var flagged: Int, flaggedShare: Double
        /// Flagged readmissions over readmissions (NaN: none), with its interval.
        public var sensitivity: Double, sensitivityInterval: (low: Double, high: Double)
        /// Readmissions among the flagged (NaN: none flagged), with its interval.
        public var ppv: Double, ppvInterval: (low: Double, high: Double)

        /// The flag at `threshold` over the rows of one group.
        init(tier: String, threshold: Double, rows: [Int], risk: [Double], labels: [Bool], patients: [Int]) {
            self.tier = tier
            self.threshold = threshold
            let flaggedRows = rows.filter { risk[$0] >= threshold }
            let eventRows = rows.filter { labels[$0] }
            flagged = flaggedRows.count
            flaggedShare = rows.isEmpty ? .nan : Double(flaggedRows.count) / Double(rows.count)
            let none = (low: Double.nan, high: Double.nan)
            let caught = eventRows.map { risk[$0] >= threshold }
            sensitivity = eventRows.isEmpty ? .nan : Double(caught.filter { $0 }.count) / Double(eventRows.count)
            sensitivityInterval = eventRows.isEmpty ? none
                : BinaryMetrics.clusteredWilsonInterval(labels: caught, clusters: eventRows.map { patients[$0] })
            let readmitted = flaggedRows.map { labels[$0] }
            ppv = flaggedRows.isEmpty ? .nan : Double(readmitted.filter { $0 }.count) / Double(flaggedRows.count)
            ppvInterval = flaggedRows.isEmpty ? none
                : BinaryMetrics.clusteredWilsonInterval(labels: readmitted, clusters: flaggedRows.map { patients[$0] })
        }
    }

    /// One group.
    public struct Group: Sendable {
        /// The level, the band (`45 to < 65`), or `missing`.
        public var name: String
        /// Encounters, events and distinct patients.
        public var count: Int, events: Int, patients: Int
        /// Observed event rate and mean predicted risk.
        public var observedRate: Double, meanPredicted: Double
        /// Wilson 95% interval of the observed rate, its sample size adjusted for patients'
        /// repeated stays (``BinaryMetrics/clusteredWilsonInterval(labels:clusters:z:)``).
        public var observedInterval: (low: Double, high: Double)
        /// ROC AUC (NaN with one outcome only) and its interval.
        public var rocAUC: Double, rocAUCInterval: (low: Double, high: Double)
        /// Calibration-in-the-large (NaN with one outcome only) and its interval.
        public var intercept: Double, interceptInterval: (low: Double, high: Double)
        /// The flag of each tier above the lowest, in the model's order.
        public var atTiers: [TierFlag] = []
    }

    /// The feature's or the column's name.
    public var name: String
    /// Whether the groups are a column's values (a column the model need not read) rather
    /// than a feature's.
    public var isColumn: Bool
    /// The column's table (nil for a feature, or the encounter table).
    public var table: TableRole?
    /// Its groups: levels (or bands) in order, then `missing` when any row lacks the feature.
    public var groups: [Group]

    /// Evaluates every declared subgroup present in `schema` or in `columns` (one thread per
    /// subgroup). `tableRows` gives each evaluated row's encounter-table row, where `columns`
    /// are read. `tiers` are the model's, lowest first: each one above the lowest gets its
    /// ``TierFlag`` in every group.
    public static func all(_ definitions: [SubgroupDefinition], schema: FeatureSchema, x: FeatureMatrix,
                           columns: [SubgroupColumn] = [], tableRows: [Int] = [], risk: [Double], labels: [Bool],
                           patients: [Int], tiers: [(name: String, minRisk: Double)] = [], replicates: Int, seed: UInt64) -> [SubgroupEvaluation] {
        let present: [(definition: SubgroupDefinition, column: SubgroupColumn?)] = definitions.enumerated().compactMap { k, d in
            if d.feature != nil { return schema.index(of: d.name) != nil ? (d, nil) : nil }
            return columns.first { $0.index == k }.map { (d, $0) }
        }
        return concurrentMap(present.count) { k in
            SubgroupEvaluation(present[k].definition, column: present[k].column, schema: schema, x: x, tableRows: tableRows, risk: risk,
                               labels: labels, patients: patients, tiers: tiers, replicates: replicates, seed: seed &+ UInt64(k))
        }.compactMap { $0 }
    }

    /// Below this many readmissions a group's figures are too uncertain to summarise (the
    /// model card leaves it out of its ranges; `readmit check` names it).
    public static let smallGroupEvents = 20

    /// Each declared subgroup's groups over the given rows, with their encounters and events,
    /// without the figures: what `readmit check` shows before training (the report's groups,
    /// the same way assigned). Empty groups are left out, the missing last, as in the report.
    public static func sizes(_ definitions: [SubgroupDefinition], schema: FeatureSchema, x: FeatureMatrix, columns: [SubgroupColumn],
                             tableRows: [Int], labels: [Bool]) -> [(name: String, isColumn: Bool, groups: [(name: String, count: Int, events: Int)])] {
        definitions.enumerated().compactMap { k, d in
            let column = d.feature == nil ? columns.first { $0.index == k } : nil
            if d.feature == nil && column == nil { return nil }
            guard case (var names, let group)? = assign(d, column: column, schema: schema, x: x, tableRows: tableRows) else { return nil }
            names.append("missing")
            var count = [Int](repeating: 0, count: names.count), events = count
            for (r, g) in group.enumerated() {
                count[g] += 1
                if labels[r] { events[g] += 1 }
            }
            return (d.name, column != nil, names.indices.filter { count[$0] > 0 }.map { (names[$0], count[$0], events[$0]) })
        }
    }

    /// The group of each row (`names.count`: missing) and the groups' names.
    private static func assign(_ definition: SubgroupDefinition, column: SubgroupColumn?, schema: FeatureSchema, x: FeatureMatrix,
                               tableRows: [Int]) -> (names: [String], group: [Int])? {
        var names: [String] = []
        var bandOf: ((Double) -> Int)?
        if let bands = definition.bands, !bands.isEmpty {  // the spec's validator refuses empty bands
            func f(_ b: Double) -> String { b == b.rounded() && abs(b) < 1e15 ? String(Int(b)) : String(b) }
            names = ["< \(f(bands[0]))"] + zip(bands, bands.dropFirst()).map { "\(f($0)) to < \(f($1))" } + [">= \(f(bands[bands.count - 1]))"]
            bandOf = { v in bands.firstIndex { v < $0 } ?? bands.count }
        }
        if let column {
            precondition(tableRows.count == x.rows)
            let texts = tableRows.map { column.text(row: $0) }
            if let bandOf {
                // A present text that is not a number has a group of its own, after the bands.
                let notANumber = names.count
                names.append("not a number")
                let group = texts.map { t -> Int in
                    guard let t else { return notANumber + 1 }
                    guard let v = Double(t), !v.isNaN else { return notANumber }
                    return bandOf(v)
                }
                return (names, group)
            }
            names = Set(texts.compactMap { $0 }).sorted()
            let index = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, $0) })
            return (names, texts.map { $0.flatMap { index[$0] } ?? names.count })
        }
        guard let j = schema.index(of: definition.name) else { return nil }
        let levels = schema.features[j].levels
        if bandOf == nil { names = levels }
        let group = (0..<x.rows).map { r -> Int in
            let v = x.values[r * x.columns + j]
            if v.isNaN { return names.count }
            if let bandOf { return bandOf(v) }
            return v >= 0 && v < Double(names.count) ? Int(v) : names.count
        }
        return (names, group)
    }

    /// Evaluates one subgroup definition; nil when its feature is not in `schema`.
    init?(_ definition: SubgroupDefinition, column: SubgroupColumn?, schema: FeatureSchema, x: FeatureMatrix, tableRows: [Int],
          risk: [Double], labels: [Bool], patients: [Int], tiers: [(name: String, minRisk: Double)] = [], replicates: Int, seed: UInt64) {
        precondition(x.rows == risk.count && risk.count == labels.count && labels.count == patients.count)
        guard case (var names, let group)? = Self.assign(definition, column: column, schema: schema, x: x, tableRows: tableRows) else { return nil }
        name = definition.name
        isColumn = column != nil
        table = column == nil ? nil : definition.table
        let missingGroup = names.count
        var members = [[Int]](repeating: [], count: names.count + 1)
        for (r, g) in group.enumerated() { members[g].append(r) }
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
            // A patient bootstrap resamples patients: a group of one patient's stays is the same
            // in every resample that holds it, and its "interval" would be a point (the MIMIC
            // demo's test split has such groups). Not computable, then.
            let groupPatients = Set(rows.map { patients[$0] }).count
            let unresampled = (low: Double.nan, high: Double.nan)
            return Group(name: names[g], count: rows.count, events: events, patients: groupPatients, observedRate: Double(events) / Double(rows.count),
                         meanPredicted: rows.reduce(0) { $0 + risk[$1] } / Double(rows.count),
                         observedInterval: BinaryMetrics.clusteredWilsonInterval(labels: rows.map { labels[$0] }, clusters: rows.map { patients[$0] }),
                         rocAUC: points[k].auc, rocAUCInterval: groupPatients < 2 ? unresampled : PatientBootstrap.interval(aucs[k]),
                         intercept: points[k].intercept, interceptInterval: groupPatients < 2 ? unresampled : PatientBootstrap.interval(intercepts[k]),
                         atTiers: tiers.dropFirst().map { TierFlag(tier: $0.name, threshold: $0.minRisk, rows: rows, risk: risk, labels: labels, patients: patients) })
        }
    }
}
