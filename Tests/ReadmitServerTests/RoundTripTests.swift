import CZeroMQ
import Foundation
import ReadmitCore
import ReadmitServer
import ReadmitWire
import XCTest

/// Every operation over a real socket to a real daemon, and the wire's scores equal the
/// in-process scores of the same model file bit for bit.
final class RoundTripTests: XCTestCase {
    var daemon: DaemonProcess!
    var model: ReadmitModel!
    var client: WireClient!

    override func setUpWithError() throws {
        let path = try DaemonProcess.fixtureModel()
        model = try ReadmitModel.load(path: path)
        daemon = try DaemonProcess(arguments: ["--model", path, "--workers", "2"])
        client = try WireClient(endpoint: daemon.endpoint)
    }

    override func tearDown() {
        daemon?.stop()
        daemon = nil
    }

    func testScoreEqualsInProcessBitForBit() throws {
        let rows = 500
        let matrix = TestRows.make(model.schema, rows: rows)
        let expected = try TestRows.score(model, matrix, rows: rows)
        let reply = try client.call(RequestEncoder.score(requestID: 11, rows: rows, columns: model.schema.count, matrix: matrix))
        XCTAssertEqual(reply.header.status, 0)
        XCTAssertEqual(reply.header.requestID, 11)
        XCTAssertEqual(reply.header.modelVersion, model.modelVersion)
        guard case .score(let risk, let atyp, let tier) = reply.body else { return XCTFail("not a SCORE reply: \(reply.body)") }
        XCTAssertEqual(risk.map(\.bitPattern), expected.risk.map(\.bitPattern))
        XCTAssertEqual(atyp.map(\.bitPattern), expected.atyp.map(\.bitPattern))
        XCTAssertEqual(tier, expected.tier)
        XCTAssertTrue(risk.allSatisfy { $0 >= 0 && $0 <= 1 })
    }

    /// SCOREs of a few rows are answered on the broker's own thread, on the short path for a
    /// SCORE without flags (`RequestHandler.answerPlainScore`): the same bits as in process, the
    /// request's id and the model's version in the header, and each row's score the same
    /// alone as in the batch (and as a batch large enough to go to a worker, above).
    func testSmallScoresOnTheBrokerEqualInProcessBitForBit() throws {
        let columns = model.schema.count
        let matrix = TestRows.make(model.schema, rows: 32, seed: 21)
        let expected = try TestRows.score(model, matrix, rows: 32)
        for (id, rows) in [1, 2, 7, 32].enumerated() {
            let reply = try client.call(RequestEncoder.score(requestID: UInt64(100 + id), rows: rows, columns: columns,
                                                             matrix: Array(matrix[..<(rows * columns)])))
            XCTAssertEqual(reply.header.status, 0)
            XCTAssertEqual(reply.header.op, Operation.score.rawValue)
            XCTAssertEqual(reply.header.requestID, UInt64(100 + id))
            XCTAssertEqual(reply.header.modelVersion, model.modelVersion)
            guard case .score(let risk, let atyp, let tier) = reply.body else { return XCTFail("not a SCORE reply: \(reply.body)") }
            XCTAssertEqual(risk.map(\.bitPattern), expected.risk[..<rows].map(\.bitPattern), "\(rows) rows")
            XCTAssertEqual(atyp.map(\.bitPattern), expected.atyp[..<rows].map(\.bitPattern), "\(rows) rows")
            XCTAssertEqual(tier, Array(expected.tier[..<rows]), "\(rows) rows")
        }
        // With the interval flag the general path answers; the scores agree.
        if model.hasInterval {
            let reply = try client.call(RequestEncoder.score(requestID: 200, rows: 2, columns: columns, matrix: Array(matrix[..<(2 * columns)]),
                                                             interval: true))
            guard case .score(let risk, _, _) = reply.body else { return XCTFail("not a SCORE reply: \(reply.body)") }
            XCTAssertEqual(risk.map(\.bitPattern), expected.risk[..<2].map(\.bitPattern))
            XCTAssertEqual(reply.intervalLow?.count, 2)
        }
    }

