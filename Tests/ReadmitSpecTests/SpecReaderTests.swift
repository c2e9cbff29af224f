import Foundation
import ReadmitSpec
import XCTest

final class SpecReaderTests: XCTestCase {
    static let minimal = """
        name: t
        encounters: {file: e.csv, encounter_id: id, patient_id: pid, order: id}
        label: {column: y, positive: ["1"], negative: ["0"]}
        features:
          - name: x
            kind: numeric
            column: x
        """

    func parse(_ text: String) throws -> DatasetSpec { try SpecReader.parse(text, file: "spec.yaml") }

    func error(_ text: String) -> SpecError? {
        do { _ = try parse(text); return nil } catch { return error as? SpecError }
    }

    func testMinimalSpecReadsWithDefaults() throws {
        let spec = try parse(Self.minimal)
        XCTAssertEqual(spec.name, "t")
        XCTAssertEqual(spec.encounters.missing, [""])
        XCTAssertEqual(spec.split, .patientHash)
        XCTAssertEqual(spec.label, .column(name: "y", positive: ["1"], negative: ["0"]))
        XCTAssertEqual(spec.features.map(\.name), ["x"])
        XCTAssertFalse(spec.firstEncounterOnly)
    }

    func testScalarsAreReadAsWrittenNotAsYAMLBooleans() throws {
        let spec = try parse(Self.minimal.replacingOccurrences(of: #"positive: ["1"], negative: ["0"]"#, with: #"positive: ["<30"], negative: [NO, ">30"]"#))
        XCTAssertEqual(spec.label, .column(name: "y", positive: ["<30"], negative: ["NO", ">30"]))
    }

    func testUnknownKeyNamesLineColumnAndPath() throws {
        let e = error(Self.minimal + "\n    colum: z\n")
        XCTAssertEqual(e?.code, .unknownKey)
        XCTAssertEqual(e?.key, "features[0].colum")
        XCTAssertEqual(e?.line, 8)
        XCTAssertEqual(e?.column, 5)
        XCTAssertEqual(e?.description.hasPrefix("spec.yaml:8:5: key 'features[0].colum':"), true)
    }

    /// A misspelt key is named as the cause: a required key that is absent points at the near
    /// miss written in its place, and an unknown key suggests the nearest key its mapping reads.
    func testMisspeltKeysAreNamed() throws {
        let required = error(Self.minimal.replacingOccurrences(of: "column: y,", with: "colum: y,"))
        XCTAssertEqual(required?.code, .missingKey)
        XCTAssertEqual(required?.key, "label.column")
        XCTAssertEqual(required?.line, 3)
        XCTAssertEqual(required?.column, 9, "the place of 'colum', not of the mapping")
        XCTAssertEqual(required?.message, "required key 'column' is missing (is 'colum' a misspelling of it?)")
        let kind = error(Self.minimal.replacingOccurrences(of: "kind: numeric", with: "knd: numeric"))
        XCTAssertEqual(kind?.message, "required key 'kind' is missing (is 'knd' a misspelling of it?)")
        XCTAssertEqual(kind?.line, 6)
        let unknown = error(Self.minimal + "\nexclusion:\n  - {reason: r, column: c, values: [\"1\"]}\n")
        XCTAssertEqual(unknown?.code, .unknownKey)
        XCTAssertEqual(unknown?.message, "unknown key 'exclusion' (did you mean 'exclusions'?)")
        // Nothing near: no guess.
        XCTAssertEqual(error(Self.minimal + "\nzzz: 1\n")?.message, "unknown key 'zzz'")
        XCTAssertEqual(error(Self.minimal.replacingOccurrences(of: "column: y,", with: "target: y,"))?.message,
                       "required key 'column' is missing")
    }

    func testKeyOfAnotherKindIsUnknown() throws {
        let e = error(Self.minimal + "\n    levels: [a]\n")
        XCTAssertEqual(e?.code, .unknownKey)
        XCTAssertEqual(e?.key, "features[0].levels")
    }

    func testWrongTypeAndBadChoice() throws {
        XCTAssertEqual(error(Self.minimal.replacingOccurrences(of: "kind: numeric", with: "kind: number"))?.key, "features[0].kind")
        XCTAssertEqual(error(Self.minimal.replacingOccurrences(of: "name: t", with: "name: [t]"))?.code, .badValue)
        let e = error(Self.minimal + "\ncohort: {first_encounter_only: yes}\n")
        XCTAssertEqual(e?.key, "cohort.first_encounter_only")
    }

    func testMissingKeysAndSyntax() throws {
        XCTAssertEqual(error(Self.minimal.replacingOccurrences(of: "patient_id: pid, ", with: ""))?.key, "encounters.patient_id")
        XCTAssertEqual(error("name: [unclosed\n")?.code, .syntax)
        XCTAssertNotNil(error("name: [unclosed\n")?.line)
        XCTAssertEqual(error("")?.code, .syntax)
    }

    func testRepeatedKeysAreOneErrorWhateverTheParse() throws {
        // A repeated text key is placed at its first occurrence (Yams' choice, sound for texts).
        let e = error(Self.minimal + "\nname: u\n")
        XCTAssertEqual(e?.code, .syntax)
        XCTAssertEqual(e?.message, "not valid YAML: a mapping repeats the key 'name'")
        XCTAssertEqual(e?.line, 1)
        XCTAssertEqual(e?.column, 1)
        // With a key that is not a text among the repeated ones, Yams' place changed between
        // parses of one text (found by fuzz/ `spec`): the error is the same every time, without
        // a place, and never quotes the whole file.
        let keys = (0..<12).map { "k\($0)" }
        let twice = keys.map { "\($0): x\n" }.joined()
        let repeated = Self.minimal + "\n" + twice + "? {missing: [\"\"]}\n: 1\n" + twice + "? {missing: [\"\"]}\n: 2\n"
        let first = error(repeated)
        XCTAssertEqual(first?.code, .syntax)
        XCTAssertNil(first?.line)
        XCTAssertEqual(first?.message, "not valid YAML: a mapping repeats the keys " + keys.sorted().map { "'\($0)'" }.joined(separator: ", ")
                       + ", a key that is not a text")
        for _ in 0..<20 { XCTAssertEqual(error(repeated), first) }
    }

    func testCrossReferencesAreChecked() throws {
        // A label from dates needs dates; a history window needs dates; a feature may be declared once.
        XCTAssertEqual(error(Self.minimal.replacingOccurrences(of: #"{column: y, positive: ["1"], negative: ["0"]}"#, with: "{readmission_within_days: 30}"))?.code, .inconsistent)
        XCTAssertEqual(error(Self.minimal + "\n  - {name: h, kind: history, history: count, window_days: 30}\n")?.key, "features[1].window_days")
        XCTAssertEqual(error(Self.minimal + "\n  - {name: x, kind: numeric, column: x}\n")?.key, "features[1].name")
        XCTAssertEqual(error(Self.minimal + "\n  - {name: l, kind: event, events: labs, aggregate: last}\n")?.key, "features[1].events")
        XCTAssertEqual(error(Self.minimal + "\nreport: {distributions: [nope]}\n")?.key, "report.distributions")
    }

    /// A value with two meanings (positive and negative, test and train, ICD-9 and ICD-10) and an
    /// ordinal level listed twice are refused, naming the second place.
    func testAValueWithTwoMeaningsIsRefused() throws {
        XCTAssertEqual(error(Self.minimal.replacingOccurrences(of: #"negative: ["0"]"#, with: #"negative: ["0", "1"]"#))?.key, "label.negative[1]")
        XCTAssertEqual(error(Self.minimal + "\nsplit: {method: column, column: fold, test: [a, b], train: [c, b]}\n")?.key, "split.train[1]")
        XCTAssertEqual(error(Self.minimal + "\n  - {name: o, kind: ordinal, column: o, levels: [low, mid, low]}\n")?.key, "features[1].levels[2]")
        XCTAssertEqual(error(Self.minimal + """

            events:
              - {name: dx, file: dx.csv, encounter_id: id, code: c, code_system: {column: v, icd9: ["9"], icd10: ["10", "9"]}}
            """)?.key, "events[0].code_system.icd10[1]")
        XCTAssertNoThrow(try parse(Self.minimal + "\n  - {name: o, kind: ordinal, column: o, levels: [low, mid, high]}\n"))
    }

    /// A history key its kind does not read is refused (it was ignored: `previous` with a
    /// window was still the last stay, whatever its age; `count_positive` with `of` counted labels).
    func testHistoryKeysTheKindDoesNotReadAreRefused() throws {
        let dated = Self.minimal.replacingOccurrences(of: "order: id}", with: #"admitted: {column: a, format: "%Y-%m-%d"}, discharged: {column: d, format: "%Y-%m-%d"}}"#)
        XCTAssertEqual(error(dated + "\n  - {name: h, kind: history, history: previous, of: x, window_days: 30}\n")?.key, "features[1].window_days")
        XCTAssertEqual(error(dated + "\n  - {name: h, kind: history, history: days_since_last_discharge, window_days: 30}\n")?.key, "features[1].window_days")
        XCTAssertEqual(error(Self.minimal + "\n  - {name: h, kind: history, history: count_positive, of: x}\n")?.key, "features[1].of")
        XCTAssertEqual(error(dated + "\n  - {name: h, kind: history, history: days_since_last_discharge, of: x}\n")?.key, "features[1].of")
        XCTAssertNoThrow(try parse(dated + "\n  - {name: h, kind: history, history: count_positive, window_days: 365}\n"))
    }

    /// A feature that reads the stay's own label is leakage: refused, naming the key. A history
    /// feature of the label (an earlier stay's settled outcome) and a patient-table column that
    /// happens to share the label's name are not.
    func testAFeatureOfTheLabelColumnIsRefused() throws {
        let leak = error(Self.minimal + "\n  - {name: outcome, kind: categorical, column: y}\n")
        XCTAssertEqual(leak?.code, .inconsistent)
        XCTAssertEqual(leak?.key, "features[1].column")
        XCTAssertTrue(leak?.message.contains("reads the label column 'y'") ?? false, "\(String(describing: leak))")
        XCTAssertEqual(error(Self.minimal + "\n  - {name: n, kind: derived, derive: count_of, columns: [x, y], values: [\"1\"]}\n")?.key,
                       "features[1].columns[1]")
        XCTAssertNoThrow(try parse(Self.minimal + "\n  - {name: p, kind: history, history: previous, of: y, equals: [\"1\"]}\n"))
        XCTAssertNoThrow(try parse(Self.minimal.replacingOccurrences(of: "order: id}", with: "order: id}\npatients: {file: p.csv, patient_id: pid}")
                                   + "\n  - {name: py, kind: numeric, column: y, table: patients}\n"))
    }

    /// `label.follow_up_end` is a date or `latest_admission`, and goes with a label from dates.
    func testFollowUpEndIsReadAndChecked() throws {
        let dated = Self.minimal.replacingOccurrences(of: "order: id}", with: #"admitted: {column: a, format: "%Y-%m-%d"}, discharged: {column: d, format: "%Y-%m-%d"}}"#)
            .replacingOccurrences(of: #"label: {column: y, positive: ["1"], negative: ["0"]}"#, with: "label: {readmission_within_days: 30, follow_up_end: END}")
        XCTAssertEqual(try parse(dated.replacingOccurrences(of: "END", with: "\"2024-06-30\"")).labelFollowUpEnd, "2024-06-30")
        XCTAssertEqual(try parse(dated.replacingOccurrences(of: "END", with: "latest_admission")).labelFollowUpEnd, "latest_admission")
        XCTAssertEqual(error(dated.replacingOccurrences(of: "END", with: "\"2024-02-30\""))?.key, "label.follow_up_end")
        XCTAssertEqual(error(dated.replacingOccurrences(of: "END", with: "latest"))?.key, "label.follow_up_end")
        let column = Self.minimal.replacingOccurrences(of: #"negative: ["0"]}"#, with: #"negative: ["0"], follow_up_end: "2024-06-30"}"#)
        XCTAssertEqual(error(column)?.message, "follow_up_end goes with readmission_within_days (a label column states each outcome itself)")
        XCTAssertNil(try parse(Self.minimal).labelFollowUpEnd)
    }

    /// The LACE reference reads L and E as numbers and A as a level: a feature of the other
    /// sort is refused (an acute feature that was a number crashed training; a categorical
    /// length of stay scored level indices as days). Report lists name a feature once.
    func testReferencesAndReportListsAreChecked() throws {
        let spec = Self.minimal + "\n  - {name: kind, kind: categorical, column: kind}\n  - {name: o, kind: ordinal, column: o, levels: [a, b]}\n"
        func lace(_ body: String) -> String { spec + "references:\n  lace: {\(body)}\n" }
        XCTAssertEqual(error(lace("acute: {feature: x, levels: [\"1\"]}"))?.key, "references.lace.acute.feature")
        XCTAssertEqual(error(lace("acute: {feature: kind, levels: []}"))?.key, "references.lace.acute.levels")
        XCTAssertEqual(error(lace("length_of_stay: o"))?.key, "references.lace.length_of_stay")
        XCTAssertEqual(error(lace("emergency_visits: kind"))?.message,
                       "feature 'kind' is categorical: emergency_visits is a number (a numeric, derived, event or history feature)")
        XCTAssertNoThrow(try parse(lace("length_of_stay: x, emergency_visits: x, acute: {feature: o, levels: [b]}")))
        XCTAssertEqual(error(spec + "report:\n  distributions: [x, kind, x]\n")?.message, "feature 'x' is listed twice")
        XCTAssertEqual(error(spec + "report:\n  ablation:\n    - {group: g, features: [x, kind, x]}\n")?.key, "report.ablation[0].features")
        XCTAssertEqual(error(spec + "report:\n  ablation:\n    - {group: g, features: [x]}\n    - {group: g, features: [kind]}\n")?.key,
                       "report.ablation[1].group")
    }

    /// Subgroups: a categorical feature by level, a numeric one by ascending bands; anything
    /// else is refused naming the entry.
    func testSubgroupsAreReadAndChecked() throws {
        let withCategory = Self.minimal + "\n  - {name: sex, kind: categorical, column: sex}\n"
        let spec = try parse(withCategory + "report:\n  subgroups: [{feature: sex}, {feature: x, bands: [18, 65.5]}]\n")
        XCTAssertEqual(spec.reportSubgroups, [SubgroupDefinition(feature: "sex"), SubgroupDefinition(feature: "x", bands: [18, 65.5])])
        XCTAssertNil(try parse(Self.minimal).reportSubgroups)
        func key(_ report: String) -> String? { error(withCategory + "report:\n  subgroups: \(report)\n")?.key }
        XCTAssertEqual(key("[{feature: nope}]"), "report.subgroups[0]")
        XCTAssertEqual(key("[{feature: sex}, {feature: x}]"), "report.subgroups[1]")  // numeric without bands
        XCTAssertEqual(key("[{feature: sex, bands: [1]}]"), "report.subgroups[0]")   // categorical with bands
        XCTAssertEqual(key("[{feature: x, bands: [5, 5]}]"), "report.subgroups[0]")  // not ascending
        XCTAssertEqual(key("[{feature: x, bands: [a]}]"), "report.subgroups[0].bands[0]")
        XCTAssertEqual(key("[{feature: sex}, {feature: sex}]"), "report.subgroups[1]")
        XCTAssertEqual(key("[{feature: sex, colour: red}]"), "report.subgroups[0].colour")
        XCTAssertEqual(key("[{feature: x, bands: []}]"), "report.subgroups[0].bands")
        XCTAssertEqual(error(withCategory + "report:\n  subgroups: [{feature: race}]\n")?.message,
                       "no feature is called 'race' (a column the model does not read is given as 'column')")

        // A column the model need not read (race kept out of the inputs, audited all the same):
        // its texts as written, or bands of its numbers; from the patients table when declared.
        let withPatients = withCategory.replacingOccurrences(of: "order: id}", with: "order: id}\npatients: {file: p.csv, patient_id: pid}")
        let columns = try parse(withPatients + "report:\n  subgroups: [{column: race}, {column: ethnicity, table: patients}, {column: bmi, bands: [30]}, {feature: sex}]\n")
        XCTAssertEqual(columns.reportSubgroups, [SubgroupDefinition(column: "race"), SubgroupDefinition(column: "ethnicity", table: .patients),
                                                 SubgroupDefinition(column: "bmi", bands: [30]), SubgroupDefinition(feature: "sex")])
        XCTAssertEqual(columns.reportSubgroups?.map(\.name), ["race", "ethnicity", "bmi", "sex"])
        XCTAssertEqual(key("[{feature: sex, column: race}]"), "report.subgroups[0].column")          // both
        XCTAssertEqual(error(withCategory + "report:\n  subgroups: [{bands: [1]}]\n")?.message,
                       "a subgroup needs 'feature' (a feature of this spec) or 'column' (a column of the encounters or patients table)")
        XCTAssertEqual(key("[{featur: sex}]"), "report.subgroups[0].feature")                       // misspelt: named at its line
        XCTAssertEqual(key("[{feature: sex, table: patients}]"), "report.subgroups[0].table")       // a feature has its own table
        XCTAssertEqual(key("[{column: race, table: patients}]"), "report.subgroups[0].table")       // no patients table declared
        XCTAssertEqual(key("[{column: race, table: wards}]"), "report.subgroups[0].table")
        XCTAssertEqual(key("[{column: sex}, {feature: sex}]"), "report.subgroups[1]")               // one name, one table in the report
        XCTAssertEqual(key("[{column: age, bands: [65, 18]}]"), "report.subgroups[0]")
        // The spec round-trips through the model file's JSON, with and without subgroups; a
        // feature subgroup is written as before column subgroups existed (old readers, old files).
        XCTAssertEqual(String(decoding: try JSONEncoder().encode(SubgroupDefinition(feature: "sex")), as: UTF8.self), #"{"feature":"sex"}"#)
        XCTAssertEqual(try JSONDecoder().decode(SubgroupDefinition.self, from: Data(#"{"feature":"age","bands":[45]}"#.utf8)),
                       SubgroupDefinition(feature: "age", bands: [45]))
        for s in [spec, columns, try parse(Self.minimal)] {
            XCTAssertEqual(try JSONDecoder().decode(DatasetSpec.self, from: try JSONEncoder().encode(s)), s)
        }
    }

    func testModelCardStatementIsReadAndChecked() throws {
        let card = "\nmodel_card:\n  intended_use: flag patients for a follow-up call\n  period: 2001-2003\n  limitations: [one hospital, \"no dates\"]\n"
        let spec = try parse(Self.minimal + card)
        XCTAssertEqual(spec.modelCard, ModelCardStatement(intendedUse: "flag patients for a follow-up call", period: "2001-2003",
                                                          limitations: ["one hospital", "no dates"]))
        XCTAssertNil(try parse(Self.minimal).modelCard)
        XCTAssertEqual(error(Self.minimal + "\nmodel_card:\n  audience: everyone\n")?.key, "model_card.audience")
        XCTAssertEqual(error(Self.minimal + "\nmodel_card:\n  intended_use: [a, b]\n")?.key, "model_card.intended_use")
        XCTAssertEqual(try JSONDecoder().decode(DatasetSpec.self, from: try JSONEncoder().encode(spec)), spec)
    }

    func testBadTimestampFormatIsRejected() throws {
        let dated = Self.minimal.replacingOccurrences(of: "order: id}", with: #"admitted: {column: a, format: "%Y-%q"}, discharged: {column: d, format: "%Y-%m-%d"}}"#)
        XCTAssertEqual(error(dated)?.key, "encounters.admitted.format")
    }

    /// Ablation groups: declared ones are read and checked; without them, one group per kind.
    func testAblationGroupsAreReadAndChecked() throws {
        let withCategory = Self.minimal + "\n  - {name: sex, kind: categorical, column: sex}\n"
        let spec = try parse(withCategory + "report:\n  ablation: [{group: who, features: [sex]}, {group: all, features: [x, sex]}]\n")
        XCTAssertEqual(spec.ablationGroups, [AblationGroup(name: "who", features: ["sex"]), AblationGroup(name: "all", features: ["x", "sex"])])
        let byKind = try parse(withCategory)
        XCTAssertNil(byKind.reportAblation)
        XCTAssertEqual(byKind.ablationGroups, [AblationGroup(name: "numeric features", features: ["x"]),
                                               AblationGroup(name: "categorical features", features: ["sex"])])
        func key(_ report: String) -> String? { error(withCategory + "report:\n  ablation: \(report)\n")?.key }
        XCTAssertEqual(key("[{group: g, features: [nope]}]"), "report.ablation[0].features")
        XCTAssertEqual(key("[{group: g, features: []}]"), "report.ablation[0].features")
        XCTAssertEqual(key("[{features: [sex]}]"), "report.ablation[0].group")
        XCTAssertEqual(key("[{group: g, features: [sex], colour: red}]"), "report.ablation[0].colour")
        XCTAssertEqual(try JSONDecoder().decode(DatasetSpec.self, from: try JSONEncoder().encode(spec)), spec)
    }

    func testShippedSpecsRead() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let diabetes = try SpecReader.read(path: root.appendingPathComponent("data/diabetes130/dataset.yaml").path)
        XCTAssertEqual(diabetes.features.count, 60)
        XCTAssertEqual(diabetes.exclusions.count, 2)
        let mimic = try SpecReader.read(path: root.appendingPathComponent("data/mimic-iv-demo/dataset.yaml").path)
        XCTAssertTrue(mimic.hasDates)
        XCTAssertEqual(mimic.label, .readmissionWithinDays(30))
        XCTAssertEqual(mimic.events.map(\.name), ["diagnoses", "labs"])
    }

    /// A path that is not a spec file says what it is (Foundation's read said only "cannot read").
    func testAPathThatIsNotASpecFileIsNamed() {
        let folder = FileManager.default.temporaryDirectory.path
        for (path, reason) in [(folder, "not a regular file (a directory)"), ("/dev/null", "not a regular file (a device)"),
                               (folder + "/absent-\(UUID().uuidString).yaml", "No such file or directory")] {
            XCTAssertThrowsError(try SpecReader.read(path: path)) { error in
                XCTAssertEqual((error as? SpecError)?.code, .unreadable)
                XCTAssertTrue("\(error)".contains("\(path): cannot read the spec file: \(reason)"), "\(error)")
            }
        }
    }
}

final class TimestampAndICDTests: XCTestCase {
    func testTimestampsParseStrictly() {
        let f = "%Y-%m-%d %H:%M:%S"
        XCTAssertEqual(TimestampFormat.parse("1970-01-02 00:00:01", format: f), 86_401)
        XCTAssertEqual(TimestampFormat.parse("2000-03-01 00:00:00", format: f).map { $0 - TimestampFormat.parse("2000-02-28 00:00:00", format: f)! }, 2 * 86_400)
        XCTAssertNil(TimestampFormat.parse("2001-02-29 00:00:00", format: f))
        XCTAssertNil(TimestampFormat.parse("2001-02-28 00:00", format: f))
        XCTAssertNil(TimestampFormat.parse("2001-02-28 00:00:00x", format: f))
        XCTAssertNil(TimestampFormat.parse("2001-13-01 00:00:00", format: f))
        XCTAssertEqual(TimestampFormat.year(ofSeconds: TimestampFormat.parse("2153-09-17 17:08:00", format: f)!), 2153)
        XCTAssertEqual(TimestampFormat.year(ofSeconds: TimestampFormat.parse("1969-12-31 23:59:59", format: f)!), 1969)
    }

    func testICDChapters() {
        func ch(_ c: String, _ s: CodeSystem) -> String? { ICDChapters.chapter(of: c, system: s).map { ICDChapters.names[$0] } }
        XCTAssertEqual(ch("428", .icd9), "circulatory")
        XCTAssertEqual(ch("4280", .icd9), "circulatory")       // MIMIC writes no dot
        XCTAssertEqual(ch("250.83", .icd9), "diabetes")
        XCTAssertEqual(ch("25000", .icd9), "diabetes")
        XCTAssertEqual(ch("V57", .icd9), "other")
        XCTAssertEqual(ch("I5032", .icd10), "circulatory")
        XCTAssertEqual(ch("E119", .icd10), "diabetes")
        XCTAssertEqual(ch("E785", .icd10), "other")
        XCTAssertEqual(ch("D490", .icd10), "neoplasms")
        XCTAssertEqual(ch("D500", .icd10), "other")
        XCTAssertNil(ch("", .icd10))
        XCTAssertEqual(ICDChapters.category(of: "428.0", system: .icd9), "icd9:428")
        XCTAssertEqual(ICDChapters.category(of: "I5032", system: .icd10), "icd10:I50")
    }

    /// An ICD-9 code's chapter with the plain codes' shortcut (``ICDChapters/plainCategory(_:)``)
    /// is the chapter of the rule without it (`Double` rounded down, or the first three digits),
    /// for random codes of digits and dots around the shortcut's limits and for odd texts.
    func testICD9ChapterOfPlainCodesEqualsTheGeneralRule() {
        func general(_ code: String) -> Int? {
            guard let first = code.utf8.first else { return nil }
            if first == UInt8(ascii: "V") || first == UInt8(ascii: "E") { return 8 }
            let category: Int
            if code.utf8.contains(UInt8(ascii: ".")) || code.count <= 3 {
                guard let x = Double(code), x.isFinite else { return 8 }
                guard let whole = Int(exactly: x.rounded(.down)) else { return 8 }  // past Int: no chapter's
                category = whole
            } else {
                guard let x = Int(code.prefix(3)) else { return 8 }
                category = x
            }
            switch category {
            case 250: return 3
            case 390...459, 785: return 0
            case 460...519, 786: return 1
            case 520...579, 787: return 2
            case 800...999: return 4
            case 710...739: return 5
            case 580...629, 788: return 6
            case 140...239: return 7
            default: return 8
            }
        }
        var state: UInt64 = 9
        func next() -> UInt64 { state = state &* 6364136223846793005 &+ 1442695040888963407; return state >> 33 }
        var codes = ["250.83", "250.", "250", "038", "4280", "V57", "E878.1", ".5", "..", "1..2", "12.3.4", "", "-250", "+250",
                     "2.5e2", "250 ", " 250", "٢٥٠", "249.99999999999999999", "249.9999999999999", "249.999999999999", "389.9999999999999",
                     "999999999999999", "9999999999999999", "459.99999999999", "0", "000", "0000", "00.0"]
        for _ in 0..<50_000 {
            let length = 1 + Int(next() % 20)
            codes.append(String((0..<length).map { _ in Array("0123456789.9994.")[Int(next() % 16)] }))
        }
        for code in codes {
            XCTAssertEqual(ICDChapters.chapter(of: code, system: .icd9), general(code), "'\(code)'")
        }
        // Numbers past every category are "other", not a trap (one stopped the daemon).
        for code in ["99999999999999999999.5", "9223372036854775808.0", "1e300", "-1e300", "1e19", "1000.0", "-0.5", "nan", "inf"] {
            XCTAssertEqual(ICDChapters.chapter(of: code, system: .icd9), 8, "'\(code)'")
        }
    }

    /// The category key the encoder looks levels up by: two codes it accepts share a key
    /// exactly when they share a category, a category text's key is its codes' key, and the
    /// codes it refuses (and the texts no accepted code writes) take the text path.
    func testCategoryKeyIdentifiesTheCategory() {
        let codes = ["428.0", "428", "4281", "428.1", "42", "4", "4.28", "42.8", "V57.89", "v57", "V57", "e878.1", "E8781", "E878",
                     "I5032", "i50.3", "I50", "i5", "I5", " 42", "4 2.1", "abc.def", "ABC", "ab", "a b", "!#$", "~~~~", "1.", "12.3.4",
                     ".5", "..", ".", "", "42.\u{301}x", "4\u{301}2", "é12", "42\r\n", "\u{1F600}1", "428é"]
        for system in CodeSystem.allCases {
            var categoryOfKey: [UInt64: String] = [:], keyOfCategory: [String: UInt64] = [:]
            for code in codes {
                let category = ICDChapters.category(of: code, system: system)
                guard let key = ICDChapters.categoryKey(of: code, system: system) else {
                    XCTAssertTrue(code.isEmpty || code.hasPrefix(".") || !code.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F },
                                  "\(code.debugDescription) should have a key")
                    continue
                }
                guard let category else { XCTFail("\(code.debugDescription): a key but no category"); continue }
                XCTAssertEqual(ICDChapters.categoryKey(ofCategory: category), key, "\(code.debugDescription) in \(system): its category's key")
                XCTAssertEqual(categoryOfKey[key, default: category], category, "\(code.debugDescription): one key, two categories")
                XCTAssertEqual(keyOfCategory[category, default: key], key, "\(code.debugDescription): one category, two keys")
                categoryOfKey[key] = category
                keyOfCategory[category] = key
            }
            XCTAssertGreaterThan(categoryOfKey.count, 15, "\(system): the codes cover many categories")
        }
        for text in ["icd9:", "icd9:4281", "icd9:42.", "icd9:abc", "icd11:428", "ICD9:428", "icd9428", "icd9:é", "icd10"] {
            XCTAssertNil(ICDChapters.categoryKey(ofCategory: text), text)
        }
    }

    /// The byte-level path for ASCII codes gives what the String-level definition gives, edge
    /// cases included (the definition is restated here as the reference).
    func testCategoryFastPathMatchesTheDefinition() {
        func reference(_ code: String, _ system: CodeSystem) -> String? {
            if code.isEmpty { return nil }
            let head = code.split(separator: ".").first.map(String.init) ?? code
            return "\(system.rawValue):\(head.prefix(3).uppercased())"
        }
        let codes = ["428.0", "428", "42", "4", "4.28", "42.8", "V57.89", "v57", "e878.1", "E8781", "I5032", "i50.3", " 42", "4 2.1",
                     ".5", "..", ".", "428..1", "abc.def", "ab", "42.\u{301}x", "4\u{301}2", "é12", "42\r\n", "\u{1F600}1", "1.", "12.3.4"]
        for code in codes {
            for system in [CodeSystem.icd9, .icd10] {
                XCTAssertEqual(ICDChapters.category(of: code, system: system), reference(code, system), "code \(code.debugDescription)")
            }
        }
    }
}
