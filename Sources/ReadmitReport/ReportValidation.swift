/// Checks a ReportInput for inconsistencies before anything is drawn, so a pipeline bug
/// surfaces as a typed error naming the field instead of a silently wrong chart.
enum ReportValidation {
    static func check(_ input: ReportInput) throws(ReportError) {
        guard !input.models.isEmpty else { throw invalid("models is empty: nothing to evaluate") }
        var seen = Set<String>()
        for m in input.models {
            guard !m.key.isEmpty else { throw invalid("a model has an empty key") }
            guard seen.insert(m.key).inserted else { throw invalid("duplicate model key '\(m.key)'") }
            try points(m.roc, "model '\(m.key)' roc")
            try points(m.precisionRecall, "model '\(m.key)' precisionRecall")
            try points(m.cumulativeGain, "model '\(m.key)' cumulativeGain")
            for (i, b) in m.reliability.enumerated() {
                guard [b.lower, b.upper, b.meanPredicted, b.observedRate].allSatisfy(\.isFinite), b.count >= 0 else {
                    throw invalid("model '\(m.key)' reliability bin \(i) has a non-finite value or negative count")
                }
            }
            if let h = m.scoreHistogram {
                try histogram(h.binEdges, h.positiveCounts, h.negativeCounts, "model '\(m.key)' scoreHistogram")
            }
        }
        guard seen.contains(input.servedModelKey) else {
            throw invalid("servedModelKey '\(input.servedModelKey)' is not the key of any model (keys: \(input.models.map(\.key).joined(separator: ", ")))")
        }
        guard input.prevalence.isFinite, (0...1).contains(input.prevalence) else {
            throw invalid("prevalence \(input.prevalence) is not in [0, 1]")
        }
        for r in input.missingness where !(r.fraction.isFinite && (0...1).contains(r.fraction)) {
            throw invalid("missingness of '\(r.feature)' is \(r.fraction), not in [0, 1]")
        }
        for f in input.topRiskFactors where !f.importance.isFinite {
            throw invalid("top risk factor '\(f.feature)' has a non-finite importance")
        }
        if let c = input.clinical {
            guard !c.thresholds.isEmpty, c.thresholds.allSatisfy({ $0 > 0 && $0 < 1 }), zip(c.thresholds, c.thresholds.dropFirst()).allSatisfy({ $0 < $1 }) else {
                throw invalid("clinical thresholds must be ascending and inside (0, 1)")
            }
            guard c.treatAll.count == c.thresholds.count else {
                throw invalid("clinical treatAll has \(c.treatAll.count) values for \(c.thresholds.count) thresholds")
            }
            for (key, values) in c.netBenefit.sorted(by: { $0.key < $1.key }) where values.count != c.thresholds.count {
                throw invalid("clinical netBenefit of '\(key)' has \(values.count) values for \(c.thresholds.count) thresholds")
            }
            for t in c.subgroups {
                for g in t.groups where !(g.count > 0 && (0...g.count).contains(g.events)) {
                    throw invalid("subgroup '\(t.feature)' group '\(g.name)' has \(g.events) events in \(g.count) encounters")
                }
                for g in t.groups where !(g.patients.map { (1...g.count).contains($0) } ?? true) {
                    throw invalid("subgroup '\(t.feature)' group '\(g.name)' has \(g.patients ?? 0) patients for \(g.count) encounters")
                }
                for g in t.groups {
                    for f in g.atTiers ?? [] where !(0...g.count).contains(f.flagged) {
                        throw invalid("subgroup '\(t.feature)' group '\(g.name)' has \(f.flagged) encounters flagged at tier '\(f.tier)' of \(g.count)")
                    }
                }
            }
            for row in c.calibration where !seen.contains(row.modelKey) {
                throw invalid("clinical calibration row '\(row.modelKey)' is not the key of any model")
            }
        }
        for d in input.featureDistributions {
            let what = "feature distribution '\(d.feature)'"
            switch d.kind {
            case .numeric:
                try histogram(d.binEdges, d.positiveCounts, d.negativeCounts, what)
            case .categorical:
                guard !d.levels.isEmpty, d.levels.count == d.positiveCounts.count,
                      d.levels.count == d.negativeCounts.count else {
                    throw invalid("\(what): \(d.levels.count) levels but \(d.positiveCounts.count) positive and \(d.negativeCounts.count) negative counts")
                }
                guard (d.positiveCounts + d.negativeCounts).allSatisfy({ $0 >= 0 }) else {
                    throw invalid("\(what) has a negative count")
                }
            }
        }
    }

    private static func invalid(_ message: String) -> ReportError { ReportError(.invalidInput, message) }

    private static func points(_ pts: [CurvePoint], _ what: String) throws(ReportError) {
        if let i = pts.firstIndex(where: { !$0.x.isFinite || !$0.y.isFinite }) {
            throw invalid("\(what) point \(i) is not finite")
        }
    }

    private static func histogram(_ edges: [Double], _ pos: [Int], _ neg: [Int], _ what: String) throws(ReportError) {
        guard !pos.isEmpty, edges.count == pos.count + 1, pos.count == neg.count else {
            throw invalid("\(what): \(edges.count) bin edges need \(max(0, edges.count - 1)) counts, got \(pos.count) positive and \(neg.count) negative")
        }
        guard edges.allSatisfy(\.isFinite), zip(edges, edges.dropFirst()).allSatisfy({ $0 < $1 }) else {
            throw invalid("\(what): bin edges must be finite and strictly ascending")
        }
        guard (pos + neg).allSatisfy({ $0 >= 0 }) else { throw invalid("\(what) has a negative count") }
    }
}
