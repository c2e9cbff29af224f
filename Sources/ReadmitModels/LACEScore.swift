import ReadmitFeatures
import ReadmitSpec
import ReadmitTables

/// A LACE-like readmission index (van Walraven et al. 2010) from the features a spec names.
///
/// L: length of stay points (0 for under a day ... 7 for 14+ days); A: 3 points for an acute
/// admission (the declared levels of the acute feature); C: the Charlson index is rarely in an
/// extract, so 1 point per declared comorbidity feature at one of the declared levels, at most
/// 5; E: emergency visits (or the declared stand-in), at most 4. A simple clinical reference,
/// not a validated LACE.
public struct LACEScore: Sendable {
    let length: Int?, acute: Int?, emergency: Int?
    let acuteLevel: [Bool]
    /// Per comorbidity feature: its index, and which level indices (categorical) or values (numeric) count.
    let comorbidity: [(feature: Int, levels: [Bool], values: Set<Double>)]

    /// Resolves the definition's feature names in `schema`; nil when the spec declares no LACE.
    public init?(definition: LACEDefinition?, schema: FeatureSchema) {
        guard let definition else { return nil }
        length = definition.lengthOfStay.flatMap(schema.index(of:))
        emergency = definition.emergencyVisits.flatMap(schema.index(of:))
        acute = definition.acuteFeature.flatMap(schema.index(of:))
        let levels = Set(definition.acuteLevels)
        acuteLevel = acute.map { schema.features[$0].levels.map(levels.contains) } ?? []
        let comorbid = Set(definition.comorbidityLevels)
        comorbidity = definition.comorbidityFeatures.compactMap { name in
            guard let j = schema.index(of: name) else { return nil }
            let spec = schema.features[j]
            if spec.kind == .categorical { return (j, spec.levels.map(comorbid.contains), []) }
            return (j, [], Set(comorbid.compactMap(Double.init)))
        }
    }

    /// The score of one schema row (NaN fields count 0 points).
    public func score(_ row: UnsafePointer<Double>) -> Double {
        var l = 0.0
        if let length, !row[length].isNaN {
            switch row[length] {
            case ..<1: l = 0
            case ..<2: l = 1
            case ..<3: l = 2
            case ..<4: l = 3
            case ..<7: l = 4
            case ..<14: l = 5
            default: l = 7
            }
        }
        var a = 0.0
        // The spec validator gives acute a leveled feature; a value outside its levels scores 0.
        if let acute, !row[acute].isNaN, let i = Int(exactly: row[acute]), acuteLevel.indices.contains(i), acuteLevel[i] { a = 3 }
        var c = 0.0
        for (j, levels, values) in comorbidity where !row[j].isNaN {
            if levels.isEmpty ? values.contains(row[j]) : (Int(exactly: row[j]).map { levels.indices.contains($0) && levels[$0] } ?? false) { c += 1 }
        }
        var e = 0.0
        if let emergency, !row[emergency].isNaN { e = min(row[emergency], 4) }
        return l + a + min(c, 5) + e
    }
}
