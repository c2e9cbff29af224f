import Foundation
import ReadmitCore
import ReadmitSpec
import XCTest

final class CohortTests: XCTestCase {
    func testSplitMix64Finalizer() {
        // Reference values of the standard SplitMix64 output for state 0 and 1 after one increment
        // (the first outputs of the generator seeded with 0: 0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4).
        var g = SplitMix64(seed: 0)
        XCTAssertEqual(g.next(), 0xE220_A839_7B1D_CDAF)
        XCTAssertEqual(g.next(), 0x6E78_9E6A_A1B9_65F4)
        XCTAssertEqual(SplitMix64.mix(0), 0xE220_A839_7B1D_CDAF)
    }

    /// Through its spec, Diabetes 130 keeps exactly the published split.
    func testFixedSplitOnTheShippedData() throws {
        let data = try PreparedData(tables: TestSupport.tables(TestSupport.dataPath))
        let cohort = data.cohort
        XCTAssertEqual(cohort.excludedCount, 2423)
        XCTAssertEqual(cohort.exclusions.map(\.reason), ["died in hospital", "discharged to hospice"])
        XCTAssertEqual(cohort.exclusions.map(\.count), [1652, 771])
        let test = cohort.isTest.filter { $0 }.count
        XCTAssertEqual(cohort.rows.count - test, 79_746)
        XCTAssertEqual(test, 19_597)
        let positives = zip(cohort.labels, cohort.isTest).filter { $0.0 && $0.1 }.count
        XCTAssertEqual(Double(positives) / Double(test), 0.1137, accuracy: 0.00005)
        // No patient on both sides.
        var side: [Int: Bool] = [:]
        for (p, t) in zip(cohort.patients, cohort.isTest) {
            if let s = side[p] { XCTAssertEqual(s, t) } else { side[p] = t }
        }
        XCTAssertEqual(cohort.patientsOnBothSides, 0)
        // First encounter per patient (death/hospice excluded): the README's 69,990.
        XCTAssertEqual(cohort.isFirstEncounter.filter { $0 }.count, 69_990)
    }

    func testUnknownLabelIsAnErrorNamingLineAndColumn() throws {
        let dir = TestSupport.temporaryDirectory()
        let csv = try TestSupport.subsetCSV(rows: 3, in: dir)
        var text = try String(contentsOfFile: csv, encoding: .utf8)
        text = text.replacingOccurrences(of: ",NO\r\n", with: ",MAYBE\r\n")
        let path = try TestSupport.write(text, name: "bad.csv", in: dir)
        XCTAssertThrowsError(try PreparedData(tables: TestSupport.tables(path))) { error in
            let e = error as? DataError
            XCTAssertEqual(e?.code, .badValue)
            XCTAssertEqual(e?.column, "readmitted")
            XCTAssertEqual(e?.line, 2)
        }
    }

    func testMissingColumnNamesTheSpecKey() throws {
        let dir = TestSupport.temporaryDirectory()
        let path = try TestSupport.write("encounter_id,patient_nbr\n1,2\n", name: "h.csv", in: dir)
        XCTAssertThrowsError(try PreparedData(tables: TestSupport.tables(path))) { error in
            let e = error as? DataError
            XCTAssertEqual(e?.code, .missingColumn)
            XCTAssertTrue(e?.message.contains("spec key") ?? false, e?.message ?? "")
        }
    }
}