    /// Large batches are split across cores; the result must not change by a bit, and an
    /// error in a late row names that row of the whole request.
    func testLargeBatchSplitAcrossCoresIsBitIdentical() throws {
        let rows = 20_000
        var matrix = TestRows.make(model.schema, rows: rows, seed: 9)
        let expected = try TestRows.score(model, matrix, rows: rows)
        let reply = try client.call(RequestEncoder.score(requestID: 12, rows: rows, columns: model.schema.count, matrix: matrix))
        guard case .score(let risk, let atyp, let tier) = reply.body else { return XCTFail("not a SCORE reply: \(reply.body)") }
        XCTAssertEqual(risk.map(\.bitPattern), expected.risk.map(\.bitPattern))
        XCTAssertEqual(atyp.map(\.bitPattern), expected.atyp.map(\.bitPattern))
        XCTAssertEqual(tier, expected.tier)
        let numeric = try XCTUnwrap(model.schema.features.firstIndex { $0.kind == .numeric })
        matrix[19_999 * model.schema.count + numeric] = .infinity
        let bad = try client.call(RequestEncoder.score(requestID: 13, rows: rows, columns: model.schema.count, matrix: matrix))
        guard case .error(let error) = bad.body else { return XCTFail("inf accepted: \(bad.body)") }
        XCTAssertEqual(error.status, .badValue)
        XCTAssertEqual(error.row, 19_999)
        XCTAssertEqual(error.feature, Int32(numeric))
    }

    func testScoreOfZeroRowsIsEmpty() throws {
        let reply = try client.call(RequestEncoder.score(requestID: 2, rows: 0, columns: model.schema.count, matrix: []))
        XCTAssertEqual(reply.body, .score(risk: [], atypicality: [], tier: []))
    }

    func testExplainEqualsInProcess() throws {
        let rows = 20, k = 5
        let matrix = TestRows.make(model.schema, rows: rows, seed: 3)
        var index = [Int32](repeating: 0, count: rows * k), contribution = [Double](repeating: 0, count: rows * k)
        try matrix.withUnsafeBufferPointer { x in
            try index.withUnsafeMutableBufferPointer { i in
                try contribution.withUnsafeMutableBufferPointer { c in
                    try model.explain(x, rows: rows, k: k, featureIndex: i, contribution: c)
                }
            }
        }
        let reply = try client.call(RequestEncoder.explain(requestID: 3, rows: rows, columns: model.schema.count, k: k, matrix: matrix))
        guard case .explain(let r, let kk, let gotIndex, let gotContribution) = reply.body else { return XCTFail("\(reply.body)") }
        XCTAssertEqual(r, rows)
        XCTAssertEqual(kk, k)
        XCTAssertEqual(gotIndex, index)
        XCTAssertEqual(gotContribution.map(\.bitPattern), contribution.map(\.bitPattern))
    }

    func testExplainClampsK() throws {
        let matrix = TestRows.make(model.schema, rows: 1)
        let reply = try client.call(RequestEncoder.explain(requestID: 3, rows: 1, columns: model.schema.count, k: 10_000, matrix: matrix))
        guard case .explain(_, let k, _, _) = reply.body else { return XCTFail("\(reply.body)") }
        XCTAssertEqual(k, model.schema.count)
    }

    func testInfoCarriesTheSchema() throws {
        let reply = try client.call(RequestEncoder.simple(.info, requestID: 4))
        guard case .text(let json) = reply.body else { return XCTFail("\(reply.body)") }
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        XCTAssertEqual(object["model_id"] as? String, model.modelID)
        XCTAssertEqual((object["features"] as? [Any])?.count, model.schema.count)
        // The daemon inherits this process's environment, so it chose the same tree walk.
        XCTAssertEqual(object["tree_walk"] as? String, TreeWalk.selected.rawValue)
    }

