import Foundation
import ReadmitCore
import ReadmitParallel
import ReadmitServer
import ReadmitWire
import XCTest

/// Hot reload: atomic swap under load, SIGHUP, and a corrupt file that leaves the old model.
final class ReloadTests: XCTestCase {
    var directory: String!
    var modelA: ReadmitModel!
    var modelB: ReadmitModel!
    var pathA: String { directory + "/a.readmit" }
    var pathB: String { directory + "/b.readmit" }
    var served: String { directory + "/served.readmit" }

    override func setUpWithError() throws {
        let fixture = try DaemonProcess.fixtureModel()
        directory = NSTemporaryDirectory() + "readmit-reload-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: fixture, toPath: pathA)
        // A second, genuinely different model file: same fit, different seed metadata, so a new model id.
        var parameters = try ModelFile.read(path: fixture)
        parameters.metadata.seed &+= 1
        parameters.metadata.modelID = try ModelFile.modelID(of: parameters)
        try ModelFile.write(parameters, to: pathB)
        modelA = try ReadmitModel.load(path: pathA)
        modelB = try ReadmitModel.load(path: pathB)
        XCTAssertNotEqual(modelA.modelVersion, modelB.modelVersion)
        try FileManager.default.copyItem(atPath: pathA, toPath: served)
    }

    override func tearDown() {
        if let directory { try? FileManager.default.removeItem(atPath: directory) }
    }

