import Foundation
import ReadmitCore
import ReadmitSpec
import ReadmitTables
import XCTest

/// A small dated extract written by hand (admissions, patients, labs in long format, ICD-9 and
/// ICD-10 diagnoses), read through a spec: the label from dates with its edges (a transfer at
/// the minute of discharge, overlapping stays, exactly 30 days), history from dates, joins,
/// aggregations and the declared splits.
final class DatedSpecTests: XCTestCase {
    static let admissions = """
        hadm_id,subject_id,admittime,dischtime,kind,fold
        101,1,2100-01-01 10:00:00,2100-01-05 10:00:00,EW,a
        102,1,2100-01-05 10:00:00,2100-01-08 10:00:00,EW,a
        103,1,2100-01-20 00:00:00,2100-01-25 00:00:00,EL,b
        104,1,2100-01-22 00:00:00,2100-01-24 00:00:00,EL,b
        105,1,2100-03-30 00:00:00,2100-04-01 00:00:00,EW,a
        201,2,2100-02-01 00:00:00,2100-02-03 00:00:00,EW,b
        301,3,2100-05-01 00:00:00,2100-06-01 00:00:00,EL,a
        302,3,2100-07-01 00:00:00,2100-07-03 00:00:00,EW,b

        """
    static let patients = "subject_id,gender,anchor_age,anchor_year\n1,F,50,2098\n2,X,40,2100\n3,M,70,2100\n"
    static let labs = """
        hadm_id,itemid,valuenum,charttime
        103,50912,2.0,2100-01-23 00:00:00
        103,50912,1.0,2100-01-21 00:00:00
        103,50912,1.5,2100-01-22 00:00:00
        103,51222,9.9,2100-01-22 00:00:00
        ,50912,7.0,2100-01-22 00:00:00
        999,50912,7.0,2100-01-22 00:00:00
        101,50912,,2100-01-02 00:00:00

        """
    static let diagnoses = "hadm_id,seq_num,icd_code,icd_version\n103,2,I5032,10\n103,1,4280,9\n101,1,E119,10\n"

    static func spec(split: String = "{method: patient_hash}", extra: String = "", exclusions: String = "") -> String {
        """
        name: dated
        encounters:
          file: admissions.csv
          encounter_id: hadm_id
          patient_id: subject_id
          admitted: {column: admittime, format: "%Y-%m-%d %H:%M:%S"}
          discharged: {column: dischtime, format: "%Y-%m-%d %H:%M:%S"}
        patients: {file: patients.csv, patient_id: subject_id}
        events:
          - {name: labs, file: labs.csv, encounter_id: hadm_id, code: itemid, value: valuenum, time: {column: charttime, format: "%Y-%m-%d %H:%M:%S"}}
          - {name: dx, file: dx.csv, encounter_id: hadm_id, code: icd_code, sequence: seq_num, code_system: {column: icd_version, icd9: ["9"], icd10: ["10"]}}
        label: {readmission_within_days: 30}
        exclusions: [\(exclusions)]
        split: \(split)
        \(extra)
        features:
          - {name: los, kind: derived, derive: length_of_stay_days}
          - {name: age, kind: derived, derive: age_at_admission, age: anchor_age, year: anchor_year}
          - {name: gender, kind: categorical, column: gender, table: patients}
          - {name: kind, kind: categorical, column: kind}
          - {name: creat_last, kind: event, events: labs, codes: ["50912"], aggregate: last}
          - {name: creat_first, kind: event, events: labs, codes: ["50912"], aggregate: first}
          - {name: creat_mean, kind: event, events: labs, codes: ["50912"], aggregate: mean}
          - {name: creat_max, kind: event, events: labs, codes: ["50912"], aggregate: max}
          - {name: lab_count, kind: event, events: labs, aggregate: count}
          - {name: principal, kind: diagnosis, events: dx, aggregate: principal, grouping: chapter}
          - {name: dx_count, kind: event, events: dx, aggregate: count}
          - {name: any_circ, kind: event, events: dx, aggregate: any, group: circulatory}
          - {name: prior, kind: history, history: count}
          - {name: prior_12d, kind: history, history: count, window_days: 12}
          - {name: since_last, kind: history, history: days_since_last_discharge}
          - {name: prev_los, kind: history, history: previous, of: los}
          - {name: prior_pos, kind: history, history: count_positive}
        """
    }

