import Foundation
import ReadmitCore
import ReadmitServer
import ReadmitSpec
import ReadmitWire
import XCTest

/// The MIMIC-IV demo, a second dataset declared only by its spec: trained, served by a real
/// readmitd, and its scores over the wire equal the in-process scores and `readmit score`'s,
/// bit for bit. INFO describes its raw fields.
final class SecondDatasetTests: XCTestCase {
    func testMIMICDemoModelServesTheScoresOfReadmitScore() throws {
        let specPath = DaemonProcess.packageRoot.appendingPathComponent("data/mimic-iv-demo/dataset.yaml").path
        let spec = try SpecReader.read(path: specPath)
        let folders = DatasetTables.searchFolders(spec: spec, specPath: specPath, dataDirectory: nil)
        let tables: DatasetTables
        do { tables = try DatasetTables(spec: spec, folders: folders) } catch {
            throw XCTSkip("the MIMIC-IV demo is not beside the project (../shared/data/mimic-iv-demo): \(error)")
        }
        var options = TrainingOptions()
        options.quick = true
        options.bootstrapReplicates = 20
        let result = try TrainingPipeline.run(tables: tables, options: options)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("readmit-mimic-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let modelPath = dir.appendingPathComponent("model.readmit").path
        try ModelFile.write(result.modelFile, to: modelPath)
        let model = try ReadmitModel.load(path: modelPath)

        // Every admission encoded through the model's own spec, as `readmit score` does.
        let encoded = try EncodedRows(tables: tables, schema: model.schema, requireLabel: false, strict: false)
        XCTAssertTrue(encoded.errors.byRow.isEmpty)
        let rows = encoded.matrix.rows, m = model.schema.count
        XCTAssertEqual(rows, 275)
        let inProcess = try model.score(encoded.matrix)

        let daemon = try DaemonProcess(arguments: ["--model", modelPath, "--workers", "2"])
        defer { daemon.stop() }
        let client = try WireClient(endpoint: daemon.endpoint)
        let reply = try client.call(RequestEncoder.score(requestID: 5, rows: rows, columns: m, matrix: encoded.matrix.values))
        guard case .score(let risk, let atyp, let tier) = reply.body else { return XCTFail("not a SCORE reply: \(reply.body)") }
        XCTAssertEqual(risk.map(\.bitPattern), inProcess.risk.map(\.bitPattern))
        XCTAssertEqual(atyp.map(\.bitPattern), inProcess.atypicality.map(\.bitPattern))
        XCTAssertEqual(tier, inProcess.tier)

        // INFO names the dataset and the raw fields its spec reads.
        let info = try client.call(RequestEncoder.simple(.info, requestID: 6))
        guard case .text(let json) = info.body,
              let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
              let fields = object["raw_fields"] as? [[String: Any]] else { return XCTFail("no INFO JSON: \(info.body)") }
        XCTAssertEqual(object["protocol_version"] as? Int, Int(WireFormat.version))
        XCTAssertEqual((object["dataset"] as? [String: Any])?["name"] as? String, "mimic-iv-demo")
        func field(_ name: String) -> [String: Any]? { fields.first { $0["name"] as? String == name } }
        XCTAssertEqual(field("admittime")?["type"] as? String, "timestamp")
        XCTAssertEqual(field("creatinine_last")?["type"] as? String, "number")
        XCTAssertEqual(field("creatinine_last")?["table"] as? String, "labs")
        XCTAssertEqual(field("principal_diagnosis")?["type"] as? String, "diagnosis_code")
        XCTAssertEqual(field("principal_diagnosis_system")?["levels"] as? [String], ["icd9", "icd10"])
        XCTAssertEqual(field("anchor_age")?["table"] as? String, "patients")
        XCTAssertEqual(field("prior_admissions_365d")?["history"] as? Bool, true)
        XCTAssertEqual(field("insurance")?["levels"] as? [String], model.schema.features[model.schema.index(of: "insurance")!].levels)

        // `readmit score` on the raw tables writes the same numbers.
        let cli = ProcessInfo.processInfo.environment["READMIT_BIN"]
            ?? DaemonProcess.packageRoot.appendingPathComponent(".build/release/readmit").path
        guard FileManager.default.isExecutableFile(atPath: cli) else { throw XCTSkip("no readmit binary for the CLI comparison") }
        let out = dir.appendingPathComponent("scores.csv").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: cli)
        p.arguments = ["score", "--model", modelPath, "--data-dir", try XCTUnwrap(folders.first { FileManager.default.fileExists(atPath: $0 + "/hosp/admissions.csv.gz") }),
                       "--history", "derive", "--out", out, "--log-level", "error"]
        try p.run(); p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        let lines = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n").dropFirst().map { $0.components(separatedBy: ",") }
        XCTAssertEqual(lines.count, rows)
        // Stays the cohort excludes (died, hospice) are not scored by `readmit score`: an
        // `excluded` error instead; every other row has the daemon's numbers.
        let excluded = try Cohort.exclusions(tables: tables, patientRow: encoded.records.patientRow, rows: rows, requireColumns: false)
        XCTAssertTrue(excluded.contains { $0 >= 0 }, "the demo holds deaths and hospice discharges")
        for r in 0..<rows {
            if excluded[r] >= 0 {
                XCTAssertEqual(lines[r][1], "", "row \(r)")
                XCTAssertTrue(lines[r].last?.contains("is excluded from the model's cohort") ?? false, lines[r].joined(separator: ","))
            } else {
                XCTAssertEqual(Double(lines[r][1])?.bitPattern, risk[r].bitPattern, "row \(r)")
                XCTAssertEqual(lines[r][3], model.tierNames[Int(tier[r])], "row \(r)")
            }
        }
    }
}
