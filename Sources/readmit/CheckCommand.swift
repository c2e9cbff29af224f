import ArgumentParser
import Foundation
import ReadmitCore
import ReadmitSpec

/// `readmit check`: reads an extract through its spec, without training, and says what it found.
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Read a dataset through its spec without training, and report what was found and every problem with its place.",
        discussion: """
            Prints rows per table, the cohort (encounters, patients, exclusions per reason, label \
            prevalence, the split), date ranges, missingness per feature, levels per categorical feature, \
            and each problem with its file, line and column. Exits 1 when the spec or the data has a problem \
            that training would stop at.
            """
    )

    @OptionGroup var source: DatasetOptions

    @Option(name: .long, help: "How many row problems to list.")
    var problems: Int = 20

    @OptionGroup var global: GlobalOptions

    func validate() throws {
        // -1 listed none and counted one row too many ("... and 3 more" of 2).
        guard problems >= 0 else { throw ValidationError("--problems must be 0 or more, not \(problems)") }
    }

    func run() throws {
        try runReportingErrors {
            let (specPath, tables) = try source.load()
            let spec = tables.spec
            let data = try PreparedData(tables: tables, strict: false)
            let c = data.cohort
            print("Dataset '\(spec.name)' (\(specPath))")
            var tableRows = [[tables.encounters.file, "encounters", Format.int(tables.encounters.rowCount)]]
            if let p = tables.patients { tableRows.append([p.file, "patients", Format.int(p.rowCount)]) }
            for (i, e) in tables.events.enumerated() {
                tableRows.append([e.file, "events '\(spec.events[i].name)'", Format.int(e.rowCount) + " (\(Format.int(data.raw.unmatchedEvents[i])) match no encounter)"])
            }
            print(TextTable.render(header: ["file", "table", "rows"], rows: tableRows))
            print()
            let train = c.isTest.filter { !$0 }.count, test = c.isTest.count - train
            let positives = c.labels.filter { $0 }.count
            var cohortRows: [[String]] = [
                ["encounters", Format.int(data.records.count)],
                ["patients", Format.int(Set(data.records.patientKeys).count)],
            ]
            cohortRows += c.exclusions.map { ["excluded: \($0.reason)", Format.int($0.count)] }
            if c.notFirstEncounter > 0 { cohortRows.append(["left out: not the patient's first encounter", Format.int(c.notFirstEncounter)]) }
            if !data.errors.byRow.isEmpty { cohortRows.append(["left out: rows with a problem (below)", Format.int(data.errors.byRow.count)]) }
            cohortRows += [
                ["cohort encounters / patients", "\(Format.int(c.rows.count)) / \(Format.int(Set(c.patients).count))"],
                ["label prevalence", "\(Format.int(positives)) (\(Format.pct(Double(positives) / Double(max(c.labels.count, 1)))))"],
                ["split", TrainingPipeline.describeSplit(spec.split)],
                ["training / test encounters", "\(Format.int(train)) / \(Format.int(test))"],
            ]
            if c.leftOutBySplit > 0 { cohortRows.append(["left out by the split", Format.int(c.leftOutBySplit)]) }
            if c.patientsOnBothSides > 0 { cohortRows.append(["patients on both sides of the split", Format.int(c.patientsOnBothSides)]) }
            if data.records.unmatchedPatients > 0 { cohortRows.append(["encounters without a patients-table row", Format.int(data.records.unmatchedPatients)]) }
            if let a = data.records.admitted, let d = data.records.discharged {
                func range(_ v: [Double]) -> String {
                    let present = v.filter { !$0.isNaN }
                    guard let lo = present.min(), let hi = present.max() else { return "none" }
                    return "\(Self.date(lo)) .. \(Self.date(hi))"
                }
                cohortRows.append(["admitted", range(a)])
                cohortRows.append(["discharged", range(d)])
            }
            print("Cohort")
            print(TextTable.render(header: ["", "value"], rows: cohortRows))
            print()

            // Features over the cohort rows, with vocabularies learned from its training rows.
            let trainingRows = c.rows.indices.filter { !c.isTest[$0] }.map { c.rows[$0] }
            let schema = FeatureSchemaBuilder.build(spec: spec, raw: data.raw, trainingRows: trainingRows)
            let x = FeatureEncoder.encode(raw: data.raw, spec: spec, schema: schema)
            var featureRows: [[String]] = []
            var empty: [String] = []  // features without a value in the cohort (history aside: a first stay has none)
            for (j, f) in schema.features.enumerated() {
                var values: [Double] = []
                for r in c.rows { values.append(x.values[r * x.columns + j]) }
                let missing = values.filter(\.isNaN).count
                let present = values.filter { !$0.isNaN }.sorted()
                var detail: String
                if f.kind == .categorical {
                    var counts = [Int](repeating: 0, count: f.levels.count)
                    for v in present { counts[Int(v)] += 1 }
                    let top = counts.indices.sorted { counts[$0] > counts[$1] }.prefix(4).map { "\(f.levels[$0]) \(Format.int(counts[$0]))" }
                    detail = "\(f.levels.count) levels: " + top.joined(separator: ", ") + (f.levels.count > 4 ? ", ..." : "")
                } else if let lo = present.first, let hi = present.last {
                    detail = "min \(Format.f(lo, 2)), median \(Format.f(present[present.count / 2], 2)), max \(Format.f(hi, 2))"
                } else {
                    detail = "no values"
                }
                featureRows.append([f.name, spec.features[j].kind.rawValue, Format.pct(Double(missing) / Double(max(values.count, 1)), 1), detail])
                if present.isEmpty && !values.isEmpty && spec.features[j].kind != .history { empty.append(f.name) }
            }
            print("Features (cohort encounters; levels learned from the training split)")
            print(TextTable.render(header: ["feature", "kind", "missing", "values"], rows: featureRows))
            print()

            // The report's subgroups over the test encounters, before a long training: a group
            // with few readmissions will have wide intervals.
            let testIndices = c.rows.indices.filter { c.isTest[$0] }
            let subgroupSizes = SubgroupEvaluation.sizes(spec.reportSubgroups ?? [], schema: schema, x: x.selecting(rows: testIndices.map { c.rows[$0] }),
                                                         columns: data.subgroupColumns, tableRows: testIndices.map { c.rows[$0] }, labels: testIndices.map { c.labels[$0] })
            if !subgroupSizes.isEmpty {
                print("Report subgroups (test encounters: encounters / readmitted per group)")
                print(TextTable.render(header: ["subgroup", "of", "groups"], rows: subgroupSizes.map { s in
                    [s.name, s.isColumn ? "column" : "feature",
                     s.groups.map { "\($0.name) \(Format.int($0.count))/\(Format.int($0.events))" }.joined(separator: ", ")]
                }))
                print()
            }

            var failures: [String] = []
            if !empty.isEmpty {
                print("note: \(empty.count == 1 ? "feature" : "features") \(empty.map { "'\($0)'" }.joined(separator: ", ")) \(empty.count == 1 ? "has" : "have") no value in any cohort encounter and cannot inform the model (a categorical one that keeps no level: see its min_count and max_levels)")
            }
            for note in Self.unlearnedLACELevels(spec.lace, schema: schema) { print("note: " + note) }
            for o in FeatureSchemaBuilder.otherLevelsInData(spec: spec, raw: data.raw, trainingRows: trainingRows) {
                print("note: feature '\(o.feature)': other: '\(o.other)' is also a value of its column in \(Format.int(o.rows)) training \(o.rows == 1 ? "row" : "rows"), so the rare levels are merged with that level (name 'other' a text the column never holds to keep them apart)")
            }
            if let note = Self.shortFollowUp(spec, data.records, cohortRows: c.rows) { print("note: " + note) }
            for s in subgroupSizes {
                let small = s.groups.filter { $0.events < SubgroupEvaluation.smallGroupEvents }
                guard !small.isEmpty else { continue }
                print("note: subgroup '\(s.name)': \(small.count) of its \(s.groups.count) groups \(small.count == 1 ? "has" : "have") fewer than \(SubgroupEvaluation.smallGroupEvents) readmissions among the test encounters (\(small.prefix(5).map(\.name).joined(separator: ", "))\(small.count > 5 ? ", ..." : "")); the report shows \(small.count == 1 ? "it" : "them") with wide intervals")
            }
            for (i, n) in data.raw.unmatchedEvents.enumerated() where n > 0 {
                print("note: \(Format.int(n)) rows of \(tables.events[i].file) match no encounter (empty or unknown \(spec.events[i].encounterID)); they are left out")
            }
            for (i, skipped) in data.raw.eventValuesNotNumbers.enumerated() where skipped.count > 0 {
                let first = skipped.first.map { e in " (the first: line \(e.line.map(String.init) ?? "?"), \(e.message))" } ?? ""
                print("note: \(Format.int(skipped.count)) rows of \(tables.events[i].file) that features read have a \(spec.events[i].value ?? "value") that is not a number\(first); they count as events but are left out of first, last, min, max and mean")
            }
            for (i, n) in data.raw.eventsAfterDischarge.enumerated() where n > 0 {
                print("note: \(Format.int(n)) rows of \(tables.events[i].file) are timed after their stay's discharge; they are left out (not known at discharge)")
            }
            let sorted = data.errors.byRow.sorted { $0.key < $1.key }
            for (_, error) in sorted.prefix(problems) { failures.append(error.description) }
            if sorted.count > problems { failures.append("... and \(Format.int(sorted.count - problems)) more \(sorted.count - problems == 1 ? "row" : "rows") with a problem") }
            do throws(DataError) { try data.requireTrainable() } catch { failures.append(error.description) }
            if failures.isEmpty {
                print("No problems found: `readmit train --dataset \(specPath)` can train on this.")
            } else {
                print("Problems (training stops at the first):")
                for f in failures { print("  " + f) }
                throw ExitCode(1)
            }
        }
    }

    /// The LACE reference's acute and comorbidity levels that no listed feature learned: they
    /// never score (a typo, `Emergency` where the extract writes `1`, or a level under
    /// `min_count`), and the reference is weaker than the spec reads without a word.
    static func unlearnedLACELevels(_ lace: LACEDefinition?, schema: FeatureSchema) -> [String] {
        guard let lace else { return [] }
        var notes: [String] = []
        if let name = lace.acuteFeature, let j = schema.index(of: name) {
            let learned = schema.features[j].levels
            let absent = lace.acuteLevels.filter { !learned.contains($0) }
            if !absent.isEmpty {
                notes.append("references.lace.acute.levels: \(absent.map { "'\($0)'" }.joined(separator: ", ")) \(absent.count == 1 ? "is not a level" : "are not levels") of '\(name)' in the training split, so no stay scores points for \(absent.count == 1 ? "it" : "them") (its levels: \(learned.prefix(12).joined(separator: ", "))\(learned.count > 12 ? ", ..." : ""))")
            }
        }
        let features = lace.comorbidityFeatures.compactMap { schema.index(of: $0) }.map { schema.features[$0] }
        let absent = lace.comorbidityLevels.filter { level in
            !features.contains { $0.kind == .categorical ? $0.levels.contains(level) : Double(level) != nil }
        }
        if !absent.isEmpty && !features.isEmpty {
            notes.append("references.lace.comorbidity.levels: \(absent.map { "'\($0)'" }.joined(separator: ", ")) \(absent.count == 1 ? "is a level" : "are levels") of none of \(lace.comorbidityFeatures.joined(separator: ", ")) in the training split, so no stay scores points for \(absent.count == 1 ? "it" : "them")")
        }
        return notes
    }

    /// A dated label without a declared end of follow-up: the cohort stays whose window runs
    /// past the latest admission in the extract, labelled "not readmitted" unless readmitted
    /// within what the extract covers. Said once, with the way to leave them out.
    static func shortFollowUp(_ spec: DatasetSpec, _ records: EncounterRecords, cohortRows: [Int]) -> String? {
        guard spec.labelFollowUpEnd == nil, case .readmissionWithinDays(let days) = spec.label,
              let admitted = records.admitted, let discharged = records.discharged,
              let latest = admitted.filter({ !$0.isNaN }).max() else { return nil }
        let window = Double(days) * 86_400
        let short = cohortRows.filter { discharged[$0] + window > latest }.count
        guard short > 0 else { return nil }
        return "\(Format.int(short)) cohort \(short == 1 ? "stay's" : "stays'") \(days)-day label \(short == 1 ? "window runs" : "windows run") past the latest admission in the extract (\(date(latest))): if the extract ends there, a readmission after it is not seen; label.follow_up_end leaves such stays out (docs/DATASET_SPEC.md, label)"
    }

    static func date(_ seconds: Double) -> String {
        let days = Int((seconds / 86_400).rounded(.down))
        return String(utcTimestamp(days * 86_400).prefix(10))
    }
}
