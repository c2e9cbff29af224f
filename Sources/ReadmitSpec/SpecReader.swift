import Foundation
import ReadmitFiles
import Yams

/// Reads a dataset spec from YAML (`docs/DATASET_SPEC.md`).
///
/// The YAML is parsed by Yams (libyaml) into nodes, which this reader walks by hand instead of
/// through `Decodable`: every error can then name the spec file, the line and column and the key
/// path, an unknown key is an error rather than ignored, and scalars are read as the text written
/// (YAML 1.1 would turn `NO`, a Diabetes 130 label value, into `false`).
public enum SpecReader {
    /// The largest spec file read: a spec with every table, exclusion and feature of a large
    /// EHR extract is tens of kilobytes.
    public static let maxSpecBytes = 16 << 20

    /// Reads and validates the spec at `path`.
    public static func read(path: String) throws(SpecError) -> DatasetSpec {
        let text: String
        do { text = try RegularFile.readText(path: path, maxBytes: maxSpecBytes) } catch {
            throw SpecError(code: .unreadable, file: path, message: "cannot read the spec file: \(error.reason)")
        }
        return try parse(text, file: path)
    }

    /// Parses and validates spec `text`; `file` names it in errors.
    public static func parse(_ text: String, file: String) throws(SpecError) -> DatasetSpec {
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: text) else {
                throw SpecError(code: .syntax, file: file, message: "the spec file is empty")
            }
            root = node
        } catch let error as SpecError {
            throw error
        } catch let error as YamlError {
            throw syntaxError(error, file: file)
        } catch {
            throw SpecError(code: .syntax, file: file, message: "not valid YAML: \(error)")
        }
        let reader = NodeReader(file: file)
        let spec = try reader.spec(root)
        try SpecValidator(spec: spec, file: file, reader: reader).validate()
        return spec
    }

    static func syntaxError(_ error: YamlError, file: String) -> SpecError {
        switch error {
        case let .scanner(_, problem, mark, _), let .parser(_, problem, mark, _), let .composer(_, problem, mark, _):
            return SpecError(code: .syntax, file: file, line: mark.line, column: mark.column, message: "not valid YAML: \(problem)")
        case let .duplicatedKeysInMapping(duplicates, context):
            return duplicatedKeys(duplicates, at: context.mark, file: file)
        default:
            return SpecError(code: .syntax, file: file, message: "not valid YAML: \(error)")
        }
    }

    /// A mapping that repeats keys. Yams places the error at the first duplicated key in the
    /// order of its key nodes, which it sorts: keys that do not sort (a mapping or a list used
    /// as a key, which Yams names `<uncovertable>`, or one text under two tags) come out in the
    /// order of a dictionary, which changes from one parse to the next, and so did the line (the
    /// spec fuzzer found it: one file, two errors). The line and column are given only when every
    /// repeated key is a distinct text, and the names always in sorted order. Yams' context is
    /// left out: it quotes the whole mapping (a whole spec file for a repeated top-level key).
    static func duplicatedKeys(_ duplicates: [String], at mark: Mark, file: String) -> SpecError {
        let notText = "<uncovertable>"
        let placed = !duplicates.contains(notText) && Set(duplicates).count == duplicates.count
        let others = duplicates.filter { $0 == notText }.count
        let names = duplicates.filter { $0 != notText }.sorted().map { "'\($0)'" }
            + (others == 0 ? [] : [others == 1 ? "a key that is not a text" : "\(others) keys that are not texts"])
        return SpecError(code: .syntax, file: file, line: placed ? mark.line : nil, column: placed ? mark.column : nil,
                         message: "not valid YAML: a mapping repeats the key\(names.count == 1 ? "" : "s") \(names.joined(separator: ", "))")
    }
}

/// Walks YAML nodes into spec values, remembering where each key was (for later errors).
final class NodeReader {
    let file: String
    /// Line and column of each key path read.
    private(set) var marks: [String: Mark] = [:]

    init(file: String) { self.file = file }

    func error(_ code: SpecError.Code, _ path: String, _ node: Node?, _ message: String) -> SpecError {
        let mark = node?.mark ?? marks[path]
        return SpecError(code: code, file: file, line: mark?.line, column: mark?.column, key: path.isEmpty ? nil : path, message: message)
    }

    /// A mapping whose keys are read one by one; ``finish()`` rejects the keys never asked for.
    final class Object {
        let reader: NodeReader
        let path: String
        let node: Node
        var pairs: [(key: String, keyNode: Node, value: Node)] = []
        var used = Set<String>()