    func load(_ specText: String, labs: String = labs, admissions: String = admissions, patients: String = patients) throws -> PreparedData {
        let dir = TestSupport.temporaryDirectory()
        for (name, text) in [("admissions.csv", admissions), ("patients.csv", patients), ("labs.csv", labs), ("dx.csv", Self.diagnoses)] {
            _ = try TestSupport.write(text, name: name, in: dir)
        }
        let spec = try SpecReader.parse(specText, file: "dated.yaml")
        return try PreparedData(tables: DatasetTables(spec: spec, folders: [dir.path]))
    }

    func features(_ data: PreparedData) -> (FeatureSchema, FeatureMatrix) {
        let schema = FeatureSchemaBuilder.build(spec: data.spec, raw: data.raw, trainingRows: Array(0..<data.records.count))
        return (schema, FeatureEncoder.encode(raw: data.raw, spec: data.spec, schema: schema))
    }

    func testLabelFromDatesCountsTransfersAndOverlapsAsNoReadmission() throws {
        let data = try load(Self.spec())
        // 101: 102 starts at the minute of discharge (a transfer, not a readmission); the next
        // admission after it, 103, starts 14.6 days later: positive.
        // 102: 103 starts 11.6 days after: positive. 103: 104 overlaps it (starts before its
        // discharge) and does not count; 105 is 64 days later: negative. 104: negative.
        // 301: 302 starts exactly 30 days after: positive. 105, 201, 302: no later admission.
        XCTAssertEqual(data.labels, [true, true, false, false, false, false, true, false])
    }

    /// With the end of follow-up declared, a stay whose 30-day window runs past it leaves the
    /// cohort (its "not readmitted" would be a guess), counted as the last exclusion; a window
    /// that ends exactly at the end stays. Without it, every stay is labelled, as before.
    func testStaysWithoutAFullFollowUpLeaveTheCohort() throws {
        func spec(_ end: String) -> String {
            Self.spec().replacingOccurrences(of: "label: {readmission_within_days: 30}", with: "label: {readmission_within_days: 30, follow_up_end: \(end)}")
        }
        // 301 is discharged 2100-06-01 00:00: its window ends 07-01 00:00, the end of 06-30.
        let byDate = try load(spec("\"2100-06-30\""))
        XCTAssertEqual(byDate.cohort.rows, [0, 1, 2, 3, 4, 5, 6])
        XCTAssertEqual(byDate.cohort.exclusions.last?.reason, "follow-up shorter than the label's 30 days (its window runs past the end of follow-up, 2100-06-30)")
        XCTAssertEqual(byDate.cohort.exclusions.last?.count, 1)
        let dayEarlier = try load(spec("\"2100-06-29\""))
        XCTAssertEqual(dayEarlier.cohort.rows, [0, 1, 2, 3, 4, 5])
        XCTAssertEqual(dayEarlier.cohort.excludedCount, 2)
        // The latest admission, 302's on 07-01 00:00, ends the follow-up at the same instant.
        let latest = try load(spec("latest_admission"))
        XCTAssertEqual(latest.cohort.rows, [0, 1, 2, 3, 4, 5, 6])
        XCTAssertEqual(latest.cohort.exclusions.last?.reason, "follow-up shorter than the label's 30 days (its window runs past the latest admission in the extract)")
        XCTAssertEqual(try load(Self.spec()).cohort.rows.count, 8)
        // Labels are the same: only the cohort changes.
        XCTAssertEqual(latest.labels, try load(Self.spec()).labels)
    }

    func testHistoryFromDatesNeverLooksAtLaterOrOverlappingStays() throws {
        let data = try load(Self.spec())
        let (schema, x) = features(data)
        func v(_ row: Int, _ name: String) -> Double { x.values[row * x.columns + schema.index(of: name)!] }
        // 103 (row 2): 101 and 102 ended before it; 102 was the last (discharged 2100-01-08 10:00).
        XCTAssertEqual(v(2, "prior"), 2)
        XCTAssertEqual(v(2, "prior_12d"), 1)
        XCTAssertEqual(v(2, "since_last"), 11 + 14.0 / 24, accuracy: 1e-12)
        XCTAssertEqual(v(2, "prev_los"), 3)
        XCTAssertEqual(v(2, "prior_pos"), 2)
        // 104 (row 3) began during 103: 103 is not its history.
        XCTAssertEqual(v(3, "prior"), 2)
        XCTAssertEqual(v(3, "prev_los"), 3)
        // 102 (row 1) began at the minute 101 ended: 101 is its history.
        XCTAssertEqual(v(1, "prior"), 1)
        XCTAssertEqual(v(1, "since_last"), 0)
        // A first stay: count 0, previous missing.
        XCTAssertEqual(v(0, "prior"), 0)
        XCTAssertTrue(v(0, "since_last").isNaN)
        XCTAssertTrue(v(0, "prev_los").isNaN)
    }

