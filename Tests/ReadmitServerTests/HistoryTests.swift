import Foundation
import ReadmitCore
import ReadmitServer
import ReadmitWire
import XCTest

/// `HISTORY` against a real daemon: the history fields it derives from a patient file equal,
/// bit for bit, those training derives from the whole data and those `readmit history` writes
/// for the same encounters; bad rows get row/field messages and unknown history.
final class HistoryTests: XCTestCase {
    var daemon: DaemonProcess!
    var model: ReadmitModel!
    var client: WireClient!
    var modelPath = ""

    override func setUpWithError() throws {
        modelPath = try DaemonProcess.fixtureModel()
        model = try ReadmitModel.load(path: modelPath)
        daemon = try DaemonProcess(arguments: ["--model", modelPath, "--workers", "2"])
        client = try WireClient(endpoint: daemon.endpoint)
    }

    override func tearDown() {
        daemon?.stop()
        daemon = nil
    }

    /// Every row of the first `patients` patients with at least 3 stays, and `singles` patients
    /// with one, from the shipped data, shuffled so that each patient's rows are out of order
    /// and interleaved with others'. Returns the data's header, the file's row indices and texts.
    func patientFile(_ csv: CSVTable, patients: Int, singles: Int, seed: UInt64) throws -> (rows: [Int], texts: [[String]]) {
        let p = try csv.column(model.parameters.dataset.encounters.patientID)
        var byPatient: [String: [Int]] = [:], firstSeen: [String] = []
        for r in 0..<csv.rowCount {
            let id = csv.string(row: r, column: p)
            if byPatient[id] == nil { firstSeen.append(id) }
            byPatient[id, default: []].append(r)
        }
        let many = firstSeen.filter { byPatient[$0]!.count >= 3 }.prefix(patients)
        let one = firstSeen.filter { byPatient[$0]!.count == 1 }.prefix(singles)
        var rows = (many + one).flatMap { byPatient[$0]! }
        var rng = SplitMix64(seed: seed)
        for i in stride(from: rows.count - 1, to: 0, by: -1) { rows.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
        return (rows, rows.map { r in (0..<csv.header.count).map { csv.string(row: r, column: $0) } })
    }

    func history(_ columns: [(name: String, column: RecordsRequest.Column)], rows: Int, options: UInt32 = 0) throws
        -> (columns: [HistoryColumn], messages: [[String: Any]])
    {
        let reply = try client.call(RequestEncoder.history(requestID: 6, rows: rows, options: options, columns: columns))
        guard case .history(let n, let got, let json) = reply.body else { throw HarnessError("not a HISTORY reply: \(reply.body)") }
        XCTAssertEqual(n, rows)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        return (got, try XCTUnwrap(object["messages"] as? [[String: Any]]))
    }

    static func textColumns(header: [String], texts: [[String]]) -> [(name: String, column: RecordsRequest.Column)] {
        header.indices.map { c in (header[c], RequestEncoder.textColumn(texts.map { $0[c] })) }
    }

    static func quote(_ s: String) -> String {
        s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }

    func testHistoryEqualsTrainingAndTheCLIBitForBit() throws {
        let spec = model.parameters.dataset
        let csv = try CSVTable(path: RecordsTests.dataPath)
        let file = try patientFile(csv, patients: 40, singles: 10, seed: 5)
        let got = try history(Self.textColumns(header: csv.header, texts: file.texts), rows: file.rows.count)
        // Clean rows: no row message (the data's unread columns: request-level warnings only).
        XCTAssertTrue(got.messages.allSatisfy { $0["row"] as? Int == -1 && $0["severity"] as? String == "warning" }, "\(got.messages)")
        let historyFields = spec.features.filter { $0.kind == .history }.map(\.name)
        XCTAssertEqual(got.columns.map(\.name), historyFields)
        XCTAssertFalse(historyFields.isEmpty)

        // Training's derivation over the whole data (the patients' rows are all in the file).
        let data = try PreparedData(tables: DatasetTables(spec: spec, folders: [], encountersFile: RecordsTests.dataPath))
        for column in got.columns {
            let j = try XCTUnwrap(spec.features.firstIndex { $0.name == column.name })
            guard case .numbers(let trained) = data.raw.features[j] else { return XCTFail("\(column.name) is not numbers") }
            XCTAssertEqual(column.values.map(\.bitPattern), file.rows.map { trained[$0].bitPattern }, column.name)
        }
        // Not vacuous: some rows have earlier stays, and the first stays have count 0.
        let count = try XCTUnwrap(got.columns.first { c in spec.features.first { $0.name == c.name }?.history == .count })
        XCTAssertGreaterThan(count.values.filter { $0 >= 2 }.count, 10)
        XCTAssertGreaterThan(count.values.filter { $0 == 0 }.count, 40)

        // `readmit history` on the same encounters, written as a CSV file.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("readmit-history-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let input = folder.appendingPathComponent("encounters.csv").path, output = folder.appendingPathComponent("history.csv").path
        let lines = [csv.header.map(Self.quote).joined(separator: ",")] + file.texts.map { $0.map(Self.quote).joined(separator: ",") }
        try (lines.joined(separator: "\n") + "\n").write(toFile: input, atomically: true, encoding: .utf8)
        let cli = try XCTUnwrap(Self.cliBinary, "no readmit binary (READMIT_BIN, or .build/*/readmit)")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: cli)
        p.arguments = ["history", "--model", modelPath, "--data", input, "--out", output]
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        let written = try CSVTable(path: output)
        XCTAssertEqual(written.rowCount, file.rows.count)
        for column in got.columns {
            let c = try written.column(column.name)
            let values = (0..<written.rowCount).map { Double(written.string(row: $0, column: c)) ?? .nan }
            XCTAssertEqual(column.values.map(\.bitPattern), values.map(\.bitPattern), column.name)
        }
    }