        init(_ reader: NodeReader, _ node: Node, path: String) throws(SpecError) {
            self.reader = reader
            self.path = path
            self.node = node
            guard case .mapping(let mapping) = node else {
                throw reader.error(.badValue, path, node, "expected a mapping of keys to values")
            }
            var seen = Set<String>()
            for (k, v) in mapping {
                let key = k.string ?? ""
                if !seen.insert(key).inserted { throw reader.error(.badValue, sub(key), k, "key '\(key)' appears twice") }
                pairs.append((key, k, v))
                reader.marks[sub(key)] = k.mark
            }
        }

        func sub(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

        func value(_ key: String) -> Node? {
            used.insert(key)
            return pairs.first { $0.key == key }?.value
        }

        func has(_ key: String) -> Bool { pairs.contains { $0.key == key } }

        func require(_ key: String) throws(SpecError) -> Node {
            guard let v = value(key) else { throw missing(key) }
            return v
        }

        /// The error for a required `key` that is absent. A misspelt key is the usual cause:
        /// when one is written, it is named, at its own line, as the place to fix.
        func missing(_ key: String) -> SpecError {
            if let near = pairs.first(where: { $0.key != key && editDistance($0.key, key, atMost: 2) != nil }) {
                return reader.error(.missingKey, sub(key), near.keyNode, "required key '\(key)' is missing (is '\(near.key)' a misspelling of it?)")
            }
            return reader.error(.missingKey, sub(key), node, "required key '\(key)' is missing")
        }

        func string(_ key: String) throws(SpecError) -> String? {
            guard let v = value(key) else { return nil }
            return try reader.scalar(v, sub(key))
        }

        func requireString(_ key: String) throws(SpecError) -> String { try reader.scalar(try require(key), sub(key)) }

        func strings(_ key: String) throws(SpecError) -> [String]? {
            guard let v = value(key) else { return nil }
            return try reader.scalars(v, sub(key))
        }

        func int(_ key: String, min: Int) throws(SpecError) -> Int? {
            guard let v = value(key) else { return nil }
            let text = try reader.scalar(v, sub(key))
            guard let n = Int(text), n >= min else { throw reader.error(.badValue, sub(key), v, "'\(text)' is not an integer >= \(min)") }
            return n
        }

        func bool(_ key: String) throws(SpecError) -> Bool? {
            guard let v = value(key) else { return nil }
            switch try reader.scalar(v, sub(key)) {
            case "true": return true
            case "false": return false
            case let text: throw reader.error(.badValue, sub(key), v, "'\(text)' is not true or false")
            }
        }

        func choice<E: RawRepresentable & CaseIterable>(_ key: String, _: E.Type) throws(SpecError) -> E? where E.RawValue == String {
            guard let v = value(key) else { return nil }
            let text = try reader.scalar(v, sub(key))
            guard let e = E(rawValue: text) else {
                throw reader.error(.badValue, sub(key), v, "'\(text)' is not one of \(E.allCases.map { $0.rawValue }.joined(separator: ", "))")
            }
            return e
        }

        func object(_ key: String) throws(SpecError) -> Object? {
            guard let v = value(key) else { return nil }
            return try Object(reader, v, path: sub(key))
        }

        func list(_ key: String) throws(SpecError) -> [Object] {
            guard let v = value(key) else { return [] }
            guard case .sequence(let seq) = v else { throw reader.error(.badValue, sub(key), v, "expected a list") }
            var out: [Object] = []
            for (i, item) in seq.enumerated() { out.append(try Object(reader, item, path: "\(sub(key))[\(i)]")) }
            return out
        }

        /// Rejects keys that were never read, suggesting the nearest key this mapping reads
        /// (every key looked up by then, written or not) when one is close.
        func finish() throws(SpecError) {
            for pair in pairs where !used.contains(pair.key) {
                let written = Set(pairs.map(\.key))
                var best: (key: String, distance: Int)?
                for known in used.subtracting(written).sorted() {
                    guard let distance = editDistance(pair.key, known, atMost: 2) else { continue }
                    if let found = best, found.distance <= distance { continue }
                    best = (known, distance)
                }
                let hint = best.map { " (did you mean '\($0.key)'?)" } ?? ""
                throw reader.error(.unknownKey, sub(pair.key), pair.keyNode, "unknown key '\(pair.key)'" + hint)
            }
        }
    }

    func scalar(_ node: Node, _ path: String) throws(SpecError) -> String {
        guard case .scalar(let s) = node else { throw error(.badValue, path, node, "expected a single value, not a list or mapping") }
        return s.string
    }

