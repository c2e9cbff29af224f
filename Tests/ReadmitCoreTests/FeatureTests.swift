import Foundation
import ReadmitCore
import ReadmitSpec
import XCTest

final class FeatureTests: XCTestCase {
    func testICD9Chapters() {
        let cases: [(String, String?)] = [
            ("250.83", "diabetes"), ("250", "diabetes"), ("428", "circulatory"), ("785", "circulatory"), ("486", "respiratory"),
            ("786", "respiratory"), ("578", "digestive"), ("787", "digestive"), ("996", "injury"), ("715", "musculoskeletal"),
            ("599", "genitourinary"), ("788", "genitourinary"), ("174", "neoplasms"), ("V57", "other"), ("E909", "other"),
            ("276", "other"), ("", nil),
        ]
        for (code, chapter) in cases {
            XCTAssertEqual(ICDChapters.chapter(of: code, system: .icd9).map { ICDChapters.names[$0] }, chapter, code)
        }
    }

    /// The Diabetes 130 rows written by hand for the history tests: three encounters of patient 7
    /// (ids 30, 10, 20, out of order) and one of patient 8.
    func historyCSV(extra: [String] = []) throws -> String {
        let dir = TestSupport.temporaryDirectory()
        let csv = try TestSupport.subsetCSV(rows: 1, in: dir)
        let lines = try String(contentsOfFile: csv, encoding: .utf8).components(separatedBy: "\r\n")
        var row = lines[1].components(separatedBy: ",")
        func make(id: Int, patient: Int, los: Int, inpatient: Int, disposition: Int, label: String) -> String {
            row[0] = String(id); row[1] = String(patient); row[9] = String(los); row[17] = String(inpatient)
            row[7] = String(disposition); row[49] = label
            return row.joined(separator: ",")
        }
        var rows = [lines[0], make(id: 30, patient: 7, los: 5, inpatient: 2, disposition: 1, label: "NO"),
                    make(id: 10, patient: 7, los: 3, inpatient: 0, disposition: 1, label: "<30"),
                    make(id: 20, patient: 7, los: 4, inpatient: 1, disposition: 6, label: "<30"),
                    make(id: 40, patient: 8, los: 2, inpatient: 0, disposition: 1, label: "NO")]
        if !extra.isEmpty { rows += [make(id: 50, patient: 7, los: 9, inpatient: 9, disposition: 6, label: "<30")] }
        return try TestSupport.write(rows.joined(separator: "\r\n") + "\r\n", name: "h.csv", in: dir)
    }

    func history(_ path: String) throws -> (FeatureSchema, FeatureMatrix) {
        let data = try PreparedData(tables: TestSupport.tables(path))
        let schema = FeatureSchemaBuilder.build(spec: data.spec, raw: data.raw, trainingRows: Array(0..<data.records.count))
        return (schema, FeatureEncoder.encode(raw: data.raw, spec: data.spec, schema: schema))
    }

    /// History comes only from earlier encounters of the same patient.
    func testHistoryUsesOnlyEarlierEncounters() throws {
        let (schema, x) = try history(try historyCSV())
        func h(_ row: Int, _ name: String) -> Double { x.values[row * x.columns + schema.index(of: name)!] }
        // Row 1 (id 10) is the first: no history.
        XCTAssertEqual(h(1, "prior_encounters"), 0); XCTAssertEqual(h(1, "prior_days_in_hospital"), 0)
        XCTAssertTrue(h(1, "prev_number_inpatient").isNaN); XCTAssertEqual(h(1, "prior_readmitted_within_30"), 0)
        // Row 2 (id 20): one earlier (id 10).
        XCTAssertEqual(h(2, "prior_encounters"), 1); XCTAssertEqual(h(2, "prior_days_in_hospital"), 3)
        XCTAssertEqual(h(2, "prev_number_inpatient"), 0); XCTAssertEqual(h(2, "prev_time_in_hospital"), 3)
        XCTAssertEqual(h(2, "prev_discharged_home"), 1); XCTAssertEqual(h(2, "prior_readmitted_within_30"), 1)
        // Row 0 (id 30): two earlier; previous is id 20 (not discharged home).
        XCTAssertEqual(h(0, "prior_encounters"), 2); XCTAssertEqual(h(0, "prior_days_in_hospital"), 7)
        XCTAssertEqual(h(0, "prev_number_inpatient"), 1); XCTAssertEqual(h(0, "prev_discharged_home"), 0)
        XCTAssertEqual(h(0, "prior_readmitted_within_30"), 2)
        // Another patient is unaffected.
        XCTAssertEqual(h(3, "prior_encounters"), 0)
    }

    /// Nothing about an encounter feeds the features of an earlier one: adding a later encounter
    /// of the same patient leaves every earlier row's features unchanged, bit for bit.
    func testALaterEncounterChangesNoEarlierFeature() throws {
        let (_, before) = try history(try historyCSV())
        let (_, after) = try history(try historyCSV(extra: ["later"]))
        XCTAssertEqual(after.rows, before.rows + 1)
        XCTAssertEqual(Array(after.values.prefix(before.values.count)).map(\.bitPattern), before.values.map(\.bitPattern))
    }

    func testEncodingFollowsTheSpec() throws {
        let (_, model, _) = try TestSupport.smallModel.get()
        let schema = model.schema
        let dir = TestSupport.temporaryDirectory()
        let x = try TestSupport.encode(try TestSupport.subsetCSV(rows: 2, in: dir), schema: schema)
        // Row 1: Caucasian, Female, [0-10), diag_1 250.83, medical_specialty Pediatrics-Endocrinology, max_glu_serum None.
        func value(_ name: String) -> Double { x.values[schema.index(of: name)!] }
        func level(_ name: String) -> String { schema.features[schema.index(of: name)!].levels[Int(value(name))] }
        XCTAssertEqual(level("race"), "Caucasian")
        XCTAssertEqual(level("age"), "[0-10)")
        XCTAssertTrue(schema.features[schema.index(of: "age")!].ordinal)
        XCTAssertEqual(level("diag_1_chapter"), "diabetes")
        XCTAssertTrue(value("diag_2_chapter").isNaN)  // '?'
        XCTAssertEqual(level("max_glu_serum"), "None")  // a real level, not missing
        XCTAssertEqual(value("num_lab_procedures"), 41)
        XCTAssertEqual(value("prior_encounters"), 0)
        let specialty = schema.features[schema.index(of: "medical_specialty")!]
        XCTAssertEqual(specialty.transform, .levelOrOther)
        XCTAssertEqual(specialty.levels.last, "Other")
        XCTAssertEqual(model.parameters.dataset, TestSupport.spec)
    }
}