    func testJoinsAndAggregations() throws {
        let data = try load(Self.spec())
        let (schema, x) = features(data)
        func v(_ row: Int, _ name: String) -> Double { x.values[row * x.columns + schema.index(of: name)!] }
        func level(_ row: Int, _ name: String) -> String? {
            let value = v(row, name)
            return value.isNaN ? nil : schema.features[schema.index(of: name)!].levels[Int(value)]
        }
        XCTAssertEqual(v(0, "los"), 4)
        XCTAssertEqual(v(0, "age"), 52)  // anchor age 50 in 2098, admitted in 2100
        XCTAssertEqual(level(5, "gender"), "X")
        // Labs of 103: last and first by chart time (not file order), mean and max of item 50912 only.
        XCTAssertEqual(v(2, "creat_last"), 2.0)
        XCTAssertEqual(v(2, "creat_first"), 1.0)
        XCTAssertEqual(v(2, "creat_mean"), 1.5)
        XCTAssertEqual(v(2, "creat_max"), 2.0)
        XCTAssertEqual(v(2, "lab_count"), 4)
        XCTAssertTrue(v(0, "creat_last").isNaN)     // 101's only value is empty
        XCTAssertEqual(v(0, "lab_count"), 1)
        XCTAssertEqual(v(4, "lab_count"), 0)        // no labs: count 0
        XCTAssertEqual(data.raw.unmatchedEvents, [2, 0])
        // Principal diagnosis: the lowest sequence number (ICD-9 4280), chapters across revisions.
        XCTAssertEqual(level(2, "principal"), "circulatory")
        XCTAssertEqual(level(0, "principal"), "diabetes")  // ICD-10 E119
        XCTAssertNil(level(4, "principal"))
        XCTAssertEqual(v(2, "any_circ"), 1)
        XCTAssertEqual(v(0, "any_circ"), 0)
        XCTAssertEqual(v(2, "dx_count"), 2)
    }

    /// An event charted after its stay's discharge is not known at discharge: left out of every
    /// aggregate (it was the stay's last creatinine, and counted). One at the discharge instant
    /// is kept; one without a time counts, but is neither first nor last (it failed the table).
    func testEventsAfterDischargeAreLeftOut() throws {
        let labs = Self.labs + """
            103,50912,3.0,2100-01-25 00:00:00
            103,50912,9.0,2100-01-25 06:00:00
            103,51222,8.0,2100-01-26 00:00:00
            101,51222,4.0,
            101,50912,5.0,

            """
        let data = try load(Self.spec(), labs: labs)
        let (schema, x) = features(data)
        func v(_ row: Int, _ name: String) -> Double { x.values[row * x.columns + schema.index(of: name)!] }
        XCTAssertEqual(v(2, "creat_last"), 3.0)
        XCTAssertEqual(v(2, "creat_max"), 3.0)
        XCTAssertEqual(v(2, "creat_mean"), 7.5 / 4)
        XCTAssertEqual(v(2, "lab_count"), 5)
        XCTAssertEqual(v(0, "lab_count"), 3)
        // 101's creatinine without a time is counted and averaged, but is no first or last.
        XCTAssertEqual(v(0, "creat_mean"), 5.0)
        XCTAssertTrue(v(0, "creat_last").isNaN && v(0, "creat_first").isNaN)
        XCTAssertEqual(data.raw.eventsAfterDischarge, [2, 0])
        XCTAssertEqual(data.raw.unmatchedEvents, [2, 0])
    }

