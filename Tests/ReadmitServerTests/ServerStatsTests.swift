import Foundation
import Logging
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
