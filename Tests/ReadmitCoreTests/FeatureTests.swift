import ReadmitCore
import XCTest

final class FeatureTests: XCTestCase {
    func testICD9Chapters() {
        let cases: [(String, String?)] = [
            ("250.83", "diabetes"), ("250", "diabetes"), ("428", "circulatory"), ("785", "circulatory"), ("486", "respiratory"),
            ("786", "respiratory"), ("578", "digestive"), ("787", "digestive"), ("996", "injury"), ("715", "musculoskeletal"),
            ("599", "genitourinary"), ("788", "genitourinary"), ("174", "neoplasms"), ("V57", "other"), ("E909", "other"),
            ("276", "other"), ("?", nil), ("", nil),
        ]
        for (code, chapter) in cases {
            XCTAssertEqual(ICD9.chapterIndex(of: code).map { ICD9.chapters[$0] }, chapter, code)
        }
    }

    /// History comes only from earlier encounters of the same patient; the last row's values
    /// do not depend on anything later.
    func testHistoryUsesOnlyEarlierEncounters() throws {
        let dir = TestSupport.temporaryDirectory()
        let csv = try TestSupport.subsetCSV(rows: 1, in: dir)
        let lines = try String(contentsOfFile: csv, encoding: .utf8).components(separatedBy: "\r\n")
        var row = lines[1].components(separatedBy: ",")
        // Three encounters of patient 7 (ids 30, 10, 20, out of order) and one of patient 8.
        func make(id: Int, patient: Int, los: Int, inpatient: Int, disposition: Int, label: String) -> String {
            row[0] = String(id); row[1] = String(patient); row[9] = String(los); row[17] = String(inpatient)
            row[7] = String(disposition); row[49] = label
            return row.joined(separator: ",")
        }
        let text = [lines[0], make(id: 30, patient: 7, los: 5, inpatient: 2, disposition: 1, label: "NO"),
                    make(id: 10, patient: 7, los: 3, inpatient: 0, disposition: 1, label: "<30"),
                    make(id: 20, patient: 7, los: 4, inpatient: 1, disposition: 6, label: "<30"),
                    make(id: 40, patient: 8, los: 2, inpatient: 0, disposition: 1, label: "NO")].joined(separator: "\r\n") + "\r\n"
        let path = try TestSupport.write(text, name: "h.csv", in: dir)
        let table = try EncounterTable(table: try CSVTable(path: path), requireLabel: true, requireIDs: true, strict: true)
        let h = History.compute(table: table)
        // Row 1 (id 10) is the first: no history.
        XCTAssertEqual(h[1][0], 0); XCTAssertEqual(h[1][1], 0); XCTAssertTrue(h[1][2].isNaN); XCTAssertEqual(h[1][5], 0)
        // Row 2 (id 20): one earlier (id 10).
        XCTAssertEqual(h[2][0], 1); XCTAssertEqual(h[2][1], 3); XCTAssertEqual(h[2][2], 0); XCTAssertEqual(h[2][3], 3)
        XCTAssertEqual(h[2][4], 1); XCTAssertEqual(h[2][5], 1)
        // Row 0 (id 30): two earlier; previous is id 20 (not discharged home).
        XCTAssertEqual(h[0][0], 2); XCTAssertEqual(h[0][1], 7); XCTAssertEqual(h[0][2], 1); XCTAssertEqual(h[0][4], 0); XCTAssertEqual(h[0][5], 2)
        // Another patient is unaffected.
        XCTAssertEqual(h[3][0], 0)
    }

    func testEncodingFollowsTheSchemaTransforms() throws {
        let (_, model, _) = try TestSupport.smallModel.get()
        let schema = model.schema
        let dir = TestSupport.temporaryDirectory()
        let csv = try TestSupport.subsetCSV(rows: 2, in: dir)
        let table = try EncounterTable(table: try CSVTable(path: csv), requireLabel: false, requireIDs: false, strict: false)
        let x = FeatureEncoder.encode(table: table, schema: schema)
        // Row 1: Caucasian, Female, [0-10), diag_1 250.83, medical_specialty Pediatrics-Endocrinology, max_glu_serum None.
        func value(_ name: String) -> Double { x.values[schema.index(of: name)!] }
        func level(_ name: String) -> String { schema.features[schema.index(of: name)!].levels[Int(value(name))] }
        XCTAssertEqual(level("race"), "Caucasian")
        XCTAssertEqual(level("age"), "[0-10)")
        XCTAssertEqual(level("diag_1_chapter"), "diabetes")
        XCTAssertTrue(value("diag_2_chapter").isNaN)  // '?'
        XCTAssertEqual(level("max_glu_serum"), "None")  // a real level, not missing
        XCTAssertEqual(value("num_lab_procedures"), 41)
        XCTAssertEqual(value("prior_encounters"), 0)
        let specialty = schema.features[schema.index(of: "medical_specialty")!]
        XCTAssertEqual(specialty.transform, .levelOrOther)
        XCTAssertEqual(specialty.levels.last, "Other")
    }
}
