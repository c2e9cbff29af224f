import Foundation
import Logging
import ReadmitCore
import ReadmitWire
import XCTest
@testable import ReadmitServer

/// STATS counts each request once: as queued, running or answered, never as two of them.
final class ServerStatsTests: XCTestCase {
    private struct NoModel: Error {}
    private let store = ModelStore(configuredPath: nil, loader: { _ in throw NoModel() }, logger: Logger(label: "test"))

    private func snapshot(_ stats: ServerStats) throws -> [String: Any] {
        let json = stats.json(store: store, workers: 2)
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any], json)
    }

    private func counts(_ object: [String: Any]) -> [Int] {
        ["requests_received", "queued", "running", "requests_total"].map { object[$0] as? Int ?? -1 }
    }

    func testARequestAnsweredByAWorkerIsNotAlsoRunning() throws {
        let stats = ServerStats()
        let score = Operation.score.rawValue
        stats.setLoad(atWorker: 0, queued: 1, received: 1)
        XCTAssertEqual(counts(try snapshot(stats)), [1, 1, 0, 0], "received, queued")
        stats.setLoad(atWorker: 1, queued: 0, received: 1)
        XCTAssertEqual(counts(try snapshot(stats)), [1, 0, 1, 0], "handed to a worker")
        stats.recordAtWorker(op: score, status: .ok, rows: 3, nanos: 1_000)
        XCTAssertEqual(counts(try snapshot(stats)), [1, 0, 0, 1], "answered, not yet taken back: not running")
        stats.setLoad(atWorker: 1, queued: 0, received: 2)  // a second request reaches the other worker first
        XCTAssertEqual(counts(try snapshot(stats)), [2, 0, 0, 1], "the broker's count still holds the answered one")
        stats.setLoad(atWorker: 2, queued: 0, received: 2)
        XCTAssertEqual(counts(try snapshot(stats)), [2, 0, 1, 1])
        stats.setLoad(atWorker: 1, queued: 0, received: 2, takingBack: true)
        XCTAssertEqual(counts(try snapshot(stats)), [2, 0, 1, 1], "taken back")
        stats.recordAtBroker(op: Operation.health.rawValue, status: .ok, rows: 0, nanos: 1_000, received: 3)
        XCTAssertEqual(counts(try snapshot(stats)), [3, 0, 1, 2], "answered on the broker: received and answered at once")
        XCTAssertEqual(try snapshot(stats)["rows_scored"] as? Int, 3)
        XCTAssertTrue(stats.prometheus(store: store, workers: 2)
            .contains("\nreadmitd_requests_received_total 3\n"))
    }
}

/// STATS `served` and `/metrics`'s `readmitd_served_*`: what replies scored, in aggregate.
final class ServedRowsTests: XCTestCase {
    private struct NoModel: Error {}
    private let store = ModelStore(configuredPath: nil, loader: { _ in throw NoModel() }, logger: Logger(label: "test"))

    private func served(risk: [Double], atypicality: [Double], tier: [UInt8]) -> ServedRows {
        var s = ServedRows()
        risk.withUnsafeBufferPointer { r in
            atypicality.withUnsafeBufferPointer { a in tier.withUnsafeBufferPointer { t in s.add(risk: r, atypicality: a, tier: t) } }
        }
        return s
    }

    /// Tenths are [k/10, (k+1)/10), the last one closed; a row of tier 255 (an error) counts as
    /// such and nowhere else; tiers past the seventh share the last slot.
    func testRowsAreCountedByTierAndTenth() {
        let s = served(risk: [0, 0.1, 0.0999, 0.95, 1, .nan, 0.5], atypicality: [0.05, 0.2, 0.99, 1, 0.5, .nan, 0.3],
                       tier: [0, 1, 0, 2, 9, 255, 1])
        XCTAssertEqual(s.scored, 6)
        XCTAssertEqual(s.errorRows, 1)
        XCTAssertEqual(Array((0..<8).map { s.tiers[$0] }), [2, 2, 1, 0, 0, 0, 0, 1])
        XCTAssertEqual(Array((0..<10).map { s.riskTenths[$0] }), [2, 1, 0, 0, 0, 1, 0, 0, 0, 2])
        XCTAssertEqual(Array((0..<10).map { s.atypicalityTenths[$0] }), [1, 0, 1, 1, 0, 1, 0, 0, 0, 2])
        XCTAssertEqual(s.riskSum, 0 + 0.1 + 0.0999 + 0.95 + 1 + 0.5, accuracy: 1e-12)
    }

