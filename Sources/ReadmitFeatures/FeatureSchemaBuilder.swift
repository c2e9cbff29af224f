import ReadmitSpec
import ReadmitTables

/// Learns the ``FeatureSchema`` from the spec and the training rows only: category
/// vocabularies and diagnosis categories never see test patients.
public enum FeatureSchemaBuilder {
    /// Builds the schema from the raw features of `trainingRows` (encounter-table rows).
    public static func build(spec: DatasetSpec, raw: RawFeatures, trainingRows: [Int]) -> FeatureSchema {
        var features: [FeatureSpec] = []
        for (j, f) in spec.features.enumerated() {
            let source = f.column ?? f.of ?? f.events ?? f.name
            switch (f.kind, raw.features[j]) {
            case (.categorical, .texts(let column)):
                let counts = presentCounts(column, rows: trainingRows)
                var kept = counts.filter { $0.value >= f.minCount }
                if let other = f.other { kept[other] = nil }
                var levels: [String]
                if let max = f.maxLevels {
                    // The most frequent, in order of training frequency (ties by text).
                    levels = kept.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(max).map(\.key)
                } else {
                    levels = sortedLevels(Array(kept.keys))
                }
                if let other = f.other { levels.append(other) }
                let missing = f.other == nil
                    ? "NaN (missing, or a level not kept from training): no level indicator set"
                    : "NaN when missing; a level not kept from training is '\(f.other ?? "")'"
                features.append(FeatureSpec(name: f.name, kind: .categorical, levels: levels, source: source,
                                            transform: f.other == nil ? .level : .levelOrOther, missing: missing, description: f.description))
            case (.ordinal, _):
                features.append(FeatureSpec(name: f.name, kind: .categorical, levels: f.levels, ordinal: true, source: source, transform: .level,
                                            missing: "NaN (missing or not a declared level): median level of training rows for the detectors and the linear model",
                                            description: f.description))
            case (.diagnosis, .codes(let column, let systems)):
                let grouping = f.grouping ?? .chapter
                if grouping == .chapter {
                    let byColumn = f.events == nil && f.system == .icd9
                    features.append(FeatureSpec(name: f.name, kind: .categorical, levels: ICDChapters.names, source: source,
                                                transform: byColumn ? .icd9Chapter : .icdChapter,
                                                missing: "NaN when there is no code: no level indicator set", description: f.description))
                } else {
                    var counts: [String: Int] = [:]
                    let category = categories(column, systems: systems)
                    var byCode = [Int](repeating: 0, count: column.interned.values.count)
                    for r in trainingRows { byCode[Int(column.interned.codes[r])] += 1 }
                    for (c, n) in byCode.enumerated() where n > 0 { if let k = category[c] { counts[k, default: 0] += n } }
                    let levels = sortedLevels(counts.filter { $0.value >= f.minCount }.map(\.key)) + ["other"]
                    features.append(FeatureSpec(name: f.name, kind: .categorical, levels: levels, source: source, transform: .icdCategory,
                                                missing: "NaN when there is no code; a category with fewer than \(f.minCount) training rows is 'other'",
                                                description: f.description))
                }
            default:
                let transform: FeatureSpec.Transform
                switch f.kind {
                case .derived: transform = .derived
                case .event: transform = .event
                case .history: transform = .history
                default: transform = .number
                }
                let missing = f.kind == .history
                    ? "NaN when unknown (no earlier encounter for previous and days since): median for the anomaly detectors, default branch in the booster"
                    : "NaN: median of training rows for the anomaly detectors and the linear model; the booster learns a default branch"
                features.append(FeatureSpec(name: f.name, kind: .numeric, source: f.kind == .history ? f.name : source, transform: transform,
                                            missing: missing, description: f.description))
            }
        }
        return FeatureSchema(features: features)
    }

    /// The category text of each distinct code (nil when missing).
    static func categories(_ column: TextColumn, systems: [CodeSystem]) -> [String?] {
        column.interned.values.enumerated().map { c, text in
            column.isMissing[c] ? nil : ICDChapters.category(of: text, system: systems[c])
        }
    }

    /// How many of `rows` hold each present text of `column`.
    /// The categorical features whose `other` text is also a value of their column in the
    /// training rows (`other: Caucasian`): those rows and the rare levels' share one level,
    /// which the spec may mean, but more often is a slip (`readmit check` notes it).
    public static func otherLevelsInData(spec: DatasetSpec, raw: RawFeatures, trainingRows: [Int]) -> [(feature: String, other: String, rows: Int)] {
        var found: [(feature: String, other: String, rows: Int)] = []
        for (j, f) in spec.features.enumerated() where f.kind == .categorical {
            guard let other = f.other, case .texts(let column) = raw.features[j],
                  let rows = presentCounts(column, rows: trainingRows)[other] else { continue }
            found.append((f.name, other, rows))
        }
        return found
    }

    static func presentCounts(_ column: TextColumn, rows: [Int]) -> [String: Int] {
        var byCode = [Int](repeating: 0, count: column.interned.values.count)
        for r in rows { byCode[Int(column.interned.codes[r])] += 1 }
        var counts: [String: Int] = [:]
        for (code, text) in column.interned.values.enumerated() where byCode[code] > 0 && !column.isMissing[code] {
            counts[text, default: 0] += byCode[code]
        }
        return counts
    }

    /// Integer codes in numeric order, other text in lexicographic order: deterministic and readable.
    static func sortedLevels(_ levels: [String]) -> [String] {
        levels.sorted { a, b in
            if let x = Int(a), let y = Int(b) { return x < y }
            return a < b
        }
    }
}