    static var cliBinary: String? {
        if let env = ProcessInfo.processInfo.environment["READMIT_BIN"], FileManager.default.isExecutableFile(atPath: env) { return env }
        return ["release", "debug"].map { DaemonProcess.packageRoot.appendingPathComponent(".build/\($0)/readmit").path }
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Bad rows: errors naming row and field, unknown history for them, a warning for the
    /// other rows of their patient; the rest equal the clean request's rows.
    func testBadRowsGetRowAndFieldMessages() throws {
        let spec = model.parameters.dataset
        let csv = try CSVTable(path: RecordsTests.dataPath)
        let file = try patientFile(csv, patients: 6, singles: 2, seed: 9)
        let clean = try history(Self.textColumns(header: csv.header, texts: file.texts), rows: file.rows.count)
        var texts = file.texts
        let order = try XCTUnwrap(spec.encounters.order), orderColumn = try csv.column(order)
        let patientColumn = try csv.column(spec.encounters.patientID)
        let badOrderRow = try XCTUnwrap(file.texts.indices.first { r in file.texts.filter { $0[patientColumn] == file.texts[r][patientColumn] }.count >= 3 })
        let badOrderPatient = texts[badOrderRow][patientColumn]
        texts[badOrderRow][orderColumn] = "soon"
        // A single stay's patient id (a row without one cannot be placed with its patient's others).
        let noPatientRow = try XCTUnwrap(texts.indices.first { r in texts.filter { $0[patientColumn] == texts[r][patientColumn] }.count == 1 })
        texts[noPatientRow][patientColumn] = ""
        let got = try history(Self.textColumns(header: csv.header, texts: texts), rows: texts.count)
        func messages(row: Int) -> [[String: Any]] { got.messages.filter { $0["row"] as? Int == row } }
        let orderError = try XCTUnwrap(messages(row: badOrderRow).first, "\(got.messages)")
        XCTAssertEqual(orderError["severity"] as? String, "error")
        XCTAssertEqual(orderError["field"] as? String, order)
        XCTAssertEqual(orderError["code"] as? String, "bad_number")
        let patientError = try XCTUnwrap(messages(row: noPatientRow).first, "\(got.messages)")
        XCTAssertEqual(patientError["severity"] as? String, "error")
        XCTAssertEqual(patientError["field"] as? String, spec.encounters.patientID)
        for column in got.columns {
            XCTAssertTrue(column.values[badOrderRow].isNaN && column.values[noPatientRow].isNaN, column.name)
        }
        let siblings = texts.indices.filter { $0 != badOrderRow && texts[$0][patientColumn] == badOrderPatient }
        for r in siblings {
            XCTAssertEqual(messages(row: r).first?["code"] as? String, "history_incomplete", "\(got.messages)")
            XCTAssertEqual(messages(row: r).first?["severity"] as? String, "warning")
        }
        // Every other row is untouched: it equals the clean request's.
        let others = texts.indices.filter { $0 != badOrderRow && $0 != noPatientRow && !siblings.contains($0) }
        XCTAssertFalse(others.isEmpty)
        for (a, b) in zip(got.columns, clean.columns) {
            XCTAssertEqual(others.map { a.values[$0].bitPattern }, others.map { b.values[$0].bitPattern }, a.name)
        }
        for r in others { XCTAssertTrue(messages(row: r).isEmpty, "row \(r): \(messages(row: r))") }

        // The patient id absent: the request fails naming it, unless absent fields are allowed
        // (then every row is an error of that field).
        let without = Self.textColumns(header: csv.header, texts: file.texts).filter { $0.name != spec.encounters.patientID }
        let refused = try client.call(RequestEncoder.history(requestID: 7, rows: texts.count, columns: without))
        guard case .error(let e) = refused.body else { return XCTFail("\(refused.body)") }
        XCTAssertEqual(e.status, .badArgument)
        XCTAssertTrue(e.message.contains(spec.encounters.patientID), e.message)
        let allowed = try history(without, rows: texts.count, options: RecordsRequest.optionMissingFieldsOk)
        XCTAssertEqual(allowed.messages.filter { $0["severity"] as? String == "error" && $0["field"] as? String == spec.encounters.patientID }.count,
                       texts.count)
        XCTAssertTrue(allowed.columns.allSatisfy { $0.values.allSatisfy(\.isNaN) })
    }
}