    func scalars(_ node: Node, _ path: String) throws(SpecError) -> [String] {
        if case .scalar(let s) = node { return [s.string] }
        guard case .sequence(let seq) = node else { throw error(.badValue, path, node, "expected a list of values") }
        var out: [String] = []
        for (i, item) in seq.enumerated() { out.append(try scalar(item, "\(path)[\(i)]")) }
        return out
    }

    func timestamp(_ o: Object?) throws(SpecError) -> TimestampColumn? {
        guard let o else { return nil }
        let t = TimestampColumn(column: try o.requireString("column"), format: try o.requireString("format"))
        try o.finish()
        if let problem = TimestampFormat.problem(t.format) {
            throw error(.badValue, o.sub("format"), nil, problem)
        }
        return t
    }

    func spec(_ root: Node) throws(SpecError) -> DatasetSpec {
        let top = try Object(self, root, path: "")
        let name = try top.requireString("name")
        let description = try top.string("description") ?? ""
        let search = try top.strings("search") ?? []

        let e = try Object(self, try top.require("encounters"), path: "encounters")
        let encounters = EncounterSource(
            file: try e.requireString("file"), missing: try e.strings("missing") ?? [""],
            encounterID: try e.requireString("encounter_id"), patientID: try e.requireString("patient_id"),
            order: try e.string("order"), admitted: try timestamp(try e.object("admitted")), discharged: try timestamp(try e.object("discharged")))
        try e.finish()

        var patients: PatientSource?
        if let p = try top.object("patients") {
            patients = PatientSource(file: try p.requireString("file"), missing: try p.strings("missing") ?? [""], patientID: try p.requireString("patient_id"))
            try p.finish()
        }

        var events: [EventSource] = []
        for o in try top.list("events") {
            var source = EventSource(
                name: try o.requireString("name"), file: try o.requireString("file"), missing: try o.strings("missing") ?? [""],
                encounterID: try o.requireString("encounter_id"), code: try o.requireString("code"), value: try o.string("value"),
                time: try timestamp(try o.object("time")), sequence: try o.string("sequence"), codeSystem: nil, codeSystemColumn: nil,
                icd9Values: [], icd10Values: [])
            if let node = o.value("code_system") {
                if case .scalar = node {
                    let text = try scalar(node, o.sub("code_system"))
                    guard let system = CodeSystem(rawValue: text) else {
                        throw error(.badValue, o.sub("code_system"), node, "'\(text)' is not icd9, icd10 or a mapping {column, icd9, icd10}")
                    }
                    source.codeSystem = system
                } else {
                    let cs = try Object(self, node, path: o.sub("code_system"))
                    source.codeSystemColumn = try cs.requireString("column")
                    source.icd9Values = try cs.strings("icd9") ?? []
                    source.icd10Values = try cs.strings("icd10") ?? []
                    try cs.finish()
                }
            }
            try o.finish()
            events.append(source)
        }

        let l = try Object(self, try top.require("label"), path: "label")
        let label: LabelRule
        var followUpEnd: String?
        if l.has("readmission_within_days") {
            guard let days = try l.int("readmission_within_days", min: 1) else { preconditionFailure("checked by has()") }
            label = .readmissionWithinDays(days)
            if let end = try l.string("follow_up_end") {
                guard end == DatasetSpec.followUpEndLatestAdmission || TimestampFormat.parse(end, format: "%Y-%m-%d") != nil else {
                    throw error(.badValue, "label.follow_up_end", l.value("follow_up_end"),
                                "'\(end)' is neither a date YYYY-MM-DD nor \(DatasetSpec.followUpEndLatestAdmission)")
                }
                followUpEnd = end
            }
        } else {
            if l.has("follow_up_end") {
                throw error(.inconsistent, "label.follow_up_end", l.value("follow_up_end"),
                            "follow_up_end goes with readmission_within_days (a label column states each outcome itself)")
            }
            label = .column(name: try l.requireString("column"), positive: try l.strings("positive") ?? [],
                            negative: try l.strings("negative") ?? [])
            if case .column(_, let pos, _) = label, pos.isEmpty {
                throw error(.missingKey, "label.positive", l.node, "a label column needs its positive values")
            }
        }
        try l.finish()

        var exclusions: [Exclusion] = []
        for o in try top.list("exclusions") {
            exclusions.append(Exclusion(reason: try o.requireString("reason"), column: try o.requireString("column"),
                                        table: try o.choice("table", TableRole.self) ?? .encounters, values: try o.strings("values") ?? []))
            try o.finish()
        }

        var split = SplitRule.patientHash
        if let s = try top.object("split") {
            switch try s.string("method") ?? "patient_hash" {
            case "patient_hash": split = .patientHash
            case "column": split = .column(name: try s.requireString("column"), test: try s.strings("test") ?? [], train: try s.strings("train") ?? [])
            case "date":
                let date = try s.requireString("date")
                guard TimestampFormat.parse(date, format: "%Y-%m-%d") != nil else {
                    throw error(.badValue, "split.date", s.value("date"), "'\(date)' is not a date YYYY-MM-DD")
                }
                split = .date(date)
            case let other: throw error(.badValue, "split.method", s.value("method"), "'\(other)' is not patient_hash, column or date")
            }
            try s.finish()
        }

        var firstOnly = false
        if let c = try top.object("cohort") {
            firstOnly = try c.bool("first_encounter_only") ?? false
            try c.finish()
        }

        var features: [FeatureDefinition] = []
        for o in try top.list("features") { features.append(try feature(o)) }
        if features.isEmpty { throw error(.missingKey, "features", root, "the spec declares no features") }

        var lace: LACEDefinition?
        if let r = try top.object("references") {
            if let o = try r.object("lace") {
                var def = LACEDefinition(lengthOfStay: try o.string("length_of_stay"), acuteFeature: nil, acuteLevels: [],
                                         comorbidityFeatures: [], comorbidityLevels: [], emergencyVisits: try o.string("emergency_visits"))
                if let a = try o.object("acute") {
                    def.acuteFeature = try a.requireString("feature"); def.acuteLevels = try a.strings("levels") ?? []
                    try a.finish()
                }
                if let c = try o.object("comorbidity") {
                    def.comorbidityFeatures = try c.strings("features") ?? []; def.comorbidityLevels = try c.strings("levels") ?? []
                    try c.finish()
                }
                try o.finish()
                lace = def
            }
            try r.finish()
        }
        var distributions: [String] = []
        var subgroups: [SubgroupDefinition]?
        var ablation: [AblationGroup]?
        if let r = try top.object("report") {
            distributions = try r.strings("distributions") ?? []
            if r.has("ablation") {
                ablation = []
                for o in try r.list("ablation") {
                    ablation?.append(AblationGroup(name: try o.requireString("group"), features: try o.strings("features") ?? []))
                    try o.finish()
                }
            }
            if r.has("subgroups") {
                subgroups = []
                for o in try r.list("subgroups") {
                    var bands: [Double]?
                    if let texts = try o.strings("bands") {
                        bands = []
                        for (i, t) in texts.enumerated() {
                            guard let b = Double(t), b.isFinite else {
                                throw error(.badValue, o.sub("bands[\(i)]"), o.node, "'\(t)' is not a finite number")
                            }
                            bands?.append(b)
                        }
                    }
                    // A feature of the spec, or a column the model need not read (its table
                    // then, `table`, is read only here: with `feature` it is an unknown key).
                    switch (o.has("feature"), o.has("column")) {
                    case (true, true):
                        throw error(.badValue, o.sub("column"), o.node, "give either 'feature' or 'column', not both")
                    case (false, true):
                        subgroups?.append(SubgroupDefinition(column: try o.requireString("column"),
                                                             table: try o.choice("table", TableRole.self) ?? .encounters, bands: bands))
                    case (true, false), (false, false):
                        if !o.has("feature") && o.pairs.allSatisfy({ editDistance($0.key, "feature", atMost: 2) == nil }) {
                            throw error(.missingKey, o.sub("feature"), o.node,
                                        "a subgroup needs 'feature' (a feature of this spec) or 'column' (a column of the encounters or patients table)")
                        }
                        subgroups?.append(SubgroupDefinition(feature: try o.requireString("feature"), bands: bands))
                    }
                    try o.finish()
                }
            }
            try r.finish()
        }
        var card: ModelCardStatement?
        if let c = try top.object("model_card") {
            card = ModelCardStatement(intendedUse: try c.string("intended_use"), outOfScope: try c.string("out_of_scope"),
                                      dataSource: try c.string("data_source"), period: try c.string("period"),
                                      limitations: try c.strings("limitations") ?? [])
            try c.finish()
        }
        try top.finish()
        return DatasetSpec(name: name, description: description, search: search, encounters: encounters, patients: patients, events: events,
                           label: label, exclusions: exclusions, split: split, firstEncounterOnly: firstOnly, features: features,
                           lace: lace, reportDistributions: distributions, reportSubgroups: subgroups, reportAblation: ablation, modelCard: card,
                           labelFollowUpEnd: followUpEnd)
    }