    /// A recalibrated model's INFO says from which model, how and on what; the interval's
    /// calibration encounters are the recalibration's update encounters. A model as trained says
    /// null. `readmit inspect --json` prints the same INFO, and the file is served like any other.
    func testInfoSaysWhetherTheModelWasRecalibrated() throws {
        guard case .text(let plain) = try client.call(RequestEncoder.simple(.info, requestID: 4)).body else { return XCTFail("no INFO text") }
        let trained = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(plain.utf8)) as? [String: Any])
        XCTAssertTrue(trained["recalibration"] is NSNull)

        var p = model.parameters
        p.recalibration = Recalibration(fromModelID: p.metadata.modelID, previousCalibrator: p.calibrator, previousTiers: p.tiers, method: .logistic,
                                        tiers: .local, dataFile: "local.csv", dataSHA256: String(repeating: "0", count: 64),
                                        update: .init(encounters: 812, patients: 640, events: 97), check: .init(encounters: 203, patients: 160, events: 25))
        p.calibrator.b -= 0.25
        p.metadata.modelID = try ModelFile.modelID(of: p)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("readmit-recalibrated-\(UUID().uuidString).readmit").path
        try ModelFile.write(p, to: path)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let recalibrated = try ReadmitModel.load(path: path)
        let other = try DaemonProcess(arguments: ["--model", path, "--workers", "1"])
        defer { other.stop() }
        let otherClient = try WireClient(endpoint: other.endpoint)
        guard case .text(let text) = try otherClient.call(RequestEncoder.simple(.info, requestID: 5)).body else { return XCTFail() }
        let info = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        XCTAssertEqual(info["model_id"] as? String, recalibrated.modelID)
        let record = try XCTUnwrap(info["recalibration"] as? [String: Any])
        XCTAssertEqual(record["from_model_id"] as? String, model.modelID)
        XCTAssertEqual(record["method"] as? String, "logistic")
        XCTAssertEqual(record["tiers"] as? String, "local")
        XCTAssertEqual((record["update"] as? [String: Any])?["events"] as? Int, 97)
        XCTAssertEqual((record["check"] as? [String: Any])?["patients"] as? Int, 160)
        if model.hasInterval {
            XCTAssertEqual((info["interval"] as? [String: Any])?["calibration_encounters"] as? Int, 812)
        }
        // `readmit inspect --json` prints the daemon's INFO for the file, byte for byte.
        let readmit = try XCTUnwrap(ProcessInfo.processInfo.environment["READMIT_BIN"].flatMap { $0.isEmpty ? nil : $0 }
            ?? [".build/release/readmit", ".build/debug/readmit"].map { DaemonProcess.packageRoot.appendingPathComponent($0).path }
                .first { FileManager.default.isExecutableFile(atPath: $0) }, "no readmit binary: set READMIT_BIN or build it")
        let inspect = Process(), pipe = Pipe()
        inspect.executableURL = URL(fileURLWithPath: readmit)
        inspect.arguments = ["inspect", "--model", path, "--json"]
        inspect.standardOutput = pipe
        try inspect.run()
        let printed = pipe.fileHandleForReading.readDataToEndOfFile()
        inspect.waitUntilExit()
        XCTAssertEqual(inspect.terminationStatus, 0)
        XCTAssertEqual(String(decoding: printed, as: UTF8.self), text + "\n")

        // Served as any model: the wire's risks are the recalibrated model's in-process ones.
        let matrix = TestRows.make(recalibrated.schema, rows: 64)
        let expected = try TestRows.score(recalibrated, matrix, rows: 64)
        guard case .score(let risk, _, let tier) = try otherClient.call(RequestEncoder.score(requestID: 6, rows: 64, columns: recalibrated.schema.count, matrix: matrix)).body
        else { return XCTFail() }
        XCTAssertEqual(risk.map(\.bitPattern), expected.risk.map(\.bitPattern))
        XCTAssertEqual(tier, expected.tier)
        XCTAssertNotEqual(risk.map(\.bitPattern), try TestRows.score(model, matrix, rows: 64).risk.map(\.bitPattern))
    }

    func testHealthIsReady() throws {
        let reply = try client.call(RequestEncoder.simple(.health, requestID: 5))
        guard case .text(let json) = reply.body else { return XCTFail("\(reply.body)") }
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        XCTAssertEqual(object["live"] as? Bool, true)
        XCTAssertEqual(object["ready"] as? Bool, true)
        XCTAssertEqual(object["model_version"] as? String, model.modelID)
    }

    func testStatsCountsRequestsInJSONAndPrometheus() throws {
        for i in 0..<3 { _ = try client.call(RequestEncoder.simple(.info, requestID: UInt64(i))) }
        _ = try client.call(RequestEncoder.score(requestID: 9, rows: 1, columns: 1, matrix: [0]))   // BAD_COLUMNS
        let reply = try client.call(RequestEncoder.simple(.stats, requestID: 6))
        guard case .text(let json) = reply.body else { return XCTFail("\(reply.body)") }
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let requests = try XCTUnwrap(object["requests"] as? [String: [String: Int]])
        XCTAssertEqual(requests["INFO"]?["OK"], 3)
        XCTAssertEqual(requests["SCORE"]?["BAD_COLUMNS"], 1)
        XCTAssertEqual((object["errors"] as? [String: Int])?["BAD_COLUMNS"], 1)
        XCTAssertNotNil((object["latency"] as? [String: Any])?["INFO"])
        XCTAssertEqual(object["model_version"] as? String, model.modelID)
        XCTAssertEqual(object["running"] as? Int, 0)  // STATS is answered on the front thread
        XCTAssertEqual(object["queued"] as? Int, 0)
        let prom = try client.call(RequestEncoder.simple(.stats, requestID: 7, flags: 1))
        guard case .text(let text) = prom.body else { return XCTFail("\(prom.body)") }
        XCTAssertTrue(text.contains("readmitd_requests_total{op=\"INFO\",status=\"OK\"} 3"), text)
        XCTAssertTrue(text.contains("readmitd_request_duration_seconds{op=\"INFO\",quantile=\"0.99\"}"), text)
        XCTAssertTrue(text.contains("readmitd_running_requests 0\n"), text)
    }

    func testReloadOfConfiguredPath() throws {
        let reply = try client.call(RequestEncoder.simple(.reload, requestID: 8))
        XCTAssertEqual(reply.header.status, 0, "\(reply.body)")
        guard case .text(let json) = reply.body else { return XCTFail("\(reply.body)") }
        XCTAssertTrue(json.contains(model.modelID))
    }

    /// While a worker scores a large batch, one-row requests from another client keep being
    /// answered quickly: none waits for the batch (they would, if the batch held up the front).
    func testLargeBatchDoesNotHoldUpOneRowRequests() throws {
        let dealer = try ZMQSocket(testContext, type: ZMQ_DEALER)
        defer { dealer.close() }
        try dealer.set(ZMQ_LINGER, 0)
        try dealer.connect(daemon.endpoint)
        let batchRows = 60_000
        let batch = TestRows.make(model.schema, rows: batchRows, seed: 3)
        let one = TestRows.make(model.schema, rows: 1, seed: 4)
        let expected = try TestRows.score(model, one, rows: 1)
        let sent = DispatchTime.now().uptimeNanoseconds
        try dealer.send([[]] + RequestEncoder.score(requestID: 1, rows: batchRows, columns: model.schema.count, matrix: batch))
        var singles = 0, slowest: UInt64 = 0
        var batchNanos: UInt64 = 0
        for id in 2..<20_002 {  // bounded: ends when the batch's reply is in
            if let frames = try dealer.receive(dontWait: true) {
                batchNanos = DispatchTime.now().uptimeNanoseconds - sent
                let reply = try ReplyDecoder.decode(Array(frames.dropFirst().map(\.array)))
                XCTAssertEqual(reply.header.status, 0)
                break
            }
            let started = DispatchTime.now().uptimeNanoseconds
            let reply = try client.call(RequestEncoder.score(requestID: UInt64(id), rows: 1, columns: model.schema.count, matrix: one))
            slowest = max(slowest, DispatchTime.now().uptimeNanoseconds - started)
            guard case .score(let risk, _, _) = reply.body else { return XCTFail("not a SCORE reply: \(reply.body)") }
            XCTAssertEqual(risk[0].bitPattern, expected.risk[0].bitPattern)
            singles += 1
        }
        XCTAssertGreaterThan(batchNanos, 0, "the batch was not answered")
        XCTAssertGreaterThanOrEqual(singles, 3, "one-row requests were not answered while the batch ran")
        XCTAssertLessThan(slowest, batchNanos / 2, "a one-row request waited for the batch (\(slowest) ns of \(batchNanos) ns)")
    }

    func testDealerClientWithSeveralRequestsInFlight() throws {
        let dealer = try ZMQSocket(testContext, type: ZMQ_DEALER)
        defer { dealer.close() }
        try dealer.set(ZMQ_LINGER, 0)
        try dealer.set(ZMQ_RCVTIMEO, 10_000)
        try dealer.connect(daemon.endpoint)
        let matrix = TestRows.make(model.schema, rows: 3)
        for id in 100..<110 {
            try dealer.send([[]] + RequestEncoder.score(requestID: UInt64(id), rows: 3, columns: model.schema.count, matrix: matrix))
        }
        var seen = Set<UInt64>()
        for _ in 0..<10 {
            let frames = try XCTUnwrap(try dealer.receive()).map(\.array)
            XCTAssertEqual(frames.first, [], "DEALER replies start with the empty delimiter")
            let reply = try ReplyDecoder.decode(Array(frames.dropFirst()))
            XCTAssertEqual(reply.header.status, 0)
            seen.insert(reply.header.requestID)
        }
        XCTAssertEqual(seen, Set(100..<110))
    }

    func testLogNeverHoldsFeatureValues() throws {
        var matrix = TestRows.make(model.schema, rows: 2)
        let numeric = try XCTUnwrap(model.schema.features.firstIndex { $0.kind == .numeric })
        matrix[numeric] = 98765.4321
        matrix[model.schema.count + numeric] = .infinity
        _ = try client.call(RequestEncoder.score(requestID: 1, rows: 2, columns: model.schema.count, matrix: matrix))
        matrix[model.schema.count + numeric] = 0
        _ = try client.call(RequestEncoder.score(requestID: 2, rows: 2, columns: model.schema.count, matrix: matrix))
        daemon.stop()
        XCTAssertFalse(daemon.log.contains("98765"), daemon.log)
        XCTAssertTrue(daemon.log.contains("readmitd serving"), daemon.log)
        XCTAssertTrue(daemon.log.contains("tree_walk=\(TreeWalk.selected.rawValue)"), daemon.log)
    }
}