    /// A lab result written as a text (`<0.5`, `NEG`, MIMIC-IV's redacted `___`) counts as an
    /// event and is left out of the value aggregates, counted with its place; a text of a lab no
    /// feature reads is not looked at. The first such text anywhere stopped every read before.
    /// Only a value column without a number for a feature's events is an error.
    func testLabResultsWrittenAsTextsAreLeftOutOfValues() throws {
        let labs = Self.labs + """
            103,50912,<0.5,2100-01-24 00:00:00
            103,51222,NEG,2100-01-22 00:00:00
            101,50912,___,2100-01-03 00:00:00

            """
        let data = try load(Self.spec(), labs: labs)
        let (schema, x) = features(data)
        func v(_ row: Int, _ name: String) -> Double { x.values[row * x.columns + schema.index(of: name)!] }
        XCTAssertEqual(v(2, "creat_last"), 2.0)  // the last number, as for an empty value
        XCTAssertEqual(v(2, "creat_mean"), 1.5)
        XCTAssertEqual(v(2, "lab_count"), 6)
        XCTAssertTrue(v(0, "creat_last").isNaN)
        XCTAssertEqual(v(0, "lab_count"), 2)
        let skipped = data.raw.eventValuesNotNumbers
        XCTAssertEqual(skipped.map(\.count), [2, 0])  // NEG is of 51222, which no value feature reads
        XCTAssertEqual(skipped[0].first?.line, 9)
        XCTAssertEqual(skipped[0].first?.column, "valuenum")
        XCTAssertEqual(skipped[0].first?.message, "'<0.5' is not a number (missing values are written '')")

        // No number at all for a feature's events: the value column is a text column.
        let texts = "hadm_id,itemid,valuenum,charttime\n103,50912,high,2100-01-23 00:00:00\n101,51222,4.0,2100-01-02 00:00:00\n"
        XCTAssertThrowsError(try load(Self.spec(), labs: texts)) { error in
            let e = error as? DataError
            XCTAssertEqual(e?.line, 2)
            XCTAssertEqual(e?.column, "valuenum")
            XCTAssertEqual(e?.message, "'high' is not a number (missing values are written ''); no event that feature 'creat_last' (features[4]) reads has a number in this column (spec key events[0].value)")
        }
    }

    func testExclusionsOnThePatientTableAndFirstEncounterOnly() throws {
        let data = try load(Self.spec(extra: "cohort: {first_encounter_only: true}", exclusions: "{reason: test, column: gender, table: patients, values: [X]}"))
        XCTAssertEqual(data.cohort.exclusions.map(\.count), [1])
        XCTAssertEqual(data.cohort.rows, [0, 6])  // the first stays of patients 1 and 3
        XCTAssertEqual(data.cohort.notFirstEncounter, 5)
    }