    /// Several client threads score while the model is swapped back and forth by RELOAD
    /// (with a path) and SIGHUP: zero failures, every reply from one of the two models, and
    /// each reply's scores are the ones of the model its header names.
    func testReloadUnderLoadFromSeveralThreads() throws {
        let daemon = try DaemonProcess(arguments: ["--model", served, "--workers", "2", "--allow-reload-path"])
        defer { daemon.stop() }
        let columns = modelA.schema.count
        let matrix = TestRows.make(modelA.schema, rows: 50)
        let expected = try TestRows.score(modelA, matrix, rows: 50).risk.map(\.bitPattern)
        let versions: Set<UInt64> = [modelA.modelVersion, modelB.modelVersion]
        let failures = Locked<[String]>([])
        let seen = Locked<Set<UInt64>>([])
        let done = Locked(false)
        let endpoint = daemon.endpoint
        let group = DispatchGroup()
        for t in 0..<4 {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                do {
                    let client = try WireClient(endpoint: endpoint, timeoutMs: 10_000)
                    // Bounded: at most 3,000 requests per thread, and stop when the reloads are done.
                    for i in 0..<3000 {
                        if done.current && i > 50 { break }
                        let reply = try client.call(RequestEncoder.score(requestID: UInt64(t * 100_000 + i), rows: 50, columns: columns, matrix: matrix))
                        guard reply.header.status == 0, case .score(let risk, _, _) = reply.body else {
                            failures.withLock { $0.append("thread \(t) request \(i): \(reply.body)") }
                            continue
                        }
                        if !versions.contains(reply.header.modelVersion) {
                            failures.withLock { $0.append("unknown model version \(reply.header.modelVersion)") }
                        }
                        // Both files hold the same fitted model, so the scores must not change across the swap.
                        if risk.map(\.bitPattern) != expected { failures.withLock { $0.append("scores changed") } }
                        seen.withLock { _ = $0.insert(reply.header.modelVersion) }
                    }
                } catch {
                    failures.withLock { $0.append("thread \(t): \(error)") }
                }
            }
        }
        let admin = try WireClient(endpoint: endpoint, timeoutMs: 30_000)
        for round in 0..<10 {
            let path = round % 2 == 0 ? pathB : pathA
            let reply = try admin.call(RequestEncoder.reload(requestID: UInt64(round), path: path))
            XCTAssertEqual(reply.header.status, 0, "\(reply.body)")
            XCTAssertEqual(reply.header.modelVersion, round % 2 == 0 ? modelB.modelVersion : modelA.modelVersion)
            usleep(30_000)
        }
        // SIGHUP re-reads the configured file, which now holds model B.
        try FileManager.default.removeItem(atPath: served)
        try FileManager.default.copyItem(atPath: pathB, toPath: served)
        daemon.send(SIGHUP)
        let deadline = Date().addingTimeInterval(10)
        var afterHUP: UInt64 = 0
        while Date() < deadline {
            afterHUP = try admin.call(RequestEncoder.simple(.health, requestID: 1)).header.modelVersion
            if afterHUP == modelB.modelVersion { break }
            usleep(50_000)
        }
        XCTAssertEqual(afterHUP, modelB.modelVersion, "SIGHUP swapped in the configured file")
        done.withLock { $0 = true }
        XCTAssertEqual(group.wait(timeout: .now() + 120), .success)
        XCTAssertEqual(failures.current, [])
        XCTAssertEqual(seen.current, versions, "load ran across both models")
    }

    /// A RELOAD path that is relative is refused with BAD_ARGUMENT naming it: the daemon read it
    /// against its own working directory, which the client does not know.
    func testARelativeReloadPathIsRefused() throws {
        let daemon = try DaemonProcess(arguments: ["--model", served, "--workers", "1", "--allow-reload-path"])
        defer { daemon.stop() }
        let client = try WireClient(endpoint: daemon.endpoint)
        let reply = try client.call(RequestEncoder.reload(requestID: 1, path: "b.readmit"))
        guard case .error(let error) = reply.body else { return XCTFail("a relative path reloaded: \(reply.body)") }
        XCTAssertEqual(error.status, .badArgument)
        XCTAssertEqual(error.message, "RELOAD path 'b.readmit' is relative: give an absolute path (the daemon would read it against its own working directory)")
        XCTAssertEqual(reply.header.modelVersion, modelA.modelVersion)
        XCTAssertEqual(try client.call(RequestEncoder.reload(requestID: 2, path: pathB)).header.status, 0)
    }

    /// A corrupt file on RELOAD (and on SIGHUP) fails with RELOAD_FAILED; the old model keeps serving.
    func testCorruptModelFileLeavesTheOldModel() throws {
        let daemon = try DaemonProcess(arguments: ["--model", served, "--workers", "1"])
        defer { daemon.stop() }
        let client = try WireClient(endpoint: daemon.endpoint)
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: pathB)))
        bytes[bytes.count / 2] ^= 0xFF
        try FileManager.default.removeItem(atPath: served)
        try Data(bytes).write(to: URL(fileURLWithPath: served))

        let reply = try client.call(RequestEncoder.simple(.reload, requestID: 1))
        guard case .error(let error) = reply.body else { return XCTFail("corrupt file reloaded: \(reply.body)") }
        XCTAssertEqual(error.status, .reloadFailed)
        XCTAssertTrue(error.message.contains(served), error.message)
        XCTAssertEqual(reply.header.modelVersion, modelA.modelVersion)

        daemon.send(SIGHUP)
        let matrix = TestRows.make(modelA.schema, rows: 5)
        let score = try client.call(RequestEncoder.score(requestID: 2, rows: 5, columns: modelA.schema.count, matrix: matrix))
        XCTAssertEqual(score.header.status, 0)
        XCTAssertEqual(score.header.modelVersion, modelA.modelVersion)

        let stats = try client.call(RequestEncoder.simple(.stats, requestID: 3))
        guard case .text(let json) = stats.body else { return XCTFail("\(stats.body)") }
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let last = try XCTUnwrap(object["last_reload"] as? [String: Any])
        XCTAssertEqual(last["ok"] as? Bool, false)
        XCTAssertNotNil(last["error"] as? String)
        XCTAssertGreaterThanOrEqual((object["reloads"] as? [String: Int])?["failed"] ?? 0, 1)
        XCTAssertEqual(object["model_version"] as? String, modelA.modelID)
        daemon.stop()
        XCTAssertTrue(daemon.log.contains("model load failed"), daemon.log)
    }
}
