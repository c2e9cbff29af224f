import Foundation
import ReadmitKeys
import ReadmitServer
import ReadmitWire
import XCTest

/// `readmitd --audit-log`: a real daemon with CURVE writes one JSON line per request answered
/// (on the broker's thread and from a worker), per client refused, per model and key load, at
/// the start and the stop; each names the client's key and its file, never a value sent; a
/// rotated file is reopened at its path; a path that cannot be an append-only regular file
/// stops the start.
final class AuditLogTests: XCTestCase {
    func testTheTrailNamesEveryClientAndRequestAndNoValueSent() throws {
        let dir = NSTemporaryDirectory() + "readmitd-audit-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir + "/authorized", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let server = try CurveKeyPair.generate(), ward = try CurveKeyPair.generate(), stranger = try CurveKeyPair.generate()
        let (_, serverSecret) = try server.write(basePath: dir + "/server")
        try ward.write(basePath: dir + "/ward7")
        try FileManager.default.copyItem(atPath: dir + "/ward7.pub", toPath: dir + "/authorized/ward7.pub")
        let keys = CurveClientKeys(client: ward, serverPublicKey: server.publicKey)
        let auditPath = dir + "/audit.log"
        let model = try DaemonProcess.fixtureModel()
        let daemon = try DaemonProcess(arguments: ["--model", model, "--workers", "2", "--curve-secret-key", serverSecret,
                                                   "--authorized-keys", dir + "/authorized", "--audit-log", auditPath], curveClient: keys)
        defer { daemon.stop() }
        let client = try WireClient(endpoint: daemon.endpoint, curve: keys)

        // Values no line may hold: an unknown level and a number, in a request small enough to
        // be answered on the broker's thread and in one (2,000 rows) that goes to a worker.
        let marker = "Zebra-4711", number = 98765.4321
        for (id, rows) in [(11, 3), (12, 2000)] as [(UInt64, Int)] {
            let columns: [(name: String, column: RecordsRequest.Column)] = [
                ("race", RequestEncoder.textColumn(Array(repeating: marker, count: rows))),
                ("num_lab_procedures", .numbers(Array(repeating: number, count: rows))),
            ]
            let reply = try client.call(RequestEncoder.records(requestID: id, rows: rows, options: 1, columns: columns))
            XCTAssertEqual(reply.header.status, 0)
        }
        // A SCORE of one column (the model has 60): refused, and audited as refused.
        XCTAssertEqual(try client.call(RequestEncoder.score(requestID: 13, rows: 1, columns: 1, matrix: [number])).header.status,
                       Status.badColumns.rawValue)
        let stranded = try WireClient(endpoint: daemon.endpoint, timeoutMs: 1500, curve: CurveClientKeys(client: stranger, serverPublicKey: server.publicKey))
        XCTAssertThrowsError(try stranded.call(RequestEncoder.simple(.health, requestID: 14)))
        daemon.send(SIGHUP)
        let lines = try waitForLines(auditPath) { $0.contains { $0["event"] as? String == "keys_loaded" } && $0.filter { $0["event"] as? String == "model_loaded" }.count == 2 }

        let text = try String(contentsOfFile: auditPath, encoding: .utf8)
        XCTAssertFalse(text.contains("Zebra"), "a text value sent is in the audit log")
        XCTAssertFalse(text.contains("98765"), "a number sent is in the audit log")
        let mode = try FileManager.default.attributesOfItem(atPath: auditPath)[.posixPermissions] as? Int
        XCTAssertEqual(mode, 0o600)

        XCTAssertEqual(lines.first?["event"] as? String, "model_loaded")
        let start = try XCTUnwrap(lines.first { $0["event"] as? String == "start" })
        XCTAssertEqual(start["curve"] as? String, "on")
        XCTAssertEqual(start["authorized_keys"] as? Int, 1)
        let version = try XCTUnwrap(start["model_version"] as? String)
        let requests = lines.filter { $0["event"] as? String == "request" }
        func request(_ id: Int) throws -> [String: Any] { try XCTUnwrap(requests.first { $0["request_id"] as? Int == id }, "request \(id) in \(requests)") }
        for (id, rows, op, status) in [(11, 3, "RECORDS", "OK"), (12, 2000, "RECORDS", "OK"), (13, 1, "SCORE", "BAD_COLUMNS")] {
            let line = try request(id)
            XCTAssertEqual(line["op"] as? String, op)
            XCTAssertEqual(line["status"] as? String, status)
            XCTAssertEqual(line["rows"] as? Int, rows)
            XCTAssertEqual(line["client_key"] as? String, ward.publicKey)
            XCTAssertEqual(line["key_file"] as? String, "ward7.pub")
            XCTAssertEqual(line["address"] as? String, "127.0.0.1")
            XCTAssertEqual(line["model_version"] as? String, version)
            XCTAssertNotNil(line["micros"] as? Int)
            XCTAssertTrue((line["time"] as? String ?? "").hasSuffix("Z"))
        }
        let refused = try XCTUnwrap(lines.first { $0["event"] as? String == "refused" })
        XCTAssertEqual(refused["client_key"] as? String, stranger.publicKey)
        XCTAssertEqual(refused["reason"] as? String, "client public key is not authorized")
        XCTAssertFalse(requests.contains { $0["client_key"] as? String == stranger.publicKey })

        // Rotation: the file moved away, the next lines go to a new file at the path.
        try FileManager.default.moveItem(atPath: auditPath, toPath: auditPath + ".1")
        XCTAssertEqual(try client.call(RequestEncoder.simple(.health, requestID: 15)).header.status, 0)
        let stats = try client.call(RequestEncoder.simple(.stats, requestID: 16))
        guard case .text(let json) = stats.body else { return XCTFail("\(stats.body)") }
        let audit = try XCTUnwrap((JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])?["audit"] as? [String: Any])
        XCTAssertEqual(audit["path"] as? String, auditPath)
        XCTAssertEqual(audit["entries_dropped"] as? Int, 0)
        XCTAssertGreaterThanOrEqual(audit["entries_written"] as? Int ?? 0, lines.count)
        let rotated = try waitForLines(auditPath) { $0.contains { $0["request_id"] as? Int == 15 } }
        XCTAssertEqual(rotated.first?["request_id"] as? Int, 15, "the new file begins with the first line after the move")
        daemon.stop()
        let last = try readLines(auditPath).last
        XCTAssertEqual(last?["event"] as? String, "stop")
        XCTAssertEqual(last?["reason"] as? String, "stopped")
    }

    /// A file that cannot grow (a file size limit of 8 KiB standing for a full disk: writes
    /// past it fail with EFBIG) delays no request; its entries wait in memory and go to the
    /// new file once the full one is moved away. Only a line the full file holds part of is
    /// dropped, and the trail says so.
    func testAFullFileDelaysNoRequestAndItsEntriesWaitForRoom() throws {
        // ThreadSanitizer's runtime itself cannot start under an 8 KiB file size limit (it dies
        // of SIGBUS before main); the audit log's threads are checked under it by the other tests.
        try XCTSkipIf(ProcessInfo.processInfo.environment["TSAN_OPTIONS"] != nil, "a ThreadSanitizer readmitd cannot run under RLIMIT_FSIZE")
        let dir = NSTemporaryDirectory() + "readmitd-audit-full-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let auditPath = dir + "/audit.log"
        // SIGXFSZ ignored (inherited through exec), so a write past the limit fails (EFBIG).
        let daemon = try DaemonProcess(arguments: ["--model", try DaemonProcess.fixtureModel(), "--workers", "1", "--audit-log", auditPath],
                                       launcher: ["/bin/sh", "-c", "trap '' XFSZ && exec prlimit --fsize=8192 -- \"$0\" \"$@\""])
        defer { daemon.stop() }
        let client = try WireClient(endpoint: daemon.endpoint)
        // About 13 KB of lines: more than the full file takes, less than the next one does.
        let ids = 100..<150
        for id in ids {
            let started = Date()
            XCTAssertEqual(try client.call(RequestEncoder.simple(.health, requestID: UInt64(id))).header.status, 0)
            XCTAssertLessThan(Date().timeIntervalSince(started), 2, "request \(id) waited on the audit log")
        }
        func audit() throws -> [String: Any] {
            let reply = try client.call(RequestEncoder.simple(.stats, requestID: 1))
            guard case .text(let json) = reply.body else { throw HarnessError("\(reply.body)") }
            return try XCTUnwrap((JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])?["audit"] as? [String: Any])
        }
        let deadline = Date().addingTimeInterval(10)
        while try audit()["write_failures"] as? Int ?? 0 == 0 && Date() < deadline { usleep(50_000) }
        XCTAssertGreaterThanOrEqual(try audit()["write_failures"] as? Int ?? 0, 1)
        XCTAssertEqual(try audit()["entries_dropped"] as? Int, 0, "nothing is dropped while the entries fit in memory")
        XCTAssertTrue(daemon.log.contains("cannot write the audit log"), daemon.log)

        try FileManager.default.moveItem(atPath: auditPath, toPath: auditPath + ".1")
        let fresh = try waitForLines(auditPath) { $0.contains { $0["request_id"] as? Int == ids.last } }
        let old = try String(contentsOfFile: auditPath + ".1", encoding: .utf8)
        let complete = old.hasSuffix("\n") ? Array(old.split(separator: "\n")) : Array(old.split(separator: "\n").dropLast())
        let oldLines = try complete.map { try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        let seen = (oldLines + fresh).compactMap { $0["request_id"] as? Int }.filter(ids.contains)
        XCTAssertEqual(seen.count, Set(seen).count, "no entry is written twice")
        let dropped = try audit()["entries_dropped"] as? Int
        if old.hasSuffix("\n") {
            XCTAssertEqual(dropped, 0)
            XCTAssertEqual(Set(seen), Set(ids))
        } else {
            XCTAssertEqual(dropped, 1, "the line the full file holds part of")
            XCTAssertEqual(Set(ids).subtracting(seen).count, 1)
            // Said at the next write after the drop.
            let noted = try waitForLines(auditPath) { $0.contains { $0["event"] as? String == "dropped" } }
            XCTAssertEqual(noted.first { $0["event"] as? String == "dropped" }?["entries"] as? Int, 1)
        }
    }

    /// `--audit-log -`: the lines on standard output (here redirected to a file by the shell
    /// that starts the daemon), nothing else there; the daemon's own log stays on stderr.
    func testTheTrailCanGoToStandardOutput() throws {
        let dir = NSTemporaryDirectory() + "readmitd-audit-stdout-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let captured = dir + "/stdout"
        let daemon = try DaemonProcess(arguments: ["--model", try DaemonProcess.fixtureModel(), "--audit-log", "-"],
                                       launcher: ["/bin/sh", "-c", "exec \"$0\" \"$@\" > '\(captured)'"])
        let client = try WireClient(endpoint: daemon.endpoint)
        XCTAssertEqual(try client.call(RequestEncoder.simple(.health, requestID: 21)).header.status, 0)
        daemon.stop()
        let lines = try readLines(captured)
        XCTAssertEqual(lines.map { $0["event"] as? String ?? "?" }.filter { $0 != "request" }, ["model_loaded", "start", "stop"])
        XCTAssertTrue(lines.contains { $0["request_id"] as? Int == 21 && $0["op"] as? String == "HEALTH" })
        XCTAssertTrue(daemon.log.contains("readmitd serving"), "the daemon's own log stays on stderr")
    }

    func testAnAuditLogThatCannotBeARegularFileStopsTheStart() throws {
        let dir = NSTemporaryDirectory() + "readmitd-audit-bad-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir + "/folder", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createSymbolicLink(atPath: dir + "/link", withDestinationPath: dir + "/elsewhere")
        XCTAssertEqual(mkfifo(dir + "/fifo", 0o600), 0)
        let model = try DaemonProcess.fixtureModel()
        for (name, says) in [("folder", "it is a directory, not a regular file"), ("link", "it is a symbolic link, not a regular file"),
                             ("fifo", "it is a FIFO, not a regular file"),
                             ("missing/audit.log", "No such file or directory")] {
            let daemon = try DaemonProcess(arguments: ["--model", model, "--audit-log", dir + "/" + name], waitForHealth: false)
            XCTAssertEqual(daemon.waitForExit(seconds: 15), 1, name)
            XCTAssertTrue(daemon.log.contains("cannot open the audit log \(dir)/\(name): \(says)"), daemon.log)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/elsewhere"), "nothing is created through the link")

        // A start that fails after the model loaded (here: its CURVE key cannot be read) says so
        // in the trail, which is written before the daemon exits.
        let failed = try DaemonProcess(arguments: ["--model", model, "--audit-log", dir + "/failed.log", "--curve-secret-key", dir + "/none.key",
                                                   "--authorized-keys", dir + "/folder"], waitForHealth: false)
        XCTAssertEqual(failed.waitForExit(seconds: 15), 1)
        let trail = try readLines(dir + "/failed.log")
        XCTAssertEqual(trail.map { $0["event"] as? String ?? "?" }, ["model_loaded", "stop"])
        XCTAssertEqual(trail.last?["reason"] as? String, "start failed")

        // From a config file, relative to its folder.
        try "model = \(model)\naudit-log = trail.log\n".write(toFile: dir + "/readmitd.conf", atomically: true, encoding: .utf8)
        let daemon = try DaemonProcess(arguments: ["--config", dir + "/readmitd.conf"])
        daemon.stop()
        XCTAssertEqual(try readLines(dir + "/trail.log").map { $0["event"] as? String }.first, "model_loaded")
    }

    private func readLines(_ path: String) throws -> [[String: Any]] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map {
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any], String($0))
        }
    }

    /// The file's lines once `done` holds of them (the writer flushes every 100 ms; 10 s at most);
    /// a line being written is not read yet.
    private func waitForLines(_ path: String, _ done: ([[String: Any]]) -> Bool) throws -> [[String: Any]] {
        let deadline = Date().addingTimeInterval(10)
        while true {
            let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
            let lines = text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            if done(lines) || Date() > deadline { return lines }
            usleep(50_000)
        }
    }
}