    func testDeclaredSplitsCountPatientsOnBothSides() throws {
        let byDate = try load(Self.spec(split: #"{method: date, date: "2100-01-21"}"#))
        // 103 straddles the date and is left out; patient 1 has stays on both sides.
        XCTAssertEqual(byDate.cohort.leftOutBySplit, 1)
        XCTAssertEqual(byDate.cohort.rows.filter { $0 == 2 }.count, 0)
        XCTAssertEqual(byDate.cohort.isTest, [false, false, true, true, true, true, true])
        XCTAssertEqual(byDate.cohort.patientsOnBothSides, 1)
        let byColumn = try load(Self.spec(split: "{method: column, column: fold, test: [b], train: [a]}"))
        XCTAssertEqual(byColumn.cohort.isTest, [false, false, true, true, false, true, false, true])
        XCTAssertEqual(byColumn.cohort.patientsOnBothSides, 2)
    }

    /// Raw records carry a patient's anchor age and year inline: a value there that is not a
    /// number is its row's `bad_number` error (missing with a warning under bad-values-missing),
    /// by the policy of every number field; it made the age missing without a word before.
    func testRawRecordsAgeFieldsReadByTheBadValuePolicy() throws {
        let spec = try SpecReader.parse(Self.spec().components(separatedBy: "\nfeatures:")[0] + """

            features:
              - {name: los, kind: derived, derive: length_of_stay_days}
              - {name: age, kind: derived, derive: age_at_admission, age: anchor_age, year: anchor_year}
            """, file: "dated.yaml")
        func texts(_ v: [String]) -> RecordColumn { .texts(values: v, codes: (0..<Int32(v.count)).map { $0 }) }
        let table = SourceTable(columns: [
            ("hadm_id", .numbers([101, 102, 103])), ("subject_id", .numbers([1, 2, 3])),
            ("admittime", texts(["2100-01-01 10:00:00", "2100-01-05 10:00:00", "2100-01-20 00:00:00"])),
            ("dischtime", texts(["2100-01-05 10:00:00", "2100-01-08 10:00:00", "2100-01-25 00:00:00"])),
            ("anchor_age", texts(["50", "fifty", "70"])), ("anchor_year", texts(["2098", "2100", "inf"])),
        ], rows: 3, missing: spec.encounters.missing)
        for missing in [false, true] {
            let tables = DatasetTables(spec: spec, records: table)
            var errors = RowErrors(badValuesMissing: missing)
            let records = try EncounterRecords(tables: tables, strict: false, errors: &errors)
            let raw = try RawFeatures(tables: tables, records: records, labels: [nil, nil, nil], strict: false, errors: &errors)
            guard case .numbers(let age) = raw.features[1] else { return XCTFail("age is numbers") }
            XCTAssertEqual(age[0], 52)
            XCTAssertTrue(age[1].isNaN && age[2].isNaN)
            if missing {
                XCTAssertTrue(errors.byRow.isEmpty)
                XCTAssertEqual(errors.warnings.map(\.row), [1, 2])
                XCTAssertEqual(errors.warnings.map(\.field), ["anchor_age", "anchor_year"])
            } else {
                XCTAssertEqual(errors.byRow.keys.sorted(), [1, 2])
                XCTAssertEqual(errors.byRow[1]?.column, "anchor_age")
                XCTAssertEqual(errors.byRow[1]?.code, .badNumber)
                XCTAssertEqual(errors.byRow[2]?.column, "anchor_year")
            }
        }
    }

    func testBadDataNamesFileLineAndColumn() throws {
        let bad = Self.admissions.replacingOccurrences(of: "2100-02-03 00:00:00", with: "2100-02-31 00:00:00")
        XCTAssertThrowsError(try load(Self.spec(), admissions: bad)) { error in
            let e = error as? DataError
            XCTAssertEqual(e?.line, 7)
            XCTAssertEqual(e?.column, "dischtime")
            XCTAssertTrue(e?.file.hasSuffix("admissions.csv") ?? false)
        }
        let unmatched = "hadm_id,itemid,valuenum,charttime\n999,50912,1,2100-01-01 00:00:00\n"
        XCTAssertThrowsError(try load(Self.spec(), labs: unmatched)) { error in
            XCTAssertTrue((error as? DataError)?.message.contains("matches an encounter id") ?? false, "\(error)")
        }
        // A patient on two rows of the patients table: which age and sex are the patient's
        // would be a guess (the last row was taken).
        XCTAssertThrowsError(try load(Self.spec(), patients: Self.patients + "2,F,41,2100\n")) { error in
            let e = error as? DataError
            XCTAssertEqual(e?.line, 5)
            XCTAssertEqual(e?.column, "subject_id")
            XCTAssertEqual(e?.message, "patient id '2' is on more than one row of the patients table (also line 3)")
        }
        // An admission on two rows: training stops at it; the lenient readers (`check`, `score
        // --data`, `history`) give both rows an error naming the other. Before, they read the
        // first row as a stay with no labs or diagnoses (the events went to the last row).
        let twice = Self.admissions + "102,1,2100-01-05 10:00:00,2100-01-08 10:00:00,EW,a\n"
        XCTAssertThrowsError(try load(Self.spec(), admissions: twice)) { error in
            let e = error as? DataError
            XCTAssertEqual(e?.line, 10)
            XCTAssertEqual(e?.column, "hadm_id")
            XCTAssertEqual(e?.message, "encounter id '102' appears on more than one row (also line 3)")
        }
        let dir = TestSupport.temporaryDirectory()
        for (name, text) in [("admissions.csv", twice), ("patients.csv", Self.patients), ("labs.csv", Self.labs), ("dx.csv", Self.diagnoses)] {
            _ = try TestSupport.write(text, name: name, in: dir)
        }
        let lenient = try PreparedData(tables: DatasetTables(spec: SpecReader.parse(Self.spec(), file: "dated.yaml"), folders: [dir.path]), strict: false)
        XCTAssertEqual(lenient.errors.byRow.keys.sorted(), [1, 8])
        XCTAssertEqual(lenient.errors.byRow[1]?.message, "encounter id '102' appears on more than one row (also line 10)")
        XCTAssertEqual(lenient.errors.byRow[8]?.line, 10)
        // A label rule that gives no positive: training refuses it, naming the label.
        let lonely = Self.admissions.split(separator: "\n").enumerated().filter { [0, 1, 6].contains($0.offset) }.map { String($0.element) }.joined(separator: "\n") + "\n"
        let data = try load(Self.spec(), admissions: lonely)
        XCTAssertThrowsError(try data.requireTrainable()) { error in
            XCTAssertTrue((error as? DataError)?.message.contains("no positive") ?? false, "\(error)")
        }
    }
}
