/// Checks that the parts of a spec fit together (names exist, dates are there where needed).
/// Whether the named columns exist is checked against the data, by the table reader.
struct SpecValidator {
    let spec: DatasetSpec
    let file: String
    let reader: NodeReader

    func fail(_ key: String, _ message: String) -> SpecError { reader.error(.inconsistent, key, nil, message) }

    func validate() throws(SpecError) {
        let e = spec.encounters
        if (e.admitted == nil) != (e.discharged == nil) {
            throw fail(e.admitted == nil ? "encounters.discharged" : "encounters.admitted", "admitted and discharged are declared together")
        }
        if !spec.hasDates && e.order == nil {
            throw fail("encounters", "declare either order (a column ordering each patient's encounters) or admitted and discharged timestamps")
        }
        if case .readmissionWithinDays = spec.label, !spec.hasDates {
            throw fail("label.readmission_within_days", "a label derived from dates needs encounters.admitted and encounters.discharged")
        }
        if case .date = spec.split, !spec.hasDates {
            throw fail("split.date", "a date split needs encounters.admitted and encounters.discharged")
        }
        if case .column(_, let test, _) = spec.split, test.isEmpty {
            throw fail("split.test", "a column split needs the values that mean test")
        }
        // One value with two meanings: which one applied was the reader's order, silently.
        if case .column(_, let positive, let negative) = spec.label, let j = negative.firstIndex(where: positive.contains) {
            throw fail("label.negative[\(j)]", "'\(negative[j])' is also a positive value")
        }
        if case .column(_, let test, let train) = spec.split, let j = train.firstIndex(where: test.contains) {
            throw fail("split.train[\(j)]", "'\(train[j])' is also a test value")
        }
        for (i, ev) in spec.events.enumerated() {
            if let j = ev.icd10Values.firstIndex(where: ev.icd9Values.contains) {
                throw fail("events[\(i)].code_system.icd10[\(j)]", "'\(ev.icd10Values[j])' is also an icd9 value")
            }
        }
        for (i, x) in spec.exclusions.enumerated() where x.table == .patients && spec.patients == nil {
            throw fail("exclusions[\(i)].table", "no patients table is declared")
        }
        var names = Set<String>()
        for (i, ev) in spec.events.enumerated() {
            if !names.insert(ev.name).inserted { throw fail("events[\(i)].name", "events table '\(ev.name)' is declared twice") }
        }
        names = []
        for (i, f) in spec.features.enumerated() {
            let key = "features[\(i)]"
            if f.name.isEmpty { throw fail("\(key).name", "a feature needs a name") }
            if !names.insert(f.name).inserted { throw fail("\(key).name", "feature '\(f.name)' is declared twice") }
            if f.table == .patients && spec.patients == nil { throw fail("\(key).table", "no patients table is declared") }
            if let j = f.levels.indices.first(where: { f.levels[..<$0].contains(f.levels[$0]) }) {
                // An ordinal's index is its level's place: a level twice has two places.
                throw fail("\(key).levels[\(j)]", "level '\(f.levels[j])' is listed twice")
            }
            // A stay's own outcome is not known at its discharge: a feature that reads it would
            // score every training row with its answer (a test ROC AUC near 1) and could not be
            // sent by a caller. History features read earlier stays' outcomes, which are settled.
            if f.kind != .history, f.table == .encounters, let label = spec.labelColumn {
                if f.column == label {
                    throw fail("\(key).column", "feature '\(f.name)' reads the label column '\(label)': a stay's own outcome is not known at its discharge (leakage); earlier stays' outcomes are history features (count_positive, or of: \(label) with equals)")
                }
                if let j = f.columns?.firstIndex(of: label) {
                    throw fail("\(key).columns[\(j)]", "feature '\(f.name)' reads the label column '\(label)': a stay's own outcome is not known at its discharge (leakage)")
                }
            }
            if let events = f.events {
                guard let source = spec.eventSource(named: events) else {
                    throw fail("\(key).events", "no events table is called '\(events)' (declared: \(spec.events.map(\.name).joined(separator: ", ")))")
                }
                let needsValue: Set<FeatureDefinition.Aggregate> = [.first, .last, .min, .max, .mean]
                if let a = f.aggregate, needsValue.contains(a), source.value == nil {
                    throw fail("\(key).aggregate", "aggregate \(a.rawValue) needs a value column in events table '\(events)'")
                }
                let isDiagnosis = f.kind == .diagnosis || f.group != nil
                if isDiagnosis && source.codeSystem == nil && source.codeSystemColumn == nil {
                    throw fail("\(key).events", "events table '\(events)' declares no code_system, so its codes cannot be grouped")
                }
                if let group = f.group {
                    guard f.aggregate == .any else { throw fail("\(key).group", "group is used with aggregate: any") }
                    guard ICDChapters.names.contains(group) else {
                        throw fail("\(key).group", "'\(group)' is not a chapter (\(ICDChapters.names.joined(separator: ", ")))")
                    }
                }
            }
            switch f.kind {
            case .derived:
                if f.derive?.needsDates ?? true, !spec.hasDates {
                    throw fail("\(key).derive", "\(f.derive?.rawValue ?? "") needs encounters.admitted and encounters.discharged")
                }
                if let columns = f.columns, Set(columns).count != columns.count { throw fail("\(key).columns", "a column is listed twice") }
                if f.derive == .ageAtAdmission && spec.patients == nil { throw fail("\(key).derive", "age_at_admission needs a patients table") }
            case .history:
                guard let h = f.history else { break }
                if (h == .sum || h == .previous) && f.of == nil { throw fail("\(key).of", "history \(h.rawValue) needs 'of' (a column or feature)") }
                if h == .daysSinceLastDischarge && !spec.hasDates { throw fail("\(key).history", "days_since_last_discharge needs dates") }
                if f.windowDays != nil && !spec.hasDates { throw fail("\(key).window_days", "a window in days needs dates") }
                // Keys a kind does not read were ignored without a word: `previous` with a window
                // is still the last earlier stay, whatever its age.
                if f.windowDays != nil && (h == .previous || h == .daysSinceLastDischarge) {
                    throw fail("\(key).window_days", "history \(h.rawValue) looks at the last earlier stay whatever its age; window_days is used with count, sum and count_positive")
                }
                if f.of != nil && (h == .countPositive || h == .daysSinceLastDischarge) {
                    throw fail("\(key).of", "history \(h.rawValue) takes no 'of'" + (h == .countPositive ? " (it counts earlier stays whose label is positive)" : ""))
                }
                if let of = f.of, let target = spec.feature(named: of), target.kind == .history {
                    throw fail("\(key).of", "'\(of)' is a history feature; history is computed from raw columns or other features")
                }
                if !f.equals.isEmpty && h != .previous && h != .count { throw fail("\(key).equals", "equals is used with history: previous or count") }
                if h == .count && (f.of == nil) != f.equals.isEmpty { throw fail("\(key).equals", "history count takes 'of' and 'equals' together (or neither)") }
            default: break
            }
        }
        if let lace = spec.lace {
            let named = [lace.lengthOfStay, lace.acuteFeature, lace.emergencyVisits].compactMap { $0 } + lace.comorbidityFeatures
            for name in named where spec.feature(named: name) == nil {
                throw fail("references.lace", "no feature is called '\(name)'")
            }
            // L and E are numbers of days and visits; A is a level. A feature of the other sort
            // was read anyway: a level's index as days, or (acute on a number) a crash.
            let leveled: Set<FeatureDefinition.Kind> = [.categorical, .ordinal, .diagnosis]
            for (key, name) in [("length_of_stay", lace.lengthOfStay), ("emergency_visits", lace.emergencyVisits)] {
                if let name, let f = spec.feature(named: name), leveled.contains(f.kind) {
                    throw fail("references.lace.\(key)", "feature '\(name)' is \(f.kind.rawValue): \(key) is a number (a numeric, derived, event or history feature)")
                }
            }
            if let name = lace.acuteFeature, let f = spec.feature(named: name), !leveled.contains(f.kind) {
                throw fail("references.lace.acute.feature", "feature '\(name)' is \(f.kind.rawValue): the acute admission is a level of a categorical, ordinal or diagnosis feature")
            }
            if lace.acuteFeature != nil && lace.acuteLevels.isEmpty {
                throw fail("references.lace.acute.levels", "no acute level is listed: no admission would score the acute points")
            }
        }
        var seenDistributions = Set<String>()
        for name in spec.reportDistributions {
            guard spec.feature(named: name) != nil else { throw fail("report.distributions", "no feature is called '\(name)'") }
            guard seenDistributions.insert(name).inserted else { throw fail("report.distributions", "feature '\(name)' is listed twice") }
        }
        var seenGroups = Set<String>()
        for (i, group) in (spec.reportAblation ?? []).enumerated() {
            let key = "report.ablation[\(i)]"
            // The group's name keys its row in the report and metrics.json.
            guard seenGroups.insert(group.name).inserted else { throw fail("\(key).group", "group '\(group.name)' is declared twice") }
            if group.features.isEmpty { throw fail("\(key).features", "group '\(group.name)' lists no feature") }
            var seen = Set<String>()
            for name in group.features {
                guard spec.feature(named: name) != nil else { throw fail("\(key).features", "no feature is called '\(name)'") }
                guard seen.insert(name).inserted else { throw fail("\(key).features", "feature '\(name)' is listed twice in group '\(group.name)'") }
            }
        }
        var seenSubgroups = Set<String>()
        for (i, group) in (spec.reportSubgroups ?? []).enumerated() {
            let key = "report.subgroups[\(i)]"
            guard seenSubgroups.insert(group.name).inserted else { throw fail(key, "'\(group.name)' is listed twice") }
            if let bands = group.bands {
                guard !bands.isEmpty else { throw fail("\(key).bands", "give at least one cut point, or leave 'bands' out") }
                guard zip(bands, bands.dropFirst()).allSatisfy({ $0 < $1 }) else {
                    throw fail(key, "bands of '\(group.name)' must be strictly ascending")
                }
            }
            guard let name = group.feature else {
                // A column: its texts are read from the table when training reads the data.
                if group.table == .patients && spec.patients == nil {
                    throw fail("\(key).table", "'patients' names the patients table, which this spec does not declare")
                }
                continue
            }
            guard let feature = spec.feature(named: name) else { throw fail(key, "no feature is called '\(name)' (a column the model does not read is given as 'column')") }
            // Categorical kinds are grouped by level; the others are numbers, grouped by bands.
            let byLevel: Set<FeatureDefinition.Kind> = [.categorical, .ordinal, .diagnosis]
            if byLevel.contains(feature.kind) {
                if group.bands != nil { throw fail(key, "feature '\(name)' is \(feature.kind.rawValue): grouped by its levels, without bands") }
            } else if group.bands == nil {
                throw fail(key, "feature '\(name)' is \(feature.kind.rawValue): give bands (ascending cut points)")
            }
        }
    }
}
