import Foundation
import ReadmitCore
import ReadmitSpec
import ReadmitTables
import XCTest

/// The per-text work of encoding shared by the parts of one request (``LevelTableMemo``): a
/// part encoded with the memo gives the bits and warnings it gives without one, whether the
/// memo holds its own texts (a hit) or another part's different texts (no hit).
final class LevelTableMemoTests: XCTestCase {
    static let encounters = """
        enc,pat,color,dx,dx2,outcome
        1,7,Red,250.01,428,NO
        2,7,Blue,428,V45,<30
        3,8,Red,?,250.6,>30
        4,9,Green,V45,E888,NO
        5,10,Blue,250.01,428,<30
        6,11,Red,428,?,NO

        """

    static let spec = """
        name: memo
        encounters: {file: enc.csv, encounter_id: enc, patient_id: pat, order: enc, missing: ["?"]}
        label: {column: outcome, positive: ["<30"], negative: ["NO", ">30"]}
        split: {method: patient_hash}
        features:
          - {name: color, kind: categorical, column: color}
          - {name: dx_category, kind: diagnosis, column: dx, system: icd9, grouping: category, min_count: 1}
          - {name: dx2_chapter, kind: diagnosis, column: dx2, system: icd9, grouping: chapter}
          - {name: prior, kind: history, history: count}
        """

    func testPartsEncodedWithAMemoEqualPartsEncodedAlone() throws {
        let dir = TestSupport.temporaryDirectory()
        _ = try TestSupport.write(Self.encounters, name: "enc.csv", in: dir)
        let spec = try SpecReader.parse(Self.spec, file: "memo.yaml")
        let training = try PreparedData(tables: DatasetTables(spec: spec, folders: [dir.path]))
        let schema = FeatureSchemaBuilder.build(spec: spec, raw: training.raw, trainingRows: Array(0..<training.records.count))
        let csv = try CSVTable(bytes: Array(Self.encounters.utf8), file: "enc.csv")
        // Records of `rows`, each column's texts in `order` (the distinct texts of the whole
        // request, as every part of a request carries them), plus edits.
        func part(_ rows: [Int], texts order: [String: [String]], edit: [String: String] = [:]) throws -> RawFeatures {
            var columns: [(name: String, column: RecordColumn)] = []
            for (c, name) in csv.header.enumerated() {
                var values = order[name] ?? [], codes: [Int32] = []
                for r in rows {
                    let text = edit[name] ?? csv.string(row: r, column: c)
                    if let at = values.firstIndex(of: text) { codes.append(Int32(at)) } else { codes.append(Int32(values.count)); values.append(text) }
                }
                columns.append((name, .texts(values: values, codes: codes)))
            }
            columns.append(("prior", .texts(values: ["?"], codes: [Int32](repeating: 0, count: rows.count))))
            let tables = DatasetTables(spec: spec, records: SourceTable(columns: columns, rows: rows.count, missing: ["?"]))
            var errors = RowErrors()
            let records = try EncounterRecords(tables: tables, strict: false, errors: &errors)
            return try RawFeatures(tables: tables, records: records, labels: Array(repeating: nil, count: rows.count), strict: false, errors: &errors)
        }
        func encoded(_ raw: RawFeatures, memo: LevelTableMemo?) -> (matrix: [UInt64], warnings: [String]) {
            var warnings = RowErrors()
            let features = FeatureEncoder.features(raw: raw, spec: spec, schema: schema, warnings: &warnings, memo: memo)
            return (FeatureEncoder.matrix(features).values.map(\.bitPattern),
                    warnings.warnings.map { "\($0.row.map(String.init) ?? "-") \($0.field) \($0.code) \($0.message)" })
        }
        let all = Array(0..<csv.rowCount)
        // Every part of one request carries the request's distinct texts.
        var request: [String: [String]] = [:]
        for (c, name) in csv.header.enumerated() {
            for r in all where !(request[name] ?? []).contains(csv.string(row: r, column: c)) { request[name, default: []].append(csv.string(row: r, column: c)) }
        }
        request["color"]?.append("Martian")  // an unknown level: a warning where a row holds it
        let memo = LevelTableMemo()
        for rows in [[0, 1, 2], [3, 4, 5], [5], [2, 0]] {
            let raw = try part(rows, texts: request, edit: rows == [5] ? ["color": "Martian"] : [:])
            let alone = encoded(raw, memo: nil), shared = encoded(raw, memo: memo)
            XCTAssertEqual(shared.matrix, alone.matrix, "rows \(rows)")
            XCTAssertEqual(shared.warnings, alone.warnings, "rows \(rows)")
            if rows == [5] { XCTAssertEqual(alone.warnings.count, 1, "\(alone.warnings)") }
        }
        // A part whose texts differ from those the memo keeps (here: in another order) is
        // encoded afresh: the same bits as alone.
        var other = request
        other["color"]?.reverse()
        other["dx"]?.reverse()
        other["dx2"]?.reverse()
        for rows in [all, [1]] {
            let raw = try part(rows, texts: other)
            XCTAssertEqual(encoded(raw, memo: memo).matrix, encoded(raw, memo: nil).matrix, "rows \(rows), other texts")
        }
    }
}