    /// Messages are counted by kind, a run of one kind at once; past 1,000 kinds a new field is
    /// counted as "(other fields)", so ever new column names cannot grow the daemon's memory.
    func testMessagesByKindAndTheirBound() {
        func message(_ row: Int, _ field: String, _ code: String, _ severity: RecordMessage.Severity = .warning) -> RecordMessage {
            RecordMessage(row: row, field: field, severity: severity, code: code, message: "m")
        }
        let s = ServedRows.count([message(-1, "weight", "unused_field"), message(0, "race", "unknown_level"), message(1, "race", "unknown_level"),
                                  message(2, "age", "bad_number", .error), message(3, "race", "unknown_level")])
        XCTAssertEqual(s[.init(severity: "warning", field: "race", code: "unknown_level")], 3)
        XCTAssertEqual(s[.init(severity: "error", field: "age", code: "bad_number")], 1)
        XCTAssertEqual(s.count, 3)
        var totals = ServedTotals()
        totals.add(ServedRows(), messages: s)
        totals.add(ServedRows(), messages: s)
        XCTAssertEqual(totals.messages[.init(severity: "warning", field: "race", code: "unknown_level")], 6)
        totals.add(ServedRows(), messages: ServedRows.count((0..<1_500).map { message(-1, "column \($0)", "unused_field") }))
        XCTAssertEqual(totals.messages.count, ServedTotals.maxMessageKinds + 1)
        XCTAssertEqual(totals.messages[.init(severity: "warning", field: ServedTotals.otherFields, code: "unused_field")], 503)
        XCTAssertEqual(totals.messages.values.reduce(0, +), 2 * 5 + 1_500)
    }

    /// The counts reach STATS and /metrics through the reply's record; a refused reply adds
    /// nothing; label values are escaped.
    func testStatsAndMetricsCarryTheCounts() throws {
        let stats = ServerStats()
        let s = served(risk: [0.05, 0.15, 0.95], atypicality: [0.5, 0.5, 0.95], tier: [0, 1, 2])
        let m = ServedRows.count([RecordMessage(row: 0, field: "a \"quoted\"\\field", severity: .warning, code: "unknown_level", message: "m")])
        stats.recordAtWorker(op: Operation.records.rawValue, status: .ok, rows: 3, nanos: 1_000, served: s, messages: m, version: 0xab)
        stats.recordAtBroker(op: Operation.score.rawValue, status: .ok, rows: 3, nanos: 1_000, received: 2, served: s, messages: m, version: 0xab)
        stats.recordAtWorker(op: Operation.score.rawValue, status: .badValue, rows: 0, nanos: 1_000, served: s, messages: m, version: 0xab)
        let json = stats.json(store: store, workers: 2)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        // No model serves now: `served` is empty, and the counts are the model's that served them.
        XCTAssertEqual((object["served"] as? [String: Any])?["rows"] as? Int, 0, json)
        let byModel = try XCTUnwrap(object["served_by_model"] as? [[String: Any]], json)
        XCTAssertEqual(byModel.count, 1)
        let served = byModel[0]
        XCTAssertEqual(served["model_id"] as? String, "00000000000000ab")
        XCTAssertEqual(served["rows"] as? Int, 6)
        XCTAssertEqual(served["tiers"] as? [String: Int], ["tier_0": 2, "tier_1": 2, "tier_2": 2])  // no model: tiers by index
        XCTAssertEqual(served["risk_tenths"] as? [Int], [2, 2, 0, 0, 0, 0, 0, 0, 0, 2])
        XCTAssertEqual(try XCTUnwrap(served["risk_mean"] as? Double), (0.05 + 0.15 + 0.95) / 3, accuracy: 1e-12)
        XCTAssertEqual(served["atypicality_tenths"] as? [Int], [0, 0, 0, 0, 0, 4, 0, 0, 0, 2])
        let messages = try XCTUnwrap(served["messages"] as? [[String: Any]])
        XCTAssertEqual(messages.count, 1)
        XCTAssertEqual(messages.first?["field"] as? String, "a \"quoted\"\\field")
        XCTAssertEqual(messages.first?["count"] as? Int, 2)
        let text = stats.prometheus(store: store, workers: 2)
        let id = "model_id=\"00000000000000ab\""
        for line in ["readmitd_served_rows_total{\(id),tier=\"tier_1\"} 2", "readmitd_served_risk_bucket{\(id),le=\"0.1\"} 2",
                     "readmitd_served_risk_bucket{\(id),le=\"0.9\"} 4", "readmitd_served_risk_bucket{\(id),le=\"+Inf\"} 6",
                     "readmitd_served_risk_count{\(id)} 6", "readmitd_served_atypicality_bucket{\(id),le=\"0.6\"} 4",
                     "readmitd_served_atypicality_sum{\(id)} 3.9", "readmitd_served_error_rows_total{\(id)} 0",
                     #"readmitd_record_messages_total{model_id="00000000000000ab",severity="warning",field="a \"quoted\"\\field",code="unknown_level"} 2"#] {
            XCTAssertTrue(text.contains("\n" + line + "\n"), line)
        }
    }

    /// A reload starts the new model's counts apart; the models served last are kept, the
    /// oldest past ``ServedTotals/modelsKept`` dropped.
    func testCountsAreKeptPerModel() throws {
        let stats = ServerStats()
        let one = served(risk: [0.05], atypicality: [0.5], tier: [0])
        for version: UInt64 in [1, 2, 2, 1, 3, 4, 5] {
            stats.recordAtWorker(op: Operation.score.rawValue, status: .ok, rows: 1, nanos: 1_000, served: one, version: version)
        }
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(stats.json(store: store, workers: 2).utf8)) as? [String: Any])
        let byModel = try XCTUnwrap(object["served_by_model"] as? [[String: Any]])
        XCTAssertEqual(byModel.map { $0["model_id"] as? String }, ["0000000000000002", "0000000000000003", "0000000000000004", "0000000000000005"])
        XCTAssertEqual(byModel.map { $0["rows"] as? Int }, [2, 1, 1, 1])
    }
}