    func feature(_ o: Object) throws(SpecError) -> FeatureDefinition {
        let name = try o.requireString("name")
        guard let kind = try o.choice("kind", FeatureDefinition.Kind.self) else {
            throw o.missing("kind")
        }
        var f = FeatureDefinition(name: name, kind: kind)
        f.description = try o.string("description") ?? name
        f.table = try o.choice("table", TableRole.self) ?? .encounters
        // Each kind reads its own keys; a key of another kind is then reported as unknown.
        switch kind {
        case .numeric:
            f.column = try o.requireString("column")
        case .categorical:
            f.column = try o.requireString("column")
            f.minCount = try o.int("min_count", min: 1) ?? 1
            f.maxLevels = try o.int("max_levels", min: 1)
            f.other = try o.string("other")
        case .ordinal:
            f.column = try o.requireString("column")
            f.levels = try o.strings("levels") ?? []
            if f.levels.isEmpty { throw error(.missingKey, o.sub("levels"), o.node, "an ordinal feature needs its levels in order") }
        case .diagnosis:
            f.grouping = try o.choice("grouping", FeatureDefinition.Grouping.self) ?? .chapter
            f.minCount = try o.int("min_count", min: 1) ?? 20
            if o.has("events") {
                f.events = try o.requireString("events")
                f.aggregate = try o.choice("aggregate", FeatureDefinition.Aggregate.self) ?? .principal
                if f.aggregate != .principal {
                    throw error(.badValue, o.sub("aggregate"), nil, "a diagnosis feature over events takes aggregate: principal")
                }
            } else {
                f.column = try o.requireString("column")
                guard let system = try o.choice("system", CodeSystem.self) else {
                    throw error(.missingKey, o.sub("system"), o.node, "a diagnosis column needs its system (icd9 or icd10)")
                }
                f.system = system
            }
        case .derived:
            guard let derive = try o.choice("derive", FeatureDefinition.Derivation.self) else {
                throw o.missing("derive")
            }
            f.derive = derive
            switch derive {
            case .ageAtAdmission:
                f.ageColumn = try o.requireString("age")
                f.yearColumn = try o.requireString("year")
            case .countOf, .sumOf:
                let columns = try o.strings("columns") ?? []
                if columns.isEmpty { throw error(.missingKey, o.sub("columns"), o.node, "\(derive.rawValue) needs 'columns' (a list of column names)") }
                f.columns = columns
                if derive == .countOf {
                    let values = try o.strings("values") ?? []
                    if values.isEmpty { throw error(.missingKey, o.sub("values"), o.node, "count_of needs 'values' (the texts counted)") }
                    f.values = values
                }
            case .lengthOfStayDays:
                break
            }
        case .event:
            f.events = try o.requireString("events")
            guard let aggregate = try o.choice("aggregate", FeatureDefinition.Aggregate.self), aggregate != .principal else {
                throw error(.badValue, o.sub("aggregate"), o.value("aggregate") ?? o.node,
                            "an event feature needs aggregate: first, last, min, max, mean, count or any")
            }
            f.aggregate = aggregate
            f.codes = try o.strings("codes") ?? []
            f.group = try o.string("group")
        case .history:
            guard let history = try o.choice("history", FeatureDefinition.HistoryKind.self) else {
                throw o.missing("history")
            }
            f.history = history
            f.of = try o.string("of")
            f.equals = try o.strings("equals") ?? []
            f.windowDays = try o.int("window_days", min: 1)
        }
        try o.finish()
        return f
    }
}

/// The Levenshtein distance between `a` and `b` when it is at most `limit`, else nil: enough to
/// tell a misspelt spec key from another key (a dozen short names; no library needed for that).
func editDistance(_ a: String, _ b: String, atMost limit: Int) -> Int? {
    let a = Array(a), b = Array(b)
    guard abs(a.count - b.count) <= limit else { return nil }
    var previous = Array(0...b.count)
    for (i, x) in a.enumerated() {
        var current = [i + 1]
        current.reserveCapacity(b.count + 1)
        for (j, y) in b.enumerated() {
            let substitution = previous[j] + (x == y ? 0 : 1)
            current.append(Swift.min(previous[j + 1] + 1, current[j] + 1, substitution))
        }
        previous = current
    }
    let distance = previous[b.count]
    return distance <= limit ? distance : nil
}
